"""人工研判: the duty desk decides before a team is paged on the machine's word alone.

A tier I-II alert that rests on the model or the rubric alone opens in status
``triage``: the duty desk covering its area (``teams.yaml duty_desks``, else
``triage_team``) is notified at once and has a short window (``alerts.yaml
triage.windows``: I 10 min, II 15 min by default). One click each:

- confirm: routed to the owning team, whose deadlines start now;
- retier / reassign: routed with the tier or team the desk chose (a downgrade is
  stored as a classifier correction);
- dismiss: a false alarm, with a reason; stored as a correction, nobody paged.

With no decision when the window ends the alert *fails open*: it is routed as if
confirmed (``triage = failed_open``), and the supervisors' figures count it.
Certain triggers (several authors or sources on one matter, an official source, a
rule or rubric term marked certain) skip the desk.

A post found long after it was published (``alerts.yaml discovery.max_age``)
opens in status ``backlog`` instead: the desk reviews it within
``discovery.review_within`` and either routes it (confirm / retier) or archives
it; nobody is paged and no deadline starts in the past.

复核, the desk's second look: a post the classifier graded below II whose tier I-II
probability still clears the model's review line (``Classification.review``) is
shown to the desk as "possibly II" within ``triage.review.window``. Its alert stays
where the machine put it (routed to the team at III; below the alert rules, held at
the desk alone in status ``backlog``); the desk raises it (retier), keeps it
(confirm), dismisses it or, held at the desk, archives it. Nobody is paged on it,
and an unread one lapses to the machine's own verdict when the window ends.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from alerts.changes import STALE_KINDS, cancel_pending, change_alert, record
from alerts.matter import Matter
from alerts.outbox import notify_alert
from alerts.status import AT_DESK, Status
from alerts.worktime import add_window, deadlines
from store.models import Alert, AlertPost, Post
from store.models import Team as TeamRow
from yuqing.contracts import APPROX_KEY, tier_name
from yuqing.settings import AppConfig

URGENT_TIERS = (4, 3)  # I and II
REVIEW = "review"  # the desk's second look (复核) at a post graded below II
OUTCOMES_ZH = {
    "pending": "待研判",
    "review": "待复核",
    "reviewed": "复核维持",
    "review_lapsed": "复核逾时，维持机器判断",
    "confirmed": "研判确认",
    "retiered": "研判改级",
    "reassigned": "研判改派",
    "dismissed": "研判排除",
    "archived": "补看归档",
    "failed_open": "超时自动派发",
    "certain": "确定触发，免研判",
}


class TriageError(Exception):
    """The desk's action does not apply: the alert is not awaiting triage (HTTP 409)."""


class TriageInputError(TriageError):
    """The decision itself is unusable: no reason, no tier or team, unknown team (HTTP 400)."""


def desk_for(config: AppConfig, area: str | None) -> str:
    """The duty desk of the nearest county or street covering ``area``."""
    desks = config.teams.duty_desks
    parents = {name: parent for name, (_, parent) in config.areas.all().items()}
    cur = area
    while cur is not None:
        if cur in desks:
            return desks[cur]
        cur = parents.get(cur)
    return config.teams.triage_team


def certain_reasons(
    config: AppConfig,
    *,
    rule: str,
    post: Post | None,
    matter: Matter | None,
) -> list[str]:
    """Why this alert needs no desk (empty: it rests on the machine alone)."""
    c = config.alerts.triage.certain
    out: list[str] = []
    if rule in c.rules:
        out.append(f"规则“{rule}”为确定触发")
    if matter is not None:
        if c.min_authors is not None and matter.authors >= c.min_authors:
            out.append(f"{matter.authors} 位不同作者反映")
        if c.min_sources is not None and len(matter.channels) >= c.min_sources:
            out.append(f"{len(matter.channels)} 个独立来源反映")
        official = sorted(set(matter.sources) & set(c.sources))
        if official:
            out.append(f"官方来源：{'、'.join(official)}")
    elif post is not None and post.source in c.sources:
        out.append(f"官方来源：{post.source}")
    if post is not None and c.terms:
        reasons = "\n".join(post.reasons or [])
        terms = [t for t in c.terms if f"命中‘{t}’" in reasons]
        if terms:
            out.append(f"确定词：{'、'.join(terms)}")
    return out


def needs_desk(config: AppConfig, tier: int, certain: list[str]) -> bool:
    triage = config.alerts.triage
    return triage.enabled and tier in URGENT_TIERS and tier in triage.windows and not certain


