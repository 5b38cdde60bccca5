"""Alert serialising and the alert lifecycle, as plain functions over a Session.

The console's pages and JSON API and the CLI (`yuqing alerts list --json`) all
call these, so an alert looks the same everywhere and a transition is written
the same way (status + timestamp + Response row + AuditLog row) whoever makes it.

Lifecycle::

    triage ─┬─confirm / retier (alerts/triage.py, or fail-open)─► open
    backlog ┘                      └─dismiss / archive─► dismissed
    open ──acknowledge──► acknowledged ──reply──► responded ──resolve──► resolved
      └─────────reply (acknowledges too)────────►     ▲ reply again        │
                                                      acknowledged ◄─reopen┘
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session, selectinload

from alerts.changes import change_alert, record
from store.models import Alert, AlertPost, AuditLog, Post, Response, Team
from yuqing.contracts import tier_name
from yuqing.settings import AppConfig

STATUSES: tuple[str, ...] = (
    "triage", "backlog", "open", "acknowledged", "responded", "resolved", "dismissed",
)  # fmt: skip
# A team's work: what the duty desk holds (triage, backlog) is not yet any team's.
ACTIVE_STATUSES: tuple[str, ...] = ("open", "acknowledged", "responded")
STATUS_LABELS_ZH: dict[str, str] = {
    "triage": "待研判",
    "backlog": "待补看",
    "open": "待确认",
    "acknowledged": "已确认",
    "responded": "已回复",
    "resolved": "已办结",
    "dismissed": "已排除",
}
ACTIONS: tuple[str, ...] = ("acknowledge", "reply", "resolve", "reopen")
ACTION_LABELS_ZH: dict[str, str] = {
    "acknowledge": "确认",
    "reply": "回复",
    "resolve": "办结",
    "reopen": "重新打开",
    "reassign": "转办",
    "correct": "纠正",
    "note": "备注",
    "retier": "改级",
    "raise": "升级",
    "triage.confirm": "研判确认",
    "triage.retier": "研判改级",
    "triage.reassign": "研判改派",
    "triage.dismiss": "研判排除",
    "triage.archive": "补看归档",
    "triage.fail_open": "超时自动派发",
}
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
# Which statuses each action may start from.
_ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "acknowledge": ("open",),
    "reply": ("open", "acknowledged", "responded"),
    "resolve": ("acknowledged", "responded"),
    "reopen": ("resolved",),
}
MAX_TEXT = 5000
MAX_CHANNEL = 40
MIN_REASON = 2  # why someone reads a post's unmasked text; kept in the audit log
MAX_REASON = 500


class AlertNotFound(LookupError):
    """No alert (or post) with that id."""


class TransitionError(Exception):
    """The action is not allowed from the alert's current status (HTTP 409)."""


class InvalidInput(ValueError):
    """The action's input is unusable, e.g. an empty reply (HTTP 400)."""


class RawTextUnreadable(RuntimeError):
    """The stored unmasked text does not decrypt with this deployment's key."""


# ------------------------------------------------------------------ reading


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def pending_deadline(alert: Alert) -> datetime | None:
    """The next deadline someone must meet: the desk's decision while in triage or
    backlog, acknowledge while open, then respond."""
    if alert.status in ("triage", "backlog"):
        return alert.triage_deadline
    if alert.status == "open":
        return alert.ack_deadline
    if alert.status not in ("resolved", "dismissed"):
        return alert.respond_deadline
    return None


def _deadline_sql() -> Any:
    return case(
        (Alert.status.in_(("triage", "backlog")), Alert.triage_deadline),
        (Alert.status == "open", Alert.ack_deadline),
        (Alert.status.in_(("acknowledged", "responded")), Alert.respond_deadline),
        else_=None,
    )


def _in_scope(teams: Collection[str]) -> Any:
    """A team sees its alerts once routed; a duty desk sees what waits for it."""
    waiting = ("triage", "backlog")
    desk = and_(Alert.status.in_(waiting), Alert.desk_team_id.in_(sorted(teams)))
    mine = and_(Alert.status.not_in(waiting), Alert.team_id.in_(sorted(teams)))
    return or_(mine, desk)


def _sees(alert: Alert, teams: Collection[str]) -> bool:
    if alert.status in ("triage", "backlog"):
        return alert.desk_team_id in teams
    return alert.team_id in teams


