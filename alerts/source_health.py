"""An alert for a source that stopped yielding (blocked, login expired, layout
changed), whose text turned to mojibake, or whose items stopped parsing: raised to
the source's owner team so it is not discovered weeks later.

Small and separate from the post rules: the crawler's record of each run
(runtime.jobs.record_crawl) decides when a source is unhealthy and calls this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.opening import open_alert
from store.models import Alert
from yuqing.settings import AppConfig

RULE = "source_health"
TIER = 2  # III 较大: someone must look within the working day, nobody is hurt yet


def mojibake_reason(bad: int, repaired: int = 0) -> str:
    fixed = f"（另有 {repaired} 条已按正确编码还原）" if repaired else ""
    return (
        f"本次抓取有 {bad} 条内容解码后是乱码，已转入死信待查{fixed}（网站编码声明有误或已更换？）"
    )


def unparsed_reason(unparsed: int, stored: int) -> str:
    return f"本次抓取有 {unparsed} 条内容无法解析，只入库 {stored} 条（页面或数据格式变了？）"


def crawl_health_reasons(stats: dict[str, Any]) -> list[str]:
    """What one finished crawl's figures (crawler.runner.CrawlStats as a dict) say is
    wrong with its source beyond yielding nothing: decoded text that is mojibake
    (posts dead-lettered for it), and items that stopped parsing (at least as many
    read but not understood as stored)."""
    reasons = []
    bad_text = int(stats.get("mojibake", 0))
    if bad_text:
        reasons.append(mojibake_reason(bad_text, int(stats.get("mojibake_repaired", 0))))
    unparsed = int(stats.get("unparsed", 0))
    stored = int(stats.get("items_accepted", 0))
    if unparsed and unparsed >= stored:
        reasons.append(unparsed_reason(unparsed, stored))
    return reasons


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
        title=f"数据源「{source}」{_headline(reason)}",
        reason=reason,
        now=now,
        post_count=0,
        detail={"source": source, "reason": reason},
    )
    return alert.id


def _headline(reason: str) -> str:
    if "乱码" in reason:
        return "内容乱码"
    if "无法解析" in reason:
        return "内容无法解析"
    return "停止产出"