# A date the crawler could only guess to the part of a day (昨天下午, 上周五) is
# marked so on the post (APPROX_KEY); it must be late by more than the guess can be wrong.
APPROX_SLACK = timedelta(hours=12)


def is_late(config: AppConfig, post: Post, now: datetime) -> bool:
    """Found long after it was published: a backlog item, not a page."""
    max_age = config.alerts.discovery.max_age
    if max_age is None or post.published_at is None:
        return False
    found = min(post.fetched_at, now) if post.fetched_at else now
    if (post.extra or {}).get(APPROX_KEY):
        max_age += APPROX_SLACK
    return found - post.published_at > max_age


def _history(
    session: Session, alert: Alert, action: str, actor: str, now: datetime, text: str, **detail: Any
) -> None:
    record(session, alert, action, actor, now, text, detail)


def send_to_desk(session: Session, config: AppConfig, alert: Alert, now: datetime) -> None:
    """Status ``triage``: the desk is notified now and decides within the window. The
    deadlines shown are the team's if it fails open at the window's end."""
    window = config.alerts.triage.windows[alert.tier]
    alert.status = Status.TRIAGE
    alert.triage = "pending"
    alert.desk_team_id = desk_for(config, alert.area)
    alert.triage_deadline = now + window
    alert.ack_deadline, alert.respond_deadline = deadlines(
        config, alert.team_id, alert.tier, alert.triage_deadline
    )
    session.flush()
    note = f"请在 {int(window.total_seconds() // 60)} 分钟内研判：确认、改级/改派或排除；逾时将自动派发给{alert.team_id}"
    notify_alert(
        session, config, alert, "triage", now, team_id=alert.desk_team_id,
        key=alert.triage_deadline.isoformat(), note=note,
    )  # fmt: skip


def send_to_backlog(session: Session, config: AppConfig, alert: Alert, now: datetime) -> None:
    """Status ``backlog``: an old matter found late; the desk reviews it, nobody is paged."""
    alert.status = Status.BACKLOG
    alert.triage = "pending"
    alert.desk_team_id = desk_for(config, alert.area)
    review = config.alerts.discovery.review_within
    due = add_window(config, alert.desk_team_id, 1, now, review)
    alert.triage_deadline = due
    alert.ack_deadline = alert.respond_deadline = due


def send_to_review(
    session: Session, config: AppConfig, alert: Alert, now: datetime, *, held: bool
) -> None:
    """复核: the desk takes a second look within ``triage.review.window``. ``held``: the
    alert rules raised nothing, so the alert waits at the desk alone (status backlog);
    otherwise it is already the team's and stays so."""
    alert.triage = REVIEW
    alert.desk_team_id = desk_for(config, alert.area)
    alert.triage_deadline = now + config.alerts.triage.review.window
    if held:
        alert.status = Status.BACKLOG
        alert.routed_at = None
        alert.ack_deadline = alert.respond_deadline = alert.triage_deadline
    _history(session, alert, "triage.review", "system", now,
             "机器判为 " + tier_name(alert.tier) + " 级，但 I–II 级可能性达到复核线：请值班复核",
             window_end=alert.triage_deadline.isoformat())  # fmt: skip


def under_review(alert: Alert) -> bool:
    """A routed alert waiting for the desk's second look (held ones are in AT_DESK)."""
    return alert.triage == REVIEW and alert.status not in AT_DESK


def route(
    session: Session,
    config: AppConfig,
    alert: Alert,
    now: datetime,
    *,
    outcome: str,
    actor: str = "system",
    note: str = "",
) -> None:
    """Hand the alert to its owning team: open, deadlines from now, team notified."""
    was = alert.status
    alert.status = Status.OPEN
    alert.routed_at = now
    alert.triage = outcome if was in AT_DESK or outcome == "certain" else alert.triage
    if was in AT_DESK:
        alert.triaged_at = now
        alert.triaged_by = actor
        cancel_pending(session, alert.id, f"triage {outcome} at {now.isoformat()}", ("triage",))
    alert.ack_deadline, alert.respond_deadline = deadlines(config, alert.team_id, alert.tier, now)
    alert.updated_at = now
    session.flush()
    notify_alert(
        session,
        config,
        alert,
        "open",
        now,
        key=now.isoformat() if was in AT_DESK else "",
        note=note,
    )


