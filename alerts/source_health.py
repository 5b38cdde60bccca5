"""An alert for a source that stopped yielding (blocked, login expired, layout
changed): raised to the source's owner team so it is not discovered weeks later.

Small and separate from the post rules: the crawler's record of each run
(yuqing.pipeline.record_crawl) decides when a source is unhealthy and calls this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox import notify_alert
from alerts.worktime import deadlines
from store.models import Alert, AuditLog
from yuqing.settings import AppConfig

RULE = "source_health"
TIER = 2  # III 较大: someone must look within the working day, nobody is hurt yet


def open_source_alert(
    session: Session,
    config: AppConfig,
    *,
    source: str,
    team: str | None,
    reason: str,
    since: datetime,
    now: datetime,
) -> int:
    """Open (once per episode: ``since`` names it) an alert about ``source``; returns its id.

    ``team`` is the source's ``owner_team``; without one the triage team gets it.
    """
    team_id = team or config.teams.triage_team
    key = f"{RULE}:{source}:{since.isoformat()}"[:200]
    existing = session.scalars(select(Alert).where(Alert.dedup_key == key)).first()
    if existing is not None:
        return existing.id
    ack_by, respond_by = deadlines(config, team_id, TIER, now)
    alert = Alert(
        dedup_key=key,
        rule=RULE,
        tier=TIER,
        status="open",
        team_id=team_id,
        event_id=None,
        title=f"数据源「{source}」停止产出",
        reason=reason,
        category=None,
        area=None,
        post_count=0,
        latest_post_id=None,
        opened_at=now,
        updated_at=now,
        ack_deadline=ack_by,
        respond_deadline=respond_by,
    )
    session.add(alert)
    session.flush()
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="alert.open",
            target_type="alert",
            target_id=str(alert.id),
            detail={"rule": RULE, "source": source, "team": team_id, "reason": reason},
        )
    )
    notify_alert(session, config, alert, "open", now)
    return alert.id
