"""Briefing reports (舆情简报), daily and weekly, as HTML and PDF.

A brief covers whole local days: a daily brief one day, a weekly brief the
seven days ending on the given day. It holds the period's post volume by
category and area, its top events, its severe alerts (tiers I and II) and how
fast they were answered, and the response figures of the supervisor dashboard.

PDF is drawn with reportlab in a TrueType CJK font embedded as a subset (WenQuanYi
Micro Hei from Debian's fonts-wqy-microhei, or ``console.brief_font``), so it prints on
a machine with no Chinese fonts; without one it falls back to naming the Adobe CID font
STSong-Light, which the reader must supply. All text reaching a brief is masked again
on the way out.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from alerts.status import STATUS_LABELS_ZH, pending_deadline
from alerts.views import mask_post_text
from reports import figures
from store.models import Alert, Event, Post, Team
from yuqing.contracts import TIER_LABELS_ZH, TIER_NAMES
from yuqing.settings import AppConfig

log = logging.getLogger(__name__)
KINDS: dict[str, tuple[str, int]] = {"daily": ("日报", 1), "weekly": ("周报", 7)}
TOP_EVENTS = 10
SEVERE_MIN_TIER = 3  # tier II and above
CJK_FONT = "STSong-Light"


class BriefInputError(ValueError):
    """Unknown kind or a bad date (HTTP 400, CLI exit 2)."""


@dataclass
class Brief:
    kind: str
    title: str
    since: datetime
    until: datetime
    generated_at: datetime
    timezone: str
    posts: int
    alerts: int
    by_category: list[tuple[str, int]]
    by_area: list[tuple[str, int]]
    top_events: list[dict[str, Any]]
    severe: list[dict[str, Any]]
    figures: figures.Group
    schemes: list[dict[str, Any]] = field(default_factory=list)  # 监测方案 with matches

    def local(self, dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "—" if dt is None else dt.astimezone(ZoneInfo(self.timezone)).strftime(fmt)

    @property
    def period_label(self) -> str:
        last = self.until - timedelta(seconds=1)
        if self.kind == "daily":
            return self.local(self.since, "%Y年%m月%d日")
        return f"{self.local(self.since, '%Y年%m月%d日')} 至 {self.local(last, '%Y年%m月%d日')}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "posts": self.posts,
            "alerts": self.alerts,
            "by_category": [{"category": c, "posts": n} for c, n in self.by_category],
            "by_area": [{"area": a, "posts": n} for a, n in self.by_area],
            "top_events": self.top_events,
            "severe_alerts": self.severe,
            "figures": self.figures.as_dict(),
            "schemes": self.schemes,
        }


def brief_period(kind: str, day: date, timezone: str) -> tuple[datetime, datetime]:
    if kind not in KINDS:
        raise BriefInputError(
            f"没有 {kind!r} 这种简报，可选：{'、'.join(KINDS)} / "
            f"unknown brief {kind!r}: use {', '.join(KINDS)}"
        )
    tz = ZoneInfo(timezone)
    until = datetime.combine(day + timedelta(days=1), time(0), tz)
    return until - timedelta(days=KINDS[kind][1]), until


def parse_day(value: str | None, now: datetime, timezone: str) -> date:
    """YYYY-MM-DD, or today (local) when empty."""
    if not value:
        return now.astimezone(ZoneInfo(timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BriefInputError(
            f"{value!r} 不是日期（请写成 YYYY-MM-DD）/ {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def _minutes(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else round((a - b).total_seconds() / 60, 1)


def build_brief(
    session: Session,
    config: AppConfig,
    kind: str,
    day: date,
    now: datetime,
    *,
    teams: Collection[str] | None = None,
) -> Brief:
    tz = config.settings.timezone
    since, until = brief_period(kind, day, tz)
    when = func.coalesce(Post.published_at, Post.fetched_at)
    in_period = (when >= since) & (when < until)
    # Posts are scoped through the areas a team covers; None = every post.
    area_filter = None
    if teams is not None:
        from yuqing.gazetteer import subtree

        by_id = config.teams.by_id()
        area_filter = subtree(
            config.areas, [a for t in teams if t in by_id for a in by_id[t].areas]
        )
    post_where: list[ColumnElement[bool]] = [in_period]
    if area_filter is not None:
        post_where.append(Post.area.in_(sorted(area_filter)))

    posts = session.scalar(select(func.count()).select_from(Post).where(*post_where)) or 0
    by_category = [
        (c or "未分类", n)
        for c, n in session.execute(
            select(Post.category, func.count())
            .where(*post_where)
            .group_by(Post.category)
            .order_by(func.count().desc(), Post.category)
        )
    ]
    by_area = [
        (a or "未定位", n)
        for a, n in session.execute(
            select(Post.area, func.count())
            .where(*post_where)
            .group_by(Post.area)
            .order_by(func.count().desc(), Post.area)
            .limit(15)
        )
    ]
    n_posts = func.count(Post.id).label("n")
    top_events = [
        {
            "id": ev.id,
            "title": mask_post_text(ev.title),
            "category": ev.category,
            "area": ev.area,
            "tier": TIER_NAMES.get(ev.severity, "IV"),
            "posts_in_period": n,
            "posts_total": ev.post_count,
        }
        for ev, n in session.execute(
            select(Event, n_posts)
            .join(Post, Post.event_id == Event.id)
            .where(*post_where)
            .group_by(Event.id)
            .order_by(n_posts.desc(), Event.severity.desc(), Event.id)
            .limit(TOP_EVENTS)
        )
    ]
    alert_where = [Alert.opened_at >= since, Alert.opened_at < until]
    if teams is not None:
        alert_where.append(Alert.team_id.in_(sorted(teams)))
    alerts = session.scalar(select(func.count()).select_from(Alert).where(*alert_where)) or 0
    severe = []
    for a, team_name in session.execute(
        select(Alert, Team.name)
        .join(Team, Team.id == Alert.team_id)
        .where(*alert_where, Alert.tier >= SEVERE_MIN_TIER)
        .order_by(Alert.tier.desc(), Alert.opened_at)
    ):
        deadline = pending_deadline(a)
        severe.append(
            {
                "id": a.id,
                "tier": TIER_NAMES[a.tier],
                "tier_label": TIER_LABELS_ZH[a.tier],
                "severity": a.tier,
                "title": mask_post_text(a.title),
                "team_name": team_name,
                "status": a.status,
                "status_label": STATUS_LABELS_ZH.get(a.status, a.status),
                "opened_at": a.opened_at.isoformat(),
                "tta_min": _minutes(a.acknowledged_at, a.opened_at),
                "ttr_min": _minutes(a.resolved_at, a.opened_at),
                "ack_on_time": None
                if a.acknowledged_at is None
                else a.acknowledged_at <= a.ack_deadline,
                "respond_on_time": None
                if a.responded_at is None
                else a.responded_at <= a.respond_deadline,
                "overdue": deadline is not None and deadline < now,
            }
        )
    q = figures.StatsQuery(
        since=since, until=until, by="tier", teams=frozenset(teams) if teams is not None else None
    )
    totals = figures.dashboard(session, q, now, config.settings.console.efficiency, tz).total
    label, _days = KINDS[kind]
    watched = _schemes(session, post_where, teams)
    return Brief(
        kind=kind,
        title=f"舆情{label}",
        since=since,
        until=until,
        generated_at=now,
        timezone=tz,
        posts=posts,
        alerts=alerts,
        by_category=by_category,
        by_area=by_area,
        top_events=top_events,
        severe=severe,
        figures=totals,
        schemes=watched,
    )


def _schemes(
    session: Session, post_where: list[ColumnElement[bool]], teams: Collection[str] | None
) -> list[dict[str, Any]]:
    """Each monitoring scheme's matches among the brief's posts, busiest first, with its
    latest titles; a team's brief shows the schemes shared with the team."""
    from store.scheme_models import Scheme, SchemeHit

    q = select(Scheme).order_by(Scheme.name)
    if teams is not None:
        q = q.where(Scheme.team_id.in_(sorted(teams)))
    out = []
    for scheme in session.scalars(q):
        rows = session.execute(
            select(Post.title)
            .join(SchemeHit, SchemeHit.post_id == Post.id)
            .where(SchemeHit.scheme_id == scheme.id, *post_where)
            .order_by(SchemeHit.at.desc(), Post.id.desc())
        ).scalars()
        titles = list(rows)
        if titles:
            words = [*scheme.must, *scheme.any_of]
            out.append({"name": scheme.name, "words": words, "posts": len(titles),
                        "latest": [mask_post_text(t) for t in titles[:3]]})  # fmt: skip
    return sorted(out, key=lambda r: -r["posts"])


