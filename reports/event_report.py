"""事件专报: one event's special report, as HTML and as PDF (reportlab, the brief's
CID font: no font file to ship). Built from analysis.detail.event_detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, select_autoescape

from reports.briefs import _font

_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>事件专报 · {{ e.title }}</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.6}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem}</style></head>
<body><h1>事件专报</h1><h2>{{ e.title }}</h2>
<p>事件编号 {{ e.id }} · 类别 {{ e.category or '未分类' }} · 属地 {{ e.area or '未定' }} ·
当前等级 {{ e.tier }} · 相关帖子 {{ e.posts|length }} 条 · 发帖人 {{ e.authors }} 人 ·
生成于 {{ generated }}</p>
<h3>来源分布</h3><p>{% for s, n in e.sources.items() %}{{ s }} {{ n }} 条{% if not loop.last %}；{% endif %}{% endfor %}</p>
<h3>传播曲线（每日新帖）</h3>
<table><tr><th>日期</th><th>新帖</th></tr>{% for d in e.spread %}<tr><td>{{ d.day }}</td><td>{{ d.posts }}</td></tr>{% endfor %}</table>
<h3>回应效果</h3><p>{{ e.effect.label }}{% if e.effect.posts_before is defined %}（首次回复 {{ e.effect.first_reply }}；回复前 {{ e.effect.span_hours }} 小时新帖 {{ e.effect.posts_before }} 条，回复后 {{ e.effect.posts_after }} 条）{% endif %}</p>
<h3>告警与处置</h3>{% for a in e.alerts %}<p>告警 {{ a.id }}（{{ a.tier }}，{{ a.status }}）：{{ a.title }}</p><ul>
{% for r in a.responses %}<li>{{ r.at }} {{ r.actor }} {{ r.label }}{% if r.text %}：{{ r.text }}{% endif %}</li>{% endfor %}</ul>
{% else %}<p>无告警。</p>{% endfor %}
<h3>时间线</h3><ol>{% for p in e.posts %}<li>{{ p.published_at or p.fetched_at }} [{{ p.source }}] {{ p.title }}</li>{% endfor %}</ol>
</body></html>"""

_env = Environment(autoescape=select_autoescape(default=True))


def render_html(e: dict[str, Any], generated: datetime) -> str:
    return _env.from_string(_HTML).render(e=e, generated=generated.strftime("%Y-%m-%d %H:%M"))


def render_pdf(e: dict[str, Any], generated: datetime) -> bytes:
    from io import BytesIO

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=26, alignment=1)
    h2 = ParagraphStyle("h2", parent=body, fontSize=13, leading=20, spaceBefore=8)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)  # reportlab parses markup: escape crawled text

    story: list[Any] = [
        p("事件专报", h1),
        p(e["title"], h2),
        p(
            f"事件编号 {e['id']} · 类别 {e['category'] or '未分类'} · 属地 {e['area'] or '未定'} · "
            f"当前等级 {e['tier']} · 相关帖子 {len(e['posts'])} 条 · 发帖人 {e['authors']} 人 · "
            f"生成于 {generated:%Y-%m-%d %H:%M}"
        ),
        p("来源分布", h2),
        p("；".join(f"{s} {n} 条" for s, n in e["sources"].items()) or "无"),
        p("传播曲线（每日新帖）", h2),
    ]
    rows = [["日期", "新帖"]] + [[d["day"], str(d["posts"])] for d in e["spread"]]
    story.append(
        Table(rows, colWidths=[40 * mm, 25 * mm], style=[("FONT", (0, 0), (-1, -1), font)])
    )
    eff = e["effect"]
    story += [p("回应效果", h2), p(eff["label"])]
    if "posts_before" in eff:
        story.append(
            p(
                f"首次回复 {eff['first_reply']}：回复前 {eff['span_hours']} 小时新帖 "
                f"{eff['posts_before']} 条，回复后 {eff['posts_after']} 条"
            )  # fmt: skip
        )
    story.append(p("告警与处置", h2))
    for a in e["alerts"]:
        story.append(p(f"告警 {a['id']}（{a['tier']}，{a['status']}）：{a['title']}"))
        for r in a["responses"]:
            story.append(
                p(
                    f"　{r['at']} {r['actor']} {r['label']}"
                    + (f"：{r['text']}" if r["text"] else "")
                )
            )
    if not e["alerts"]:
        story.append(p("无告警。"))
    story.append(p("时间线", h2))
    for post in e["posts"]:
        story.append(
            p(f"{post['published_at'] or post['fetched_at']} [{post['source']}] {post['title']}")
        )
    story.append(Spacer(1, 6))
    out = BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"事件专报 {e['id']}",
                      leftMargin=18 * mm, rightMargin=18 * mm).build(story)  # fmt: skip
    return out.getvalue()
