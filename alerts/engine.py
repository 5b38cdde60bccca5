"""Turn newly stored posts into alerts: one alert per event that grows, never one per post.

Opening or raising an alert queues its notifications in the same transaction
(alerts/outbox.py); a matching silence (alerts/silences.py) keeps an alert from
opening and is written to the audit log instead. Deadlines count wall-clock time
for tiers I-II and the team's working time for III-IV (alerts/worktime.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.aftermath import maybe_reopen
from alerts.changes import change_alert
from alerts.matter import Matter, Signal, matter_tier, read_matter
from alerts.opening import open_alert
from alerts.outbox import notify_alert
from alerts.routing import Router
from alerts.rules import Finding, PairFinding, evaluate, pair_rules
from alerts.silences import matching_silence
from alerts.status import Status
from alerts.triage import (
    certain_reasons,
    is_late,
    needs_desk,
    route,
    send_to_desk,
    send_to_review,
)
from store.models import Alert, AlertPost, AuditLog, Post, Response
from store.models import Team as TeamRow
from yuqing.contracts import tier_name
from yuqing.settings import AppConfig


@dataclass(slots=True)
class EvaluationStats:
    posts: int = 0
    opened: int = 0
    grown: int = 0
    silenced: int = 0
    reopened: int = 0
    spikes: int = 0
    triage: int = 0  # opened at the duty desk (研判)
    backlog: int = 0  # found long after publication: the desk's backlog, no page
    late: int = 0  # found long after publication, below the backlog's tier: no alert
    review: int = 0  # graded below II but marked for the desk's second look (复核)


def sync_teams(session: Session, config: AppConfig) -> None:
    """Mirror config/teams.yaml into the store so alerts can reference teams."""
    existing = {t.id: t for t in session.scalars(select(TeamRow))}
    for t in config.teams.teams:
        row = existing.pop(t.id, None)
        if row is None:
            session.add(
                TeamRow(id=t.id, name=t.name, level=t.level, parent_id=t.parent, active=True)
            )
        else:
            row.name, row.level, row.parent_id, row.active = t.name, t.level, t.parent, True
    for row in existing.values():  # removed from config: keep for history, mark inactive
        row.active = False


def evaluate_new_posts(
    session: Session, config: AppConfig, router: Router, now: datetime, limit: int = 1000
) -> EvaluationStats:
    stats = EvaluationStats()
    posts = session.scalars(
        select(Post).where(Post.evaluated.is_(False)).order_by(Post.id).limit(limit)
    ).all()
    rules = list(config.alerts.rules)
    touched: set[tuple[str, str]] = set()
    for post in posts:
        stats.posts += 1
        post.evaluated = True
        if post.area and post.category:
            touched.add((post.area, post.category))
        findings = evaluate(session, rules, post, now)
        second_look = _second_look(config, post)
        if not findings and not second_look:
            continue
        dedup_key = f"event:{post.event_id}" if post.event_id else f"post:{post.id}"
        alert = session.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).first()
        if not findings:
            if _hold_for_review(session, config, router, post, alert, dedup_key, now):
                stats.review += 1
            continue
        top = max(findings, key=lambda f: f.tier)
        reason = "；".join(f.reason for f in findings)
        silence = matching_silence(
            session, now, rule=top.rule, areas=router.areas(post.area), event_id=post.event_id
        )
        if alert is None and silence is not None:
            session.add(
                AuditLog(
                    at=now,
                    actor="system",
                    action="alert.silenced",
                    target_type="post",
                    target_id=str(post.id),
                    detail={"silence_id": silence.id, "rule": top.rule, "tier": top.tier},
                )
            )
            stats.silenced += 1
            continue
        late = is_late(config, post, now)
        matter = read_matter(session, config, post, alert, now)
        if _rule_kind(config, top.rule) == "growing_event":
            # the rule's own tier already stands for its authors: not counted twice
            matter.signals = [g for g in matter.signals if g.key not in ("authors", "growth")]
        if alert is None:
            tier = matter_tier(config, top.tier, matter, post)
            certain = certain_reasons(config, rule=top.rule, post=post, matter=matter)
            mode = "route"
            if late and tier < config.alerts.discovery.backlog_min_tier:
                stats.late += 1  # an old everyday matter: stored and searchable, no alert
                continue
            if late:
                mode = "backlog"
                stats.backlog += 1
            elif needs_desk(config, tier, certain):
                mode = "triage"
                stats.triage += 1
            elif second_look and tier < 3:
                mode = "review"
                stats.review += 1
            open_alert(
                session,
                config,
                dedup_key=dedup_key,
                rule=top.rule,
                tier=tier,
                team_id=router.route(post.area, post.category, post.uncertain),
                title=post.title or post.text[:60],
                reason="；".join([reason, *matter.reasons]),
                now=now,
                post_ids=[post.id],
                event_id=post.event_id,
                category=post.category,
                area=post.area,
                detail={"post_id": post.id, **({"late": True} if late else {})},
                mode=mode,
                certain=certain,
                signals=[{"key": g.key, "reason": g.reason} for g in matter.signals],
            )
            stats.opened += 1
            continue
        if _grow(session, config, alert, post, top, matter, late, silence is not None, now, stats):
            stats.grown += 1
    for area, category in sorted(touched):
        stats.spikes += _spikes(session, config, router, area, category, now)
    return stats


def _grow(
    session: Session,
    config: AppConfig,
    alert: Alert,
    post: Post,
    top: Finding,
    matter: Matter,
    late: bool,
    silenced: bool,
    now: datetime,
    stats: EvaluationStats,
) -> bool:
    """A post joins its matter's alert: the matter's tier and signals are read again.

    New signals raise the tier by one (new deadlines, a notification), up to
    ``matter.max_raise`` above the posts' own highest tier and never above
    ``matter.max_tier``. A tier the desk or a person lowered is not raised back by
    the same posts' words, only by new signals. A live post brings a backlog alert
    back to the desk (or its team); a certain trigger ends a triage wait; after a
    resolution the aftermath rule decides whether it reopens.
    """
    already = session.get(AlertPost, (alert.id, post.id)) is not None
    if not already:
        session.add(AlertPost(alert_id=alert.id, post_id=post.id, added_at=now))
        alert.post_count += 1
        alert.latest_post_id = post.id
    policy = config.alerts.matter
    old_keys = {g.get("key") for g in (alert.signals or [])}
    fresh = [g for g in matter.signals if g.key not in old_keys] if policy.enabled else []
    posts_top = max(top.tier, _posts_tier(session, alert))
    ceiling = max(alert.tier, min(policy.max_tier, posts_top + policy.max_raise))
    lowered_by_hand = alert.triage in ("retiered", "dismissed") or _corrected(session, alert)
    target = alert.tier if lowered_by_hand else max(alert.tier, top.tier)
    if fresh:
        target = max(target, min(alert.tier + 1, ceiling))
    raised = target > alert.tier
    certain = certain_reasons(config, rule=top.rule, post=post, matter=matter)
    if already and not raised and not fresh and alert.status != Status.TRIAGE:
        return False  # an edit or new likes on a post the alert already holds
    why = "；".join(g.reason for g in fresh) or (f"新帖达到 {top.tier} 级" if raised else "")
    _audit_growth(session, alert, post, target, raised, fresh, now)
    alert.updated_at = now
    if alert.status == Status.RESOLVED:
        # after the answer the aftermath rule decides: enough new posts, or a higher one
        if not already and maybe_reopen(session, config, alert, top.tier > alert.tier, now):
            stats.reopened += 1
            _record(alert, fresh)
            if raised:
                change_alert(session, config, alert, actor="system", now=now, tier=target,
                             reason=why, action="raise")  # fmt: skip
        return True
    _record(alert, fresh)
    if alert.status == Status.BACKLOG:
        if raised:
            alert.tier = target
        if not late:  # the old matter is live again: now it pages
            if needs_desk(config, alert.tier, certain):
                send_to_desk(session, config, alert, now)
            else:
                route(session, config, alert, now, outcome="certain" if certain else "confirmed",
                      note="旧事项出现新帖：" + (why or "重新进入处置"))  # fmt: skip
        return True
    if alert.status == Status.TRIAGE:
        if raised:
            alert.tier = target
            window = config.alerts.triage.windows.get(target)
            if window is not None and alert.triage_deadline is not None:
                alert.triage_deadline = min(alert.triage_deadline, now + window)
        if certain or not needs_desk(config, alert.tier, certain):
            route(session, config, alert, now, outcome="certain",
                  note="确定触发：" + ("；".join(certain) or why))  # fmt: skip
        elif raised and not silenced:
            notify_alert(session, config, alert, "raise", now, team_id=alert.desk_team_id,
                         key=str(alert.tier), note=why)  # fmt: skip
        return True
    if alert.status == Status.DISMISSED:
        if raised or certain:  # new evidence on a dismissed matter: the desk looks again
            alert.tier = target
            if needs_desk(config, alert.tier, certain):
                send_to_desk(session, config, alert, now)
            else:
                route(session, config, alert, now, outcome="certain" if certain else "confirmed",
                      note="已排除事项出现新情况：" + (why or "；".join(certain)))  # fmt: skip
        return True
    if not raised and _second_look(config, post) and alert.tier < 3 and alert.triage is None:
        send_to_review(session, config, alert, now, held=False)
    if raised:
        if silenced:
            alert.tier = target  # a silence keeps it quiet, never wrong
        else:
            change_alert(session, config, alert, actor="system", now=now, tier=target,
                         reason=why, action="raise")  # fmt: skip
    return True


SECOND_LOOK_RULE = "second_look"


def _second_look(config: AppConfig, post: Post) -> bool:
    t = config.alerts.triage
    return bool(post.review) and t.enabled and t.review.enabled and post.severity < 3


def _hold_for_review(
    session: Session,
    config: AppConfig,
    router: Router,
    post: Post,
    alert: Alert | None,
    dedup_key: str,
    now: datetime,
) -> bool:
    """A post no alert rule took up but the model marked for a second look: held at the
    desk alone (nobody paged). Not for old posts, silenced matters or one already held."""
    if alert is not None or is_late(config, post, now):
        return False
    if matching_silence(session, now, rule=SECOND_LOOK_RULE, areas=router.areas(post.area),
                        event_id=post.event_id):  # fmt: skip
        return False
    p = f"{post.severe_p:.2f}" if post.severe_p is not None else "?"
    open_alert(
        session,
        config,
        dedup_key=dedup_key,
        rule=SECOND_LOOK_RULE,
        tier=post.severity,
        team_id=router.route(post.area, post.category, post.uncertain),
        title=post.title or post.text[:60],
        reason=f"复核：机器判为 {tier_name(post.severity)} 级，I–II 级可能性 {p} 达到复核线",
        now=now,
        post_ids=[post.id],
        event_id=post.event_id,
        category=post.category,
        area=post.area,
        detail={"post_id": post.id, "severe_p": post.severe_p},
        mode="review_held",
    )
    return True


def _record(alert: Alert, fresh: list[Signal]) -> None:
    if fresh:
        alert.signals = [
            *(alert.signals or []),
            *({"key": g.key, "reason": g.reason} for g in fresh),
        ]
        alert.reason = "；".join([alert.reason, *(g.reason for g in fresh)])


def _audit_growth(
    session: Session,
    alert: Alert,
    post: Post,
    tier: int,
    raised: bool,
    fresh: list[Signal],
    now: datetime,
) -> None:
    detail: dict[str, object] = {"post_id": post.id, "tier": tier}
    if fresh:
        detail["signals"] = [g.reason for g in fresh]
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="alert.raise" if raised else "alert.grow",
            target_type="alert",
            target_id=str(alert.id),
            detail=detail,
        )
    )


def _rule_kind(config: AppConfig, name: str) -> str | None:
    return next((r.kind for r in config.alerts.rules if r.name == name), None)


def _posts_tier(session: Session, alert: Alert) -> int:
    return (
        session.scalar(
            select(func.max(Post.severity))
            .join(AlertPost, AlertPost.post_id == Post.id)
            .where(AlertPost.alert_id == alert.id)
        )
        or 1
    )


def _corrected(session: Session, alert: Alert) -> bool:
    """Whether a person set this alert's tier (a correction in the console or CLI)."""
    return (
        session.scalar(
            select(Response.id)
            .where(Response.alert_id == alert.id, Response.action == "correct")
            .limit(1)
        )
        is not None
    )