def _load(
    session: Session,
    alert_id: int,
    teams: Collection[str] | None,
    statuses: tuple[str, ...],
    *,
    review_ok: bool = True,
) -> Alert:
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None or (
        teams is not None and alert.desk_team_id not in teams and alert.team_id not in teams
    ):
        raise LookupError(f"alert {alert_id} not found")
    if alert.status not in statuses and not (review_ok and under_review(alert)):
        raise TriageError(
            f"告警 {alert_id} 不在研判队列中（当前状态 {alert.status}） / "
            f"alert {alert_id} is not awaiting triage ({alert.status})"
        )
    return alert


def _correct_posts(
    session: Session,
    config: AppConfig,
    alert: Alert,
    actor: str,
    now: datetime,
    tier: int,
    note: str,
) -> int:
    """Store the desk's lower tier as a classifier correction of each post behind the alert."""
    from classifier.corrections import record_correction

    n = 0
    for pid in session.scalars(select(AlertPost.post_id).where(AlertPost.alert_id == alert.id)):
        post = session.get(Post, pid)
        if post is None or post.severity <= tier:
            continue
        record_correction(
            session, pid, actor=actor, at=now, taxonomy=config.taxonomy, severity=tier, note=note
        )
        n += 1
    return n


def confirm(
    session: Session,
    config: AppConfig,
    alert_id: int,
    actor: str,
    now: datetime,
    note: str = "",
    *,
    teams: Collection[str] | None = None,
) -> Alert:
    alert = _load(session, alert_id, teams, AT_DESK)
    if under_review(alert):
        _reviewed(alert, "reviewed", actor, now)
        _history(session, alert, "triage.keep", actor, now,
                 note or f"复核：维持 {tier_name(alert.tier)} 级", tier=tier_name(alert.tier))  # fmt: skip
        return alert
    _history(session, alert, "triage.confirm", actor, now, note or "研判确认，派发责任单位",
             tier=tier_name(alert.tier), team=alert.team_id)  # fmt: skip
    route(
        session, config, alert, now, outcome="confirmed", actor=actor, note=note or "值班研判确认"
    )
    return alert


def retier(
    session: Session,
    config: AppConfig,
    alert_id: int,
    actor: str,
    now: datetime,
    *,
    tier: int | None = None,
    team_id: str | None = None,
    note: str = "",
    teams: Collection[str] | None = None,
) -> Alert:
    """Route with another tier and/or team. A lower tier becomes a classifier correction."""
    if tier is None and team_id is None:
        raise TriageInputError("请选择新的等级或责任单位 / choose a tier or a team")
    if tier is not None and tier not in (1, 2, 3, 4):
        raise TriageInputError(f"unknown tier {tier}")
    alert = _load(session, alert_id, teams, AT_DESK)
    if team_id is not None:
        row = session.get(TeamRow, team_id)
        if row is None or not row.active:
            raise TriageInputError(f"没有这个责任单位 / unknown team {team_id!r}")
    if under_review(alert):
        # already the team's: the change takes effect as any correction does
        old = alert.tier
        changed = change_alert(session, config, alert, actor=actor, now=now, tier=tier,
                               team_id=team_id, reason=note or "值班复核", action="triage.retier")  # fmt: skip
        if tier is not None and tier < old:
            _correct_posts(
                session, config, alert, actor, now, tier, note or f"复核降级 alert {alert.id}"
            )
        _reviewed(
            alert,
            "retiered" if "tier" in changed else ("reassigned" if changed else "reviewed"),
            actor,
            now,
        )
        return alert
    detail: dict[str, Any] = {}
    if tier is not None and tier != alert.tier:
        detail["tier"] = [tier_name(alert.tier), tier_name(tier)]
        if tier < alert.tier:
            detail["corrections"] = _correct_posts(
                session, config, alert, actor, now, tier, note or f"研判降级 alert {alert.id}"
            )
        alert.tier = tier
    if team_id is not None and team_id != alert.team_id:
        detail["team"] = [alert.team_id, team_id]
        alert.team_id = team_id
    outcome = (
        "retiered" if "tier" in detail else ("reassigned" if "team" in detail else "confirmed")
    )
    parts = []
    if "tier" in detail:
        parts.append(f"等级 {detail['tier'][0]} → {detail['tier'][1]}")
    if "team" in detail:
        parts.append(f"责任单位 {detail['team'][0]} → {detail['team'][1]}")
    text = "研判" + ("；".join(parts) or "确认") + (f"。{note}" if note else "")
    action = {"retiered": "triage.retier", "reassigned": "triage.reassign"}.get(
        outcome, "triage.confirm"
    )
    _history(session, alert, action, actor, now, text, **detail)
    route(session, config, alert, now, outcome=outcome, actor=actor, note=text)
    return alert