# ------------------------------------------------------------------- output


def _mins(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 60:.1f} 小时" if v >= 120 else f"{v:.0f} 分钟"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _yes(v: bool | None) -> str:
    return "—" if v is None else ("是" if v else "否")


def summary_lines(b: Brief) -> list[str]:
    f = b.figures
    return [
        f"本期共监测到舆情信息 {b.posts} 条，产生告警 {b.alerts} 条，其中重大及以上 {len(b.severe)} 条。",
        f"确认用时中位数 {_mins(f.tta_median)}（P90 {_mins(f.tta_p90)}），"
        f"办结用时中位数 {_mins(f.ttr_median)}（P90 {_mins(f.ttr_p90)}）；"
        f"按时确认率 {_pct(f.ack_on_time)}，按时回复率 {_pct(f.respond_on_time)}；"
        f"积压 {f.backlog} 条，超时 {f.overdue} 条。"
        + ("" if f.efficiency is None else f"治理效能指数 E = {f.efficiency:.3f}。"),
    ]


@functools.cache
def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    here = Path(__file__).parent / "templates"
    return Environment(loader=FileSystemLoader(here), autoescape=select_autoescape())


def render_html(b: Brief) -> str:
    """The brief as one self-contained HTML page (inline CSS and SVG charts)."""
    from reports import charts

    chart = charts.bar_chart(
        "各类别信息量（条）",
        [c for c, _n in b.by_category],
        [("信息量", [float(n) for _c, n in b.by_category])],
    )
    template = _templates().get_template("brief.html")
    return str(
        template.render(b=b, summary=summary_lines(b), chart=chart, mins=_mins, pct=_pct, yes=_yes)
    )


