"""The alert lifecycle: acknowledge, reply, resolve, reopen, note, reassign and correct,
as plain functions over a Session (the desk's decisions are in alerts/triage.py).

The console's pages and API and the CLI all call these, so a transition is written
the same way whoever makes it: status + timestamp + history (a Response row) + audit
log. Statuses and what each waits for: alerts/status.py.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.changes import change_alert, record
from alerts.errors import InvalidInput, TransitionError
from alerts.status import (
    ACTION_LABELS_ZH,
    ACTIONS,
    ALLOWED_FROM,
    AT_DESK,
    CLOSED,
    STATUS_LABELS_ZH,
    Status,
)
from alerts.views import load_alert
from store.models import Alert, AlertPost, Team
from yuqing.contracts import tier_name
from yuqing.settings import AppConfig

# A note is written on an alert in any status and changes nothing else.
NOTE = "note"


# Reply channels offered by the forms; the API accepts any short label.
REPLY_CHANNELS: dict[str, str] = {
    "online": "网上回帖",
    "phone": "电话回访",
    "onsite": "现场处置",
    "notice": "发布通报",
    "other": "其他",
}


MAX_TEXT = 5000


MAX_CHANNEL = 40


def _clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text is too long ({len(text)} characters); the limit is {MAX_TEXT}")
    return text or None


def _clean_channel(channel: str | None) -> str | None:
    if channel is None:
        return None
    channel = channel.strip()
    if len(channel) > MAX_CHANNEL:
        raise InvalidInput(f"channel is too long; the limit is {MAX_CHANNEL} characters")
    return channel or None


def apply_action(
    session: Session,
    alert_id: int,
    action: str,
    actor: str,
    now: datetime,
    text: str | None = None,
    channel: str | None = None,
    respond_windows: Mapping[int, timedelta] | None = None,
    *,
    teams: Collection[str] | None = None,
) -> Alert:
    """Move an alert through its lifecycle and record who did what, when.

    Writes one Response row and one AuditLog row. ``respond_windows`` maps a
    tier to its time to respond (config alerts.tiers): a reopened alert gets a
    fresh respond deadline, never an earlier one, since the matter came back.
    ``teams`` (the actor's scope) makes other teams' alerts AlertNotFound.
    Raises AlertNotFound, TransitionError or InvalidInput.
    """
    if action not in ACTIONS and action != NOTE:
        raise InvalidInput(f"unknown action {action!r}: use {', '.join(ACTIONS)} or {NOTE}")
    text, channel = _clean_text(text), _clean_channel(channel)
    alert = load_alert(session, alert_id, lock=True, teams=teams)
    before = alert.status
    if action == NOTE:
        return _note(session, alert, actor, now, text)
    if before not in ALLOWED_FROM[action]:
        allowed = "、".join(STATUS_LABELS_ZH[s] for s in ALLOWED_FROM[action])
        raise TransitionError(
            f"告警 {alert.id} 当前状态为“{STATUS_LABELS_ZH.get(before, before)}”，"
            f"不能{ACTION_LABELS_ZH[action]}（仅限{allowed}的告警）"
            f" / alert {alert.id} is {before}; cannot {action}"
        )
    if action == "reply" and not text:
        raise InvalidInput("回复内容不能为空 / a reply needs text")

    if action == "acknowledge":
        alert.status = Status.ACKNOWLEDGED
        alert.acknowledged_at = now
    elif action == "reply":
        alert.status = Status.RESPONDED
        if alert.acknowledged_at is None:  # answering a matter acknowledges it
            alert.acknowledged_at = now
        if alert.responded_at is None:  # keep the first reply: time to respond counts from it
            alert.responded_at = now
    elif action == "resolve":
        alert.status = Status.RESOLVED
        alert.resolved_at = now
    elif action == "reopen":
        alert.status = Status.ACKNOWLEDGED
        alert.resolved_at = None
        window = (respond_windows or {}).get(alert.tier)
        if window is not None:
            alert.respond_deadline = max(alert.respond_deadline, now + window)
    alert.updated_at = now

    detail: dict[str, Any] = {"from": before, "to": alert.status}
    if channel:
        detail["channel"] = channel
    record(session, alert, action, actor, now, text, detail, channel)
    session.flush()
    return alert


def _note(session: Session, alert: Alert, actor: str, now: datetime, text: str | None) -> Alert:
    if not text:
        raise InvalidInput("备注内容不能为空 / a note needs text")
    alert.updated_at = now
    record(session, alert, NOTE, actor, now, text, {"status": alert.status})
    session.flush()
    return alert


def note(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    text: str,
    *,
    teams: Collection[str] | None = None,
) -> Alert:
    """Add a note (备注) to an alert in any status; its status and deadlines stay."""
    return apply_action(session, alert_id, NOTE, actor, now, text=text, teams=teams)


def reassign(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    team_id: str,
    text: str | None = None,
    *,
    config: AppConfig,
    teams: Collection[str] | None = None,
) -> Alert:
    """Hand an alert to another team (e.g. the right grid, or triage). Its clock keeps
    counting from when it was first routed, on the new team's calendar; unsent
    notifications to the old team are cancelled and the new team is notified now."""
    text = _clean_text(text)
    alert = load_alert(session, alert_id, lock=True, teams=teams)
    target = session.get(Team, team_id)
    if target is None or not target.active:
        raise InvalidInput(f"没有这个责任单位 / unknown team {team_id!r}")
    if alert.status in CLOSED:
        raise TransitionError(
            f"告警 {alert.id} 已结束，不能转办 / alert {alert.id} is {alert.status}"
        )
    if alert.team_id == team_id:
        raise InvalidInput("已是该单位的告警 / the alert is already with that team")
    change_alert(
        session, config, alert, actor=actor, now=now, team_id=team_id, reason=text or "",
        action="reassign",
    )  # fmt: skip
    return alert


def correct(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    taxonomy: Any,
    *,
    config: AppConfig,
    category: str | None = None,
    severity: int | None = None,
    text: str | None = None,
    teams: Collection[str] | None = None,
) -> Alert:
    """Correct an alert's category or tier. Each post behind it gets a classifier
    correction (the next retraining learns from it); a new tier takes effect at once:
    deadlines and unsent notifications are recomputed (alerts/changes.py)."""
    from classifier.corrections import CorrectionError, record_correction

    text = _clean_text(text)
    if category is None and severity is None:
        raise InvalidInput("请选择新的类别或等级 / choose a category or a tier")
    alert = load_alert(session, alert_id, lock=True, teams=teams)
    if severity is not None and severity != alert.tier and alert.status in AT_DESK:
        raise TransitionError(
            f"告警 {alert.id} 正在研判，请在研判队列中改级 / alert {alert.id} awaits triage: "
            "use the triage queue to change its tier"
        )
    post_ids = session.scalars(select(AlertPost.post_id).where(AlertPost.alert_id == alert.id))
    try:
        for pid in list(post_ids):
            record_correction(
                session, pid, actor=actor, at=now, taxonomy=taxonomy, category=category,
                severity=severity, note=text or f"alert {alert.id}",
            )  # fmt: skip
    except CorrectionError as exc:
        raise InvalidInput(str(exc)) from None
    detail: dict[str, Any] = {}
    if category is not None and category != alert.category:
        detail["category"] = [alert.category, category]
        alert.category = category
    if severity is not None and severity != alert.tier:
        detail["tier"] = [tier_name(alert.tier), tier_name(severity)]
        detail |= {
            k: v
            for k, v in change_alert(
                session, config, alert, actor=actor, now=now, tier=severity,
                reason=text or "", action="retier",
            ).items()
            if k != "tier"
        }  # fmt: skip
    alert.updated_at = now
    shown = [k for k in ("category", "tier") if k in detail]
    names = {"category": "类别", "tier": "等级"}
    parts = [f"{names[k]} {detail[k][0]} → {detail[k][1]}" for k in shown] or ["（无变化）"]
    note = "；".join(parts) + (f"。{text}" if text else "")
    record(session, alert, "correct", actor, now, note, detail)
    session.flush()
    return alert


def acknowledge(
    session: Session, alert_id: int, actor: str, now: datetime, text: str | None = None
) -> Alert:
    return apply_action(session, alert_id, "acknowledge", actor, now, text=text)


def reply(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    text: str,
    channel: str | None = None,
) -> Alert:
    return apply_action(session, alert_id, "reply", actor, now, text=text, channel=channel)


def resolve(
    session: Session, alert_id: int, actor: str, now: datetime, text: str | None = None
) -> Alert:
    return apply_action(session, alert_id, "resolve", actor, now, text=text)


def reopen(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    text: str | None = None,
    respond_windows: Mapping[int, timedelta] | None = None,
) -> Alert:
    return apply_action(
        session, alert_id, "reopen", actor, now, text=text, respond_windows=respond_windows
    )