def dismiss(
    session: Session,
    config: AppConfig,
    alert_id: int,
    actor: str,
    now: datetime,
    reason: str,
    *,
    tier: int = 1,
    teams: Collection[str] | None = None,
) -> Alert:
    """A false alarm: closed with the reason, nobody paged; each post behind it is
    corrected to ``tier`` (IV by default) so the next retraining learns from it."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise TriageInputError("排除须说明理由 / a dismissal needs a reason")
    alert = _load(session, alert_id, teams, (Status.TRIAGE,))
    if alert.status != Status.TRIAGE:  # a routed second-look item: its team hears it is closed
        cancel_pending(session, alert.id, f"triage dismissed at {now.isoformat()}", STALE_KINDS)
    n = _correct_posts(session, config, alert, actor, now, tier, f"误报排除：{reason}")
    _finish(session, alert, "dismissed", actor, now)
    _history(session, alert, "triage.dismiss", actor, now, f"排除误报：{reason}",
             reason=reason, corrections=n, tier=tier_name(alert.tier))  # fmt: skip
    return alert


def archive(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    note: str = "",
    *,
    teams: Collection[str] | None = None,
) -> Alert:
    """A backlog item read and filed: an old matter needing no action now (no correction)."""
    alert = _load(session, alert_id, teams, (Status.BACKLOG,), review_ok=False)
    _finish(session, alert, "archived", actor, now)
    _history(session, alert, "triage.archive", actor, now, note or "补看归档", note=note)
    return alert


def _finish(session: Session, alert: Alert, outcome: str, actor: str, now: datetime) -> None:
    alert.status = Status.DISMISSED
    alert.triage = outcome
    alert.triaged_at = now
    alert.triaged_by = actor
    alert.updated_at = now
    cancel_pending(session, alert.id, f"triage {outcome} at {now.isoformat()}", ("triage",))


def _reviewed(alert: Alert, outcome: str, actor: str, now: datetime) -> None:
    alert.triage = outcome
    alert.triaged_at = now
    alert.triaged_by = actor
    alert.updated_at = now


def expire(session: Session, config: AppConfig, now: datetime) -> int:
    """Fail open: route every alert whose triage window ended without a decision."""
    lapsed = session.scalars(
        select(Alert).where(Alert.triage == REVIEW, Alert.triage_deadline <= now).order_by(Alert.id)
    ).all()
    for alert in lapsed:
        # unread: the machine's own verdict stands (held ones were never any team's)
        note = f"值班未在复核时限内决定，维持机器判断 {tier_name(alert.tier)} 级"
        if alert.status == Status.BACKLOG:
            alert.status = Status.DISMISSED
            note += "，不派发"
        _reviewed(alert, "review_lapsed", "system", now)
        _history(session, alert, "triage.review_lapsed", "system", now, note)
    if not config.alerts.triage.fail_open:
        return 0
    due = session.scalars(
        select(Alert)
        .where(Alert.status == Status.TRIAGE, Alert.triage_deadline <= now)
        .order_by(Alert.triage_deadline, Alert.id)
    ).all()
    for alert in due:
        note = "值班未在研判时限内决定，已按原等级自动派发"
        _history(session, alert, "triage.fail_open", "system", now, note,
                 window_end=alert.triage_deadline.isoformat() if alert.triage_deadline else None)  # fmt: skip
        route(session, config, alert, now, outcome="failed_open", note=note)
    return len(due)


def queue(
    session: Session, *, teams: Collection[str] | None = None, backlog: bool | None = None
) -> list[Alert]:
    """Alerts waiting for the desk, the nearest decision first (``backlog``: only those /
    none of those / both when None)."""
    statuses = AT_DESK if backlog is None else ((Status.BACKLOG,) if backlog else (Status.TRIAGE,))
    waiting = Alert.status.in_(statuses)
    if backlog is not True:
        waiting = or_(waiting, and_(Alert.triage == REVIEW, Alert.status.not_in(AT_DESK)))
    q = select(Alert).where(waiting)
    if teams is not None:
        q = q.where(Alert.desk_team_id.in_(list(teams)))
    return list(session.scalars(q.order_by(Alert.triage_deadline, Alert.id)))