def _statuses(status: str | Iterable[str] | None) -> tuple[str, ...]:
    """None -> the active ones; "all" -> every status; "a,b" or a list -> those."""
    if status is None or status == "":
        return ACTIVE_STATUSES
    if isinstance(status, str):
        if status == "all":
            return STATUSES
        wanted = [s.strip() for s in status.split(",") if s.strip()]
    else:
        wanted = list(status)
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise InvalidInput(f"unknown status {', '.join(unknown)}: use {', '.join(STATUSES)} or all")
    return tuple(wanted) or ACTIVE_STATUSES


def alert_as_dict(alert: Alert, team_name: str | None = None) -> dict[str, Any]:
    """The one JSON shape of an alert (times ISO 8601, UTC)."""
    return {
        "id": alert.id,
        "tier": tier_name(alert.tier),
        "severity": alert.tier,
        "status": alert.status,
        "team": alert.team_id,
        "team_name": team_name if team_name is not None else alert.team.name,
        "title": alert.title,
        "reason": alert.reason,
        "category": alert.category,
        "area": alert.area,
        "post_count": alert.post_count,
        "opened_at": iso(alert.opened_at),
        "deadline": iso(pending_deadline(alert)),
        "ack_deadline": iso(alert.ack_deadline),
        "respond_deadline": iso(alert.respond_deadline),
        "acknowledged_at": iso(alert.acknowledged_at),
        "responded_at": iso(alert.responded_at),
        "resolved_at": iso(alert.resolved_at),
        "updated_at": iso(alert.updated_at),
        "escalation_level": alert.escalation_level,
        "rule": alert.rule,
        "triage": alert.triage,
        "desk": alert.desk_team_id,
        "triage_deadline": iso(alert.triage_deadline),
        "triaged_at": iso(alert.triaged_at),
        "triaged_by": alert.triaged_by,
        "routed_at": iso(alert.routed_at),
        "signals": [g.get("reason") for g in (alert.signals or [])],
    }


def alerts_as_dicts(
    session: Session,
    status: str | Iterable[str] | None = None,
    team: str | None = None,
    limit: int = 100,
    *,
    teams: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Alerts sorted by their nearest pending deadline (most serious first on ties).

    ``status`` None lists the active alerts (open, acknowledged, responded);
    "all", one status, "a,b" or a list of statuses narrow or widen that.
    ``teams`` (a user's scope) keeps only alerts of those teams; None keeps all.
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    deadline = _deadline_sql()
    stmt = (
        select(Alert, Team.name)
        .join(Team, Team.id == Alert.team_id)
        .where(Alert.status.in_(_statuses(status)))
        .order_by(deadline.asc().nulls_last(), Alert.tier.desc(), Alert.id.desc())
        .limit(limit)
    )
    if team:
        stmt = stmt.where(Alert.team_id == team)
    if teams is not None:
        stmt = stmt.where(_in_scope(teams))
    return [alert_as_dict(a, name) for a, name in session.execute(stmt).all()]


def mask_post_text(text: str | None) -> str:
    # Stored text is masked at ingest; masking again on the way out is cheap insurance
    # against a source that slipped through (e.g. rows written before a rule existed).
    from yuqing.privacy import mask_personal_data

    return mask_personal_data(text)


def mask_author(author: str | None) -> str | None:
    if not author:
        return None
    return author[0] + "*" * min(len(author) - 1, 3) if len(author) > 1 else "*"


def post_as_dict(post: Post) -> dict[str, Any]:
    """A post as responders see it: personal data masked, author shortened."""
    return {
        "id": post.id,
        "title": mask_post_text(post.title),
        "text": mask_post_text(post.text),
        "source": post.source,
        "url": post.url,
        "author": mask_author(post.author),
        "published_at": iso(post.published_at),
        "fetched_at": iso(post.fetched_at),
        "area": post.area,
        "category": post.category,
        "category_confidence": post.category_confidence,
        "uncertain": post.uncertain,
        "severity": post.severity,
        "tier": tier_name(post.severity),
        "reasons": list(post.reasons or []),
        "likes": post.likes,
        "replies": post.replies,
        "reply_text": mask_post_text(post.reply_text) or None,
        "reply_at": iso(post.reply_at),
        "event_id": post.event_id,
    }


def response_as_dict(r: Response) -> dict[str, Any]:
    return {
        "id": r.id,
        "action": r.action,
        "actor": r.actor,
        "text": r.text,
        "channel": r.channel,
        "at": iso(r.at),
    }


def post_in_scope(
    session: Session, post: Post, teams: Collection[str] | None, areas: Collection[str] | None
) -> bool:
    """A scoped user sees a post in their areas or behind an alert of their teams."""
    if teams is None:
        return True
    if areas is not None and post.area is not None and post.area in areas:
        return True
    if not teams:
        return False
    hit = session.scalar(
        select(AlertPost.alert_id)
        .join(Alert, Alert.id == AlertPost.alert_id)
        .where(AlertPost.post_id == post.id, Alert.team_id.in_(sorted(teams)))
        .limit(1)
    )
    return hit is not None


def get_post(
    session: Session,
    post_id: int,
    *,
    teams: Collection[str] | None = None,
    areas: Collection[str] | None = None,
) -> dict[str, Any]:
    """One post; out of the caller's scope (``teams``/``areas``) it does not exist."""
    post = session.get(Post, post_id)
    if post is None or not post_in_scope(session, post, teams, areas):
        raise AlertNotFound(f"post {post_id} not found")
    return post_as_dict(post)


def read_raw_post(
    session: Session,
    post_id: int,
    keys: Any,
    actor: str,
    now: datetime,
    reason: str | None,
    *,
    teams: Collection[str] | None = None,
    areas: Collection[str] | None = None,
) -> dict[str, Any]:
    """A post's unmasked title, text, author and reply, with an AuditLog row saying
    who read it, when and why. The caller checks the reader's role (config
    console.raw_text_roles); ``keys`` is the App's PrivacyKeys.
    Raises InvalidInput (no reason), AlertNotFound (out of scope, or no raw text
    kept) or RawTextUnreadable."""
    from cryptography.fernet import InvalidToken

    from yuqing.ingest import read_raw

    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise InvalidInput(f"请填写查看原文的理由（至少 {MIN_REASON} 个字）/ a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由过长（上限 {MAX_REASON} 字）/ the reason is too long")
    post = session.get(Post, post_id)
    if post is None or not post_in_scope(session, post, teams, areas):
        raise AlertNotFound(f"post {post_id} not found")
    try:
        raw = read_raw(session, post_id, keys)
    except InvalidToken:
        raise RawTextUnreadable(
            f"帖子 {post_id} 的原文无法解密（密钥不符）/ raw text of post {post_id} "
            "does not decrypt with this deployment's key"
        ) from None
    if raw is None:
        raise AlertNotFound(f"no raw text kept for post {post_id}")
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action="post.raw_view",
            target_type="post",
            target_id=str(post_id),
            detail={"reason": reason},
        )
    )
    session.flush()
    return {
        "id": post_id,
        "title": raw.get("title"),
        "text": raw.get("text"),
        "author": raw.get("author"),
        "reply": raw.get("reply"),
    }