def _spikes(
    session: Session, config: AppConfig, router: Router, area: str, category: str, now: datetime
) -> int:
    """Open an alert for the pair for each rule looking at pairs (a spike) that finds
    one, unless that rule's alert for the pair is still active (it fires once)."""
    opened = 0
    for rule, kind in pair_rules(list(config.alerts.rules)):
        active = session.scalar(
            select(Alert.id).where(
                Alert.rule == rule.name,
                Alert.area == area,
                Alert.category == category,
                Alert.status != Status.RESOLVED,
            )
        )
        if active is not None:
            continue
        found = kind.on_pair(session, rule, area, category, now)
        if found is None:
            continue
        if matching_silence(session, now, rule=rule.name, areas=router.areas(area), event_id=None):
            continue
        _open_pair_alert(session, config, router, rule.kind, found, now)
        opened += 1
    return opened


def _open_pair_alert(
    session: Session,
    config: AppConfig,
    router: Router,
    kind: str,
    found: PairFinding,
    now: datetime,
) -> None:
    open_alert(
        session,
        config,
        dedup_key=f"{kind}:{found.rule}:{found.area}:{found.category}:{now.isoformat()}",
        rule=found.rule,
        tier=found.tier,
        team_id=router.route(found.area, found.category),
        title=found.title,
        reason=found.reason,
        now=now,
        post_ids=found.post_ids,
        post_count=len(found.post_ids),
        category=found.category,
        area=found.area,
        detail=found.detail,
    )
