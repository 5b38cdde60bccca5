"""The notification outbox: queue in the alert's own transaction, deliver later.

Queueing is idempotent (a unique ``dedup_key`` per alert, reason, level and
channel), so a repeated deadline check or a restarted scheduler never notifies
twice. Delivery sends each (alert, channel)'s notifications in the order they
were queued, retries a failed send with exponential backoff, and leaves a
delivery that kept failing visible as ``failed`` with its last error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels import Channel, DeliveryError, Message, build_channel
from alerts.messages import combine, render_alert, render_digest
from alerts.status import Status
from alerts.worktime import team_calendar
from store.alerting_models import NotificationOutbox
from store.models import Alert
from yuqing.settings import AppConfig

if TYPE_CHECKING:
    from store.db import Store
    from yuqing.clock import Clock

log = logging.getLogger("yuqing.alerts.outbox")

URGENT = (4, 3)  # severities of tiers I and II: notify at once, whatever the hour


def team_channels(config: AppConfig, team_id: str) -> list[str]:
    team = config.teams.by_id().get(team_id)
    return list(team.channels if team and team.channels else config.alerts.notify.default_channels)


def queue_message(
    session: Session,
    config: AppConfig,
    message: Message,
    *,
    key: str,
    alert_id: int | None,
    team_id: str,
    kind: str,
    tier: int,
    now: datetime,
    channels: list[str] | None = None,
) -> int:
    """Queue ``message`` once per channel (the team's, unless ``channels`` names them);
    ``key`` makes it idempotent. Tiers III-IV wait for the team's working time."""
    urgent = tier in URGENT
    due = now if urgent else team_calendar(config, team_id).next_working(now)
    batchable = config.alerts.notify.batch_quiet and not urgent and due > now and kind != "digest"
    added = 0
    for ch in channels if channels is not None else team_channels(config, team_id):
        dedup = f"{key}:{ch}"
        if session.scalar(
            select(NotificationOutbox.id).where(NotificationOutbox.dedup_key == dedup)
        ):
            continue
        session.add(
            NotificationOutbox(
                dedup_key=dedup,
                alert_id=alert_id,
                team_id=team_id,
                channel=ch,
                kind=kind,
                tier=tier,
                payload=message.as_payload(),
                batchable=batchable,
                created_at=now,
                status="pending",
                attempts=0,
                next_attempt_at=due,
            )
        )
        added += 1
    session.flush()
    return added


def notify_alert(
    session: Session,
    config: AppConfig,
    alert: Alert,
    kind: str,
    now: datetime,
    *,
    team_id: str | None = None,
    key: str = "",
    note: str = "",
) -> int:
    """Queue one notification per channel of the team; tier IV openings wait for the digest."""
    if kind == "open" and alert.tier == 1:
        return 0
    team = team_id or alert.team_id
    session.flush()  # the alert needs its id
    key = f"alert:{alert.id}:{kind}:{key}"
    wanted = [f"{key}:{ch}" for ch in team_channels(config, team)]
    have = session.scalars(
        select(NotificationOutbox.dedup_key).where(NotificationOutbox.dedup_key.in_(wanted))
    ).all()
    if len(have) == len(wanted):
        return 0  # already queued: a repeated check renders nothing
    msg = render_alert(config, alert, kind, team, note)
    return queue_message(
        session,
        config,
        msg,
        key=key,
        alert_id=alert.id,
        team_id=team,
        kind=kind,
        tier=alert.tier,
        now=now,
    )


def enqueue_digests(session: Session, config: AppConfig, now: datetime) -> int:
    """Each team's tier IV alerts of the last working day, once per working day at
    notify.digest_time (a late or restarted scheduler still sends it, once)."""
    from datetime import time

    added = 0
    at = time.fromisoformat(config.alerts.notify.digest_time)
    for team in config.teams.teams:
        cal = team_calendar(config, team.id)
        today = now.astimezone(cal.zone).date()
        if not cal.is_working_day(today):
            continue
        due = datetime.combine(today, at, cal.zone)
        if now < due:
            continue
        prev = today - timedelta(days=1)
        while not cal.is_working_day(prev):
            prev -= timedelta(days=1)
        since = datetime.combine(prev, at, cal.zone)
        alerts = list(
            session.scalars(
                select(Alert)
                .where(
                    Alert.team_id == team.id,
                    Alert.tier == 1,
                    # the team's own: not what waits for the desk or the desk dismissed
                    Alert.status.in_(
                        (Status.OPEN, Status.ACKNOWLEDGED, Status.RESPONDED, Status.RESOLVED)
                    ),
                    Alert.opened_at >= since,
                    Alert.opened_at < due,
                )
                .order_by(Alert.id)
            )
        )
        if not alerts:
            continue
        msg = render_digest(config, team.id, today.isoformat(), alerts)
        added += queue_message(
            session,
            config,
            msg,
            key=f"digest:{team.id}:{today.isoformat()}",
            alert_id=None,
            team_id=team.id,
            kind="digest",
            tier=1,
            now=now,
        )
    return added


@dataclass(slots=True)
class DeliveryStats:
    sent: int = 0  # outbox rows delivered
    messages: int = 0  # sends (a batch is one)
    failed: int = 0  # failed attempts
    errors: list[str] = field(default_factory=list)


def backoff(config: AppConfig, attempts: int) -> timedelta:
    n = config.alerts.notify
    return min(n.backoff_base * (2 ** max(attempts - 1, 0)), n.backoff_max)


def _eligible(session: Session, now: datetime, limit: int) -> list[NotificationOutbox]:
    """Due rows that are the oldest unsent one of their (alert, channel): order per alert."""
    pending = session.scalars(
        select(NotificationOutbox)
        .where(NotificationOutbox.status == "pending")
        .order_by(NotificationOutbox.id)
    ).all()
    first: set[tuple[int | None, str]] = set()
    out: list[NotificationOutbox] = []
    for row in pending:
        k = (row.alert_id, row.channel)
        if row.alert_id is not None and k in first:
            continue
        first.add(k)
        if row.next_attempt_at <= now:
            out.append(row)
            if len(out) >= limit:
                break
    return out


def deliver_due(
    store: Store,
    config: AppConfig,
    clock: Clock,
    channel_factory: Callable[[str], Channel] | None = None,
    limit: int = 200,
    max_passes: int = 20,
) -> DeliveryStats:
    """Send what is due. Sending happens outside any transaction; each outcome is
    written right after, so a crash can at worst resend one message, never lose one."""
    stats = DeliveryStats()
    channels: dict[str, Channel] = {}

    def channel(name: str) -> Channel:
        if name not in channels:
            if channel_factory is not None:
                channels[name] = channel_factory(name)
            else:
                opts = config.alerts.channels.get(name)
                if opts is None:
                    raise DeliveryError(f"channel {name!r} is no longer configured")
                channels[name] = build_channel(name, opts, clock)
        return channels[name]

    for _ in range(max_passes):
        now = clock.now()
        with store.session() as s:
            rows = _eligible(s, now, limit)
            groups: dict[tuple[str, str] | int, list[tuple[int, str, Message]]] = {}
            for r in rows:
                gkey: tuple[str, str] | int = (r.channel, r.team_id) if r.batchable else r.id
                groups.setdefault(gkey, []).append(
                    (r.id, r.channel, Message.from_payload(r.payload))
                )
        if not groups:
            break
        progress = False
        for items in groups.values():
            ids = [i for i, _, _ in items]
            name = items[0][1]
            try:
                channel(name).send(combine([m for _, _, m in items]))
            except Exception as exc:  # a broken channel must never stop delivery
                err = f"{type(exc).__name__}: {exc}"[:2000]
                stats.failed += 1
                stats.errors.append(f"{name}: {err}")
                log.warning("notification via %s failed: %s", name, err)

                def failed(
                    s: Session, ids: list[int] = ids, err: str = err, now: datetime = now
                ) -> None:
                    for row in s.scalars(
                        select(NotificationOutbox).where(NotificationOutbox.id.in_(ids))
                    ):
                        row.attempts += 1
                        row.last_error = err
                        if row.attempts >= config.alerts.notify.max_attempts:
                            row.status = "failed"
                        row.next_attempt_at = now + backoff(config, row.attempts)

                store.write(failed, what="recording a failed notification")
                continue
            sent_at = clock.now()

            def sent(s: Session, ids: list[int] = ids, sent_at: datetime = sent_at) -> None:
                for row in s.scalars(
                    select(NotificationOutbox).where(NotificationOutbox.id.in_(ids))
                ):
                    row.attempts += 1
                    row.status = "sent"
                    row.sent_at = sent_at
                    row.last_error = None

            # Sent is sent: a database restart right now must not make it go out again.
            store.write(sent, what="recording a sent notification")
            stats.sent += len(ids)
            stats.messages += 1
            progress = True
        if not progress:
            break
    return stats


def outbox_rows(session: Session, alert_id: int | None = None) -> list[NotificationOutbox]:
    stmt = select(NotificationOutbox).order_by(NotificationOutbox.id)
    if alert_id is not None:
        stmt = stmt.where(NotificationOutbox.alert_id == alert_id)
    return list(session.scalars(stmt))
