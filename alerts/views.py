"""How alerts, their posts and their matters are shown to people: one JSON shape for
the console's pages and API and the CLI, masked text, and each caller's scope (a team
sees its alerts once routed; a duty desk sees what waits for it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from alerts.errors import AlertNotFound, InvalidInput
from alerts.status import (
    ACTIVE_STATUSES,
    AT_DESK,
    CLOSED,
    STATUSES,
    allowed_actions,
    deadline_sql,
    pending_deadline,
)
from store.models import Alert, AlertPost, AuditLog, Post, Response, Team
from yuqing.contracts import tier_name

MIN_REASON = 2  # why someone reads a post's unmasked text; kept in the audit log


MAX_REASON = 500


class RawTextUnreadable(RuntimeError):
    """The stored unmasked text does not decrypt with this deployment's key."""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _in_scope(teams: Collection[str]) -> Any:
    """A team sees its alerts once routed; a duty desk sees what waits for it."""
    waiting = AT_DESK
    desk = and_(Alert.status.in_(waiting), Alert.desk_team_id.in_(sorted(teams)))
    mine = and_(Alert.status.not_in(waiting), Alert.team_id.in_(sorted(teams)))
    return or_(mine, desk)


def _sees(alert: Alert, teams: Collection[str]) -> bool:
    if alert.status in AT_DESK:
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


_LIST_COLUMNS = (
    Alert.id, Alert.tier, Alert.status, Alert.team_id, Alert.title, Alert.reason,
    Alert.category, Alert.area, Alert.post_count, Alert.opened_at, Alert.ack_deadline,
    Alert.respond_deadline, Alert.acknowledged_at, Alert.responded_at, Alert.resolved_at,
    Alert.updated_at, Alert.escalation_level, Alert.rule, Alert.triage, Alert.desk_team_id,
    Alert.triage_deadline, Alert.triaged_at, Alert.triaged_by, Alert.routed_at, Alert.signals,
)  # fmt: skip


def _row_as_dict(r: Any, team_name: str) -> dict[str, Any]:
    """:func:`alert_as_dict` of a Core row of _LIST_COLUMNS (no ORM object to build)."""
    status = r.status
    if status in AT_DESK:
        deadline = r.triage_deadline
    elif status == "open":
        deadline = r.ack_deadline
    elif status not in CLOSED:
        deadline = r.respond_deadline
    else:
        deadline = None
    return {
        "id": r.id,
        "tier": tier_name(r.tier),
        "severity": r.tier,
        "status": status,
        "team": r.team_id,
        "team_name": team_name,
        "title": r.title,
        "reason": r.reason,
        "category": r.category,
        "area": r.area,
        "post_count": r.post_count,
        "opened_at": iso(r.opened_at),
        "deadline": iso(deadline),
        "ack_deadline": iso(r.ack_deadline),
        "respond_deadline": iso(r.respond_deadline),
        "acknowledged_at": iso(r.acknowledged_at),
        "responded_at": iso(r.responded_at),
        "resolved_at": iso(r.resolved_at),
        "updated_at": iso(r.updated_at),
        "escalation_level": r.escalation_level,
        "rule": r.rule,
        "triage": r.triage,
        "desk": r.desk_team_id,
        "triage_deadline": iso(r.triage_deadline),
        "triaged_at": iso(r.triaged_at),
        "triaged_by": r.triaged_by,
        "routed_at": iso(r.routed_at),
        "signals": [g.get("reason") for g in (r.signals or [])],
    }