# TrueType CJK fonts with Latin letters and digits too, open licences, packaged by Debian
# (the Makefile installs the first): embedded as a subset, so a brief prints on a machine
# with no Chinese fonts. WenQuanYi Micro Hei: Apache-2.0 or GPLv3 with the font exception
# (fonts-wqy-microhei); AR PL UMing: Arphic Public License (fonts-arphic-uming). Droid
# Sans Fallback has no Latin glyphs: its digits would print blank.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def find_font(configured: str | Path | None = None) -> Path | None:
    """The TrueType font briefs embed: ``console.brief_font`` when set (it must exist),
    else the first of CJK_FONT_FILES found; None when there is none."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FileNotFoundError(
                f"console.brief_font：{path} 处没有字体文件 / "
                f"console.brief_font: no font file at {path}"
            )
        return path
    return next((Path(f) for f in CJK_FONT_FILES if Path(f).is_file()), None)


def _font(configured: str | Path | None = None) -> str:
    """Register and name the brief's font: an embedded TrueType CJK font, or (with none
    installed) the Adobe CID font STSong-Light, which readers must supply themselves."""
    from reportlab.pdfbase import pdfmetrics

    path = find_font(configured)
    if path is None:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        log.warning(
            "no TrueType CJK font found (install fonts-wqy-microhei or set "
            "console.brief_font): the PDF brief names STSong-Light without embedding it"
        )
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"yuqing-cjk-{path.stem}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    return name


def render_pdf(b: Brief, font: str | Path | None = None) -> bytes:
    """The brief as an A4 PDF, every font embedded (``font``: console.brief_font)."""
    from xml.sax.saxutils import escape

    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font(font)
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=26, alignment=1)
    h2 = ParagraphStyle("h2", parent=body, fontSize=13, leading=20, spaceBefore=8)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=12)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)  # reportlab parses markup: escape crawled text

    def table(rows: list[list[Any]], widths: list[float]) -> Table:
        cells = [[p(str(c), small) for c in row] for row in rows]
        t = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),  # the cell default is Helvetica
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story: list[Any] = [
        p(b.title, h1),
        p(f"{b.period_label}    生成于 {b.local(b.generated_at)}（{b.timezone}）", small),
        Spacer(1, 4 * mm),
        p("一、总体情况", h2),
        *[p(line) for line in summary_lines(b)],
        p("二、信息量分布", h2),
    ]
    if b.by_category:
        d = Drawing(170 * mm, max(30, 9 * len(b.by_category)) * mm / 2 + 10 * mm)
        chart = HorizontalBarChart()
        chart.x, chart.y = 35 * mm, 5 * mm
        chart.width, chart.height = 120 * mm, d.height - 10 * mm
        chart.data = [[n for _c, n in reversed(b.by_category)]]
        chart.categoryAxis.categoryNames = [c for c, _n in reversed(b.by_category)]
        chart.categoryAxis.labels.fontName = font
        chart.valueAxis.labels.fontName = font  # the default Helvetica is never embedded
        chart.valueAxis.valueMin = 0
        chart.bars[0].fillColor = colors.HexColor("#17324d")
        d.add(chart)
        story.append(d)
    story.append(table([["类别", "信息量"], *[[c, n] for c, n in b.by_category]], [60, 30]))
    story.append(Spacer(1, 3 * mm))
    story.append(table([["属地", "信息量"], *[[a, n] for a, n in b.by_area]], [60, 30]))
    story.append(p("三、热点事件", h2))
    if b.top_events:
        rows = [["事件", "类别", "属地", "等级", "本期帖子"]]
        rows += [
            [e["title"], e["category"] or "—", e["area"] or "—", e["tier"], e["posts_in_period"]]
            for e in b.top_events
        ]
        story.append(table(rows, [80, 25, 25, 15, 20]))
    else:
        story.append(p("本期无热点事件。"))
    story.append(p("四、重大及以上告警处置情况", h2))
    if b.severe:
        rows = [
            ["等级", "告警", "责任单位", "状态", "确认用时", "办结用时", "按时确认", "按时回复"]
        ]
        rows += [
            [
                f"{a['tier']} {a['tier_label']}",
                a["title"],
                a["team_name"],
                a["status_label"] + ("（超时）" if a["overdue"] else ""),
                _mins(a["tta_min"]),
                _mins(a["ttr_min"]),
                _yes(a["ack_on_time"]),
                _yes(a["respond_on_time"]),
            ]
            for a in b.severe
        ]
        story.append(table(rows, [18, 45, 25, 18, 18, 18, 14, 14]))
    else:
        story.append(p("本期无重大及以上告警。"))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"{b.title} {b.period_label}",
        author="yuqing",
        initialFontName=font,  # else the canvas starts in Helvetica, never embedded
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    from reportlab.graphics import shapes

    # A drawing starts in STATE_DEFAULTS' font (Helvetica, never embedded) even with no
    # text of its own; every brief sets the same CJK font, so concurrent renders agree.
    shapes.STATE_DEFAULTS["fontName"] = font
    doc.build(story)
    return buf.getvalue()


def deliver_brief(
    brief: Brief, config: AppConfig, clock: Any, html: str, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Send the brief through each channel of ``console.brief_channels`` (alerts.yaml):
    e-mail gets the whole brief as its HTML body, chat robots the summary.

    Returns one entry per channel: its name and whether it was sent, or the error
    (a channel that fails does not stop the others). ``dry_run`` sends nothing
    and returns what would be sent.
    """
    from alerts.channels import DeliveryError, Message, build_channel

    summary = summary_lines(brief)
    subject = f"{brief.title} {brief.period_label}"
    message = Message(
        subject=subject,
        text="\n".join([subject, *summary]),
        markdown="\n\n".join([f"**{subject}**", *summary]),
        html=html,
        data={"kind": brief.kind, "since": brief.since.isoformat()},
    )
    out: list[dict[str, Any]] = []
    for name in config.settings.console.brief_channels:
        channel = build_channel(name, config.alerts.channels[name], clock)
        if dry_run:
            out.append({"channel": name, "preview": channel.preview(message)})
            continue
        try:
            channel.send(message)
            out.append({"channel": name, "sent": True})
        except DeliveryError as exc:
            out.append({"channel": name, "sent": False, "error": str(exc)})
    return out


def scheduled_brief(app: Any, kind: str, day: date | None = None) -> dict[str, Any]:
    """The scheduler's job: the brief of the last whole day(s) before now (or ending
    ``day``), kept as HTML and PDF in ``<var_dir>/briefs/`` and delivered through the
    brief channels.

    The PDF is written last and atomically: it marks the brief done, so the
    scheduler sends each day's brief once (again only after a crash mid-send).
    """
    tz = ZoneInfo(app.config.settings.timezone)
    if day is None:
        day = app.now().astimezone(tz).date() - timedelta(days=1)
    with app.store.session() as s:
        brief = build_brief(s, app.config, kind, day, app.now())
    html = render_html(brief)
    folder = app.config.var_dir / "briefs"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{kind}-{day.isoformat()}"
    stem.with_suffix(".html").write_text(html, "utf-8")
    sent = deliver_brief(brief, app.config, app.clock, html)
    part = stem.with_suffix(".pdf.part")
    part.write_bytes(render_pdf(brief, app.config.settings.console.brief_font))
    part.replace(stem.with_suffix(".pdf"))
    return {"kind": kind, "day": day.isoformat(), "files": [str(stem) + ".html",
            str(stem) + ".pdf"], "delivered": sent}  # fmt: skip
