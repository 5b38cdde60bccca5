"""Render notifications: one subject, plain text, markdown (robots), HTML (e-mail)."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.channels import Message
from store.models import Alert
from yuqing.contracts import TIER_LABELS_ZH, tier_name
from yuqing.settings import AppConfig

KIND_LABELS_ZH = {
    "open": "新告警",
    "raise": "告警升级",
    "escalate": "超时上报",
    "reminder": "超时催办",
    "digest": "每日汇总",
    "batch": "汇总通知",
    "reopen": "舆情反弹重开",
    "due": "时限将至",
    "triage": "待研判",
    "retier": "告警改级",
    "reassign": "告警转办",
    "scheme": "监测方案",
}
DEADLINE_LABELS_ZH = {"acknowledge": "确认", "respond": "回复"}


def local(config: AppConfig, at: datetime | None) -> str:
    if at is None:
        return "-"
    return at.astimezone(ZoneInfo(config.settings.timezone)).strftime("%Y-%m-%d %H:%M")


def _team_name(config: AppConfig, team_id: str) -> str:
    t = config.teams.by_id().get(team_id)
    return t.name if t else team_id


def render_alert(
    config: AppConfig, alert: Alert, kind: str, notify_team: str, note: str = ""
) -> Message:
    tier = f"{tier_name(alert.tier)}级 {TIER_LABELS_ZH[alert.tier]}"
    owner = _team_name(config, alert.team_id)
    subject = f"【{KIND_LABELS_ZH.get(kind, kind)}】[{tier}] {alert.title}"
    fields = [
        ("告警编号", f"#{alert.id}"),
        ("级别", tier),
        ("事由", alert.reason),
        ("区域", alert.area or "-"),
        ("分类", alert.category or "-"),
        ("责任单位", owner),
        ("相关帖子", f"{alert.post_count} 条"),
        ("确认时限", local(config, alert.ack_deadline)),
        ("回复时限", local(config, alert.respond_deadline)),
    ]
    if kind == "triage" or (alert.status == "triage" and alert.triage_deadline is not None):
        fields.insert(6, ("研判时限", local(config, alert.triage_deadline)))
    if alert.signals:
        fields.append(("事项信号", "；".join(g.get("reason", "") for g in alert.signals)))
    if alert.escalation_level:
        fields.append(("已上报层级", str(alert.escalation_level)))
    if note:
        fields.append(("说明", note))
    url = alert_url(config, alert.id)
    text = subject + "\n" + "\n".join(f"{k}：{v}" for k, v in fields)
    md = f"### {subject}\n" + "\n".join(f"- **{k}**：{v}" for k, v in fields)
    rows = "".join(
        f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in fields
    )
    body = f"<h3>{html.escape(subject)}</h3><table>{rows}</table>"
    if url:  # straight to the alert (a login on the way returns there)
        text += f"\n处理：{url}"
        md += f"\n\n[打开告警处理]({url})"
        body += f'<p><a href="{html.escape(url)}">打开告警处理</a></p>'
    data = {
        "kind": kind,
        "alert_id": alert.id,
        "tier": tier_name(alert.tier),
        "severity": alert.tier,
        "status": alert.status,
        "title": alert.title,
        "reason": alert.reason,
        "area": alert.area,
        "category": alert.category,
        "team": alert.team_id,
        "notify_team": notify_team,
        "post_count": alert.post_count,
        "ack_deadline": alert.ack_deadline.isoformat(),
        "respond_deadline": alert.respond_deadline.isoformat(),
        "escalation_level": alert.escalation_level,
        "triage": alert.triage,
        "triage_deadline": alert.triage_deadline.isoformat() if alert.triage_deadline else None,
        "note": note,
        "url": url,
    }
    return Message(subject, text, md, body, data)


def alert_url(config: AppConfig, alert_id: int) -> str | None:
    """The alert's page in the console (settings console.public_url), or None."""
    base = config.settings.console.public_url
    return f"{base.rstrip('/')}/alerts/{alert_id}" if base else None


def render_digest(config: AppConfig, team_id: str, day: str, alerts: list[Alert]) -> Message:
    subject = f"【{KIND_LABELS_ZH['digest']}】{_team_name(config, team_id)} {day} 一般（IV级）告警 {len(alerts)} 条"
    lines = [
        f"#{a.id} {a.title}（{a.area or '-'}，确认时限 {local(config, a.ack_deadline)}）"
        for a in alerts
    ]
    text = subject + "\n" + "\n".join(lines)
    md = f"### {subject}\n" + "\n".join(f"- {x}" for x in lines)
    body = (
        f"<h3>{html.escape(subject)}</h3><ul>"
        + "".join(f"<li>{html.escape(x)}</li>" for x in lines)
        + "</ul>"
    )
    data = {"kind": "digest", "team": team_id, "day": day, "alert_ids": [a.id for a in alerts]}
    return Message(subject, text, md, body, data)


def combine(messages: list[Message]) -> Message:
    """Notifications held over quiet hours, sent as one."""
    if len(messages) == 1:
        return messages[0]
    subject = f"【{KIND_LABELS_ZH['batch']}】{len(messages)} 条告警通知"
    return Message(
        subject,
        subject + "\n\n" + "\n\n".join(m.text for m in messages),
        f"### {subject}\n\n" + "\n\n".join(m.markdown for m in messages),
        f"<h2>{html.escape(subject)}</h2>" + "<hr>".join(m.html for m in messages),
        {"kind": "batch", "items": [m.data for m in messages]},
    )