def _load_alert(
    session: Session,
    alert_id: int,
    *,
    lock: bool = False,
    teams: Collection[str] | None = None,
) -> Alert:
    # FOR UPDATE (PostgreSQL) stops two people from both acknowledging one open alert.
    alert = session.get(
        Alert, alert_id, options=[selectinload(Alert.team)], with_for_update=lock or None
    )
    # Out of scope looks exactly like missing: ids must not reveal other grids' alerts.
    if alert is None or (teams is not None and not _sees(alert, teams)):
        raise AlertNotFound(f"alert {alert_id} not found")
    return alert


def alert_detail(
    session: Session, alert_id: int, *, teams: Collection[str] | None = None
) -> dict[str, Any]:
    """The alert plus the posts behind it (newest first) and its response history."""
    alert = _load_alert(session, alert_id, teams=teams)
    posts = session.scalars(
        select(Post)
        .join(AlertPost, AlertPost.post_id == Post.id)
        .where(AlertPost.alert_id == alert.id)
        .order_by(AlertPost.added_at.desc(), Post.id.desc())
    ).all()
    responses = session.scalars(
        select(Response).where(Response.alert_id == alert.id).order_by(Response.at, Response.id)
    ).all()
    out = alert_as_dict(alert)
    out["posts"] = [post_as_dict(p) for p in posts]
    out["responses"] = [response_as_dict(r) for r in responses]
    out["allowed_actions"] = allowed_actions(alert.status)
    return out


def allowed_actions(status: str) -> list[str]:
    return [a for a in ACTIONS if status in _ALLOWED_FROM[a]]