def alerts_as_dicts(
    session: Session,
    status: str | Iterable[str] | None = None,
    team: str | None = None,
    limit: int = 100,
    *,
    teams: Collection[str] | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Alerts sorted by their nearest pending deadline (most serious first on ties).

    ``status`` None lists the active alerts (open, acknowledged, responded);
    "all", one status, "a,b" or a list of statuses narrow or widen that.
    ``teams`` (a user's scope) keeps only alerts of those teams; None keeps all.
    ``offset`` skips that many (a page further down).
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    deadline = deadline_sql()
    # Sort ids alone (a narrow sort of every matching alert), then read the page's rows:
    # sorting the full rows carried every column of thousands of alerts through the sort.
    page = (
        select(Alert.id)
        .where(Alert.status.in_(_statuses(status)))
        .order_by(deadline.asc().nulls_last(), Alert.tier.desc(), Alert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if team:
        page = page.where(Alert.team_id == team)
    if teams is not None:
        page = page.where(_in_scope(teams))
    ids = list(session.scalars(page))
    if not ids:
        return []
    rows = session.execute(
        select(*_LIST_COLUMNS, Team.name.label("team_name"))
        .join(Team, Team.id == Alert.team_id)
        .where(Alert.id.in_(ids))
    ).all()
    by_id = {r.id: r for r in rows}
    return [_row_as_dict(by_id[i], by_id[i].team_name) for i in ids if i in by_id]


def count_alerts(
    session: Session,
    status: str | Iterable[str] | None = None,
    *,
    teams: Collection[str] | None = None,
    team: str | None = None,
) -> int:
    """How many alerts of ``status`` (and ``team``, as in :func:`alerts_as_dicts`) the
    scope sees."""
    from sqlalchemy import func

    stmt = select(func.count()).select_from(Alert).where(Alert.status.in_(_statuses(status)))
    if team:
        stmt = stmt.where(Alert.team_id == team)
    if teams is not None:
        stmt = stmt.where(_in_scope(teams))
    return int(session.scalar(stmt) or 0)


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

    from store.raw import read_raw

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


def load_alert(
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
    session: Session,
    alert_id: int,
    *,
    teams: Collection[str] | None = None,
    tz: str | None = None,
) -> dict[str, Any]:
    """The alert plus the posts behind it (newest first), its response history and its
    full history (``tz``: the zone deadline changes are worded in; UTC when None)."""
    alert = load_alert(session, alert_id, teams=teams)
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
    out["history"] = alert_history(session, alert, responses, tz)
    out["allowed_actions"] = allowed_actions(alert.status)
    return out


NOTIFY_STATUS_ZH = {
    "pending": "待发送",
    "sent": "已送达",
    "failed": "发送失败",
    "cancelled": "已取消",
}
DEADLINE_ZH = {"acknowledge": "确认", "respond": "回复"}


def _deadline_change(change: Any, tz: str | None) -> str:
    """[[ack, respond] before, [ack, respond] after] as people read it, in ``tz``."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz or "UTC")

    def local_zone_time(value: str) -> str:
        shown = datetime.fromisoformat(value).astimezone(zone).strftime("%m-%d %H:%M")
        return shown if tz else shown + " UTC"

    try:
        (ack0, resp0), (ack1, resp1) = change
    except (TypeError, ValueError):
        return ""
    parts = []
    for name, a, b in (("确认时限", ack0, ack1), ("回复时限", resp0, resp1)):
        if a != b:
            parts.append(f"{name} {local_zone_time(a)} → {local_zone_time(b)}")
    return "，".join(parts)


def _team_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted))).all()
    return {r[0]: r[1] for r in rows}


def alert_history(
    session: Session, alert: Alert, responses: Iterable[Response], tz: str | None = None
) -> list[dict[str, Any]]:
    """Everything that happened to the alert, oldest first, each step worded in Chinese:
    its opening, people's actions and triage decisions (Response rows, with deadline
    changes), each escalation (to which level and team) and each notification (channel,
    team, delivered or failed, from the outbox). ``kind`` says which; ``label`` and
    ``text`` are what a person reads."""
    from alerts.messages import KIND_LABELS_ZH
    from alerts.status import ACTION_LABELS_ZH
    from store.alerting_models import AlertEscalation, NotificationOutbox

    escalations = session.scalars(
        select(AlertEscalation)
        .where(AlertEscalation.alert_id == alert.id)
        .order_by(AlertEscalation.level)
    ).all()
    notes = session.scalars(
        select(NotificationOutbox)
        .where(NotificationOutbox.alert_id == alert.id)
        .order_by(NotificationOutbox.created_at, NotificationOutbox.id)
    ).all()
    names = _team_names(
        session,
        [alert.team_id, *(e.team_id for e in escalations), *(n.team_id for n in notes)],
    )

    def team(team_id: str) -> str:
        return names.get(team_id, team_id)

    steps: list[tuple[datetime, int, dict[str, Any]]] = [
        (alert.opened_at, 0, {
            "kind": "open", "at": iso(alert.opened_at), "actor": "系统",
            "label": "产生告警", "text": alert.reason, "channel": None,
        }),
    ]  # fmt: skip
    # a change of tier or team recomputes deadlines: the audit row keeps old and new
    moved = {
        (a.action.removeprefix("alert."), a.at): a.detail["deadlines"]
        for a in session.scalars(
            select(AuditLog).where(
                AuditLog.target_type == "alert",
                AuditLog.target_id == str(alert.id),
                AuditLog.action.like("alert.%"),
            )
        )
        if isinstance(a.detail, dict) and a.detail.get("deadlines")
    }
    for r in responses:
        text = r.text
        if (r.action, r.at) in moved:
            text = "；".join(filter(None, [text, _deadline_change(moved[(r.action, r.at)], tz)]))
        steps.append((r.at, 1, {
            "kind": "action", "action": r.action, "at": iso(r.at),
            "actor": "系统" if r.actor == "system" else r.actor,
            "label": ACTION_LABELS_ZH.get(r.action, r.action), "text": text,
            "channel": r.channel,
        }))  # fmt: skip
    for e in escalations:
        which = DEADLINE_ZH.get(e.deadline, e.deadline)
        steps.append((e.at, 2, {
            "kind": "escalate", "at": iso(e.at), "actor": "系统", "level": e.level,
            "team": e.team_id, "label": f"超时升级至第 {e.level} 级",
            "text": f"{which}超时，已上报第 {e.level} 级：{team(e.team_id)}", "channel": None,
        }))  # fmt: skip
    for n in notes:
        state = NOTIFY_STATUS_ZH.get(n.status, n.status)
        at = n.sent_at if n.status == "sent" and n.sent_at else n.created_at
        text = (
            f"{KIND_LABELS_ZH.get(n.kind, n.kind)}：经 {n.channel} 通知 {team(n.team_id)}，{state}"
        )
        if n.status == "sent" and n.sent_at:
            text += f"（第 {max(n.attempts, 1)} 次发送）"
        elif n.status == "failed":
            text += f"（已尝试 {n.attempts} 次）"
        steps.append((at, 3, {
            "kind": "notify", "at": iso(at), "actor": "系统", "label": "通知",
            "text": text, "channel": n.channel, "team": n.team_id,
            "delivery": n.status, "notify_kind": n.kind,
        }))  # fmt: skip
    steps.sort(key=lambda s: (s[0], s[1]))
    return [s[2] for s in steps]


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
