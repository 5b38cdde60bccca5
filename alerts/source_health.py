"""An alert for a source that stopped yielding (blocked, login expired, layout
changed): raised to the source's owner team so it is not discovered weeks later.

Small and separate from the post rules: the crawler's record of each run
(yuqing.pipeline.record_crawl) decides when a source is unhealthy and calls this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.opening import open_alert
from store.models import Alert
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
    alert = open_alert(
        session,
        config,
        dedup_key=key,
        rule=RULE,
        tier=TIER,
        team_id=team_id,
        title=f"数据源「{source}」停止产出",
        reason=reason,
        now=now,
        post_count=0,
        detail={"source": source, "reason": reason},
    )
    return alert.id