def alerts_for_post(
    session: Session, post_id: int, *, teams: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Alerts that include this post, newest first (only ``teams``' when given)."""
    stmt = (
        select(Alert, Team.name)
        .join(Team, Team.id == Alert.team_id)
        .join(AlertPost, AlertPost.alert_id == Alert.id)
        .where(AlertPost.post_id == post_id)
        .order_by(Alert.id.desc())
    )
    if teams is not None:
        stmt = stmt.where(_in_scope(teams))
    return [alert_as_dict(a, name) for a, name in session.execute(stmt).all()]


def team_choices(
    session: Session, *, teams: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(id, name) of active teams, for filters (only ``teams`` when given)."""
    stmt = select(Team.id, Team.name).where(Team.active.is_(True)).order_by(Team.id)
    if teams is not None:
        stmt = stmt.where(Team.id.in_(sorted(teams)))
    return [(r.id, r.name) for r in session.execute(stmt).all()]


# ---------------------------------------------------------------- lifecycle


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
    alert = _load_alert(session, alert_id, lock=True, teams=teams)
    before = alert.status
    if action == NOTE:
        return _note(session, alert, actor, now, text)
    if before not in _ALLOWED_FROM[action]:
        allowed = "、".join(STATUS_LABELS_ZH[s] for s in _ALLOWED_FROM[action])
        raise TransitionError(
            f"告警 {alert.id} 当前状态为“{STATUS_LABELS_ZH.get(before, before)}”，"
            f"不能{ACTION_LABELS_ZH[action]}（仅限{allowed}的告警）"
            f" / alert {alert.id} is {before}; cannot {action}"
        )
    if action == "reply" and not text:
        raise InvalidInput("回复内容不能为空 / a reply needs text")

    if action == "acknowledge":
        alert.status = "acknowledged"
        alert.acknowledged_at = now
    elif action == "reply":
        alert.status = "responded"
        if alert.acknowledged_at is None:  # answering a matter acknowledges it
            alert.acknowledged_at = now
        if alert.responded_at is None:  # keep the first reply: time to respond counts from it
            alert.responded_at = now
    elif action == "resolve":
        alert.status = "resolved"
        alert.resolved_at = now
    elif action == "reopen":
        alert.status = "acknowledged"
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
    alert = _load_alert(session, alert_id, lock=True, teams=teams)
    target = session.get(Team, team_id)
    if target is None or not target.active:
        raise InvalidInput(f"没有这个责任单位 / unknown team {team_id!r}")
    if alert.status in ("resolved", "dismissed"):
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
    alert = _load_alert(session, alert_id, lock=True, teams=teams)
    if severity is not None and severity != alert.tier and alert.status in ("triage", "backlog"):
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
    parts = [f"{k}: {detail[k][0]} → {detail[k][1]}" for k in shown] or ["（无变化）"]
    note = "；".join(parts) + (f"。{text}" if text else "")
    record(session, alert, "correct", actor, now, note, detail)
    session.flush()
    return alert


def event_timeline(
    session: Session,
    event_id: int,
    *,
    teams: Collection[str] | None = None,
    areas: Collection[str] | None = None,
) -> dict[str, Any]:
    """One matter: the event and its posts oldest first (only those in scope)."""
    from store.models import Event

    event = session.get(Event, event_id)
    if event is None:
        raise AlertNotFound(f"event {event_id} not found")
    posts = [
        p
        for p in session.scalars(
            select(Post).where(Post.event_id == event_id).order_by(Post.published_at, Post.id)
        )
        if post_in_scope(session, p, teams, areas)
    ]
    if not posts:  # nothing the caller may see: the event does not exist for them
        raise AlertNotFound(f"event {event_id} not found")
    return {
        "id": event.id,
        "title": mask_post_text(event.title),
        "category": event.category,
        "area": event.area,
        "severity": event.severity,
        "tier": tier_name(event.severity),
        "post_count": event.post_count,
        "first_seen": iso(event.first_seen),
        "last_seen": iso(event.last_seen),
        "posts": [post_as_dict(p) for p in posts],
    }


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


__all__ = [
    "ACTIONS",
    "ACTIVE_STATUSES",
    "STATUSES",
    "AlertNotFound",
    "InvalidInput",
    "NOTE",
    "RawTextUnreadable",
    "TransitionError",
    "acknowledge",
    "alert_as_dict",
    "alert_detail",
    "alerts_for_post",
    "alerts_as_dicts",
    "allowed_actions",
    "apply_action",
    "correct",
    "event_timeline",
    "note",
    "reassign",
    "get_post",
    "pending_deadline",
    "post_as_dict",
    "post_in_scope",
    "read_raw_post",
    "reopen",
    "reply",
    "resolve",
    "team_choices",
]
