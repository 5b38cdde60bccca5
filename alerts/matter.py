"""Event-level severity: an alert's tier is its matter's tier, not one post's.

A matter is the alert's event (near-duplicate cluster) or, without one, the posts
the alert holds. Its signals are what a duty officer weighs besides the words of
one post: how many people raise it, on how many channels, how fast it grows, how
much attention it draws, whether it came back after a reply, and whether a 12345
record and a public post point at it together. Each signal is a sentence a
responder can read; the tier the posts earned is raised by at most
``alerts.yaml matter.max_raise`` for them. Several authors or sources are also
*certain* triggers (alerts/triage.py): the duty desk need not confirm them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from alerts.rules import post_time
from store.models import Alert, AlertPost, Post, PostSighting
from yuqing.settings import AppConfig


@dataclass(frozen=True, slots=True)
class Signal:
    key: str  # authors, sources, growth, engagement, recurrence, hotline
    reason: str


@dataclass(slots=True)
class Matter:
    """What is known of one matter at one moment."""

    posts: int = 0
    authors: int = 0
    sources: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)  # sources of one site count once
    signals: list[Signal] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [s.reason for s in self.signals]

    def keys(self) -> set[str]:
        return {s.key for s in self.signals}


def channels(config: AppConfig, sources: list[str]) -> list[str]:
    """Independent channels among ``sources``: a site's board and its feed (one host)
    are one channel, so a post seen on both is not "raised on two channels"."""
    from urllib.parse import urlsplit

    hosts: dict[str, str] = {}
    for src in config.sources.sources:
        host = urlsplit(src.url.replace("{demo_url}", "http://demo")).hostname if src.url else None
        hosts[src.name] = host or src.name
    return sorted({hosts.get(name, name) for name in sources})


def _hotline_sources(config: AppConfig) -> set[str]:
    named = config.alerts.matter.hotline_sources
    if named:
        return set(named)
    return {s.name for s in config.sources.sources if s.kind == "file"}


def read_matter(
    session: Session, config: AppConfig, post: Post, alert: Alert | None, now: datetime
) -> Matter:
    """The matter ``post`` belongs to (its event, and the alert's posts) and its signals."""
    policy = config.alerts.matter
    member = [Post.id == post.id]
    if post.event_id is not None:
        member.append(Post.event_id == post.event_id)
    if alert is not None and alert.id is not None:
        member.append(Post.id.in_(select(AlertPost.post_id).where(AlertPost.alert_id == alert.id)))
    at = post_time()
    rows = session.execute(
        select(Post.id, Post.author, Post.source, Post.likes, Post.replies, at).where(
            or_(*member), at <= now
        )
    ).all()
    ids = [r[0] for r in rows]
    matter = Matter(posts=len(rows))
    matter.authors = len({r[1] for r in rows if r[1]})
    seen = {r[2] for r in rows}
    if ids:
        seen |= set(
            session.scalars(
                select(PostSighting.source).where(PostSighting.post_id.in_(ids)).distinct()
            )
        )
    matter.sources = sorted(seen)
    matter.channels = channels(config, matter.sources)
    if not policy.enabled:
        return matter
    out = matter.signals
    if matter.authors >= policy.authors:
        out.append(Signal("authors", f"多人反映：{matter.authors} 位不同作者"))
    if len(matter.channels) >= policy.sources:
        out.append(
            Signal(
                "sources",
                f"多渠道反映：{len(matter.channels)} 个来源（{'、'.join(matter.sources[:4])}）",
            )
        )
    window = policy.growth_window
    recent = sum(1 for r in rows if r[5] is not None and _aware(r[5]) > now - window)
    before = sum(
        1 for r in rows if r[5] is not None and now - 2 * window < _aware(r[5]) <= now - window
    )
    if recent >= policy.growth_posts and recent >= policy.growth_ratio * max(before, 1):
        hours = window.total_seconds() / 3600
        out.append(Signal("growth", f"快速增长：近 {hours:g} 小时 {recent} 帖（此前 {before} 帖）"))
    engagement = sum((r[3] or 0) + (r[4] or 0) for r in rows)
    if engagement >= policy.engagement:
        out.append(Signal("engagement", f"关注度高：点赞与回复共 {engagement}"))
    if alert is not None and alert.responded_at is not None:
        again = session.scalar(
            select(func.count())
            .select_from(AlertPost)
            .where(AlertPost.alert_id == alert.id, AlertPost.added_at > alert.responded_at)
        )
        if again or _aware(post.fetched_at) > alert.responded_at:
            out.append(Signal("recurrence", "答复后再次反映"))
    hotline = _hotline_sources(config)
    if hotline and set(matter.sources) & hotline and set(matter.sources) - hotline:
        out.append(Signal("hotline", "12345 热线记录与公开帖子指向同一事项"))
    return matter


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def matter_tier(config: AppConfig, base: int, matter: Matter, post: Post) -> int:
    """The posts' own tier, raised by the matter's signals (at most ``max_raise``), or
    capped for a single post the classifier is unsure of."""
    policy = config.alerts.matter
    if not policy.enabled:
        return base
    raised = max(base, min(policy.max_tier, base + min(policy.max_raise, len(matter.signals))))
    if matter.posts <= 1 and post.uncertain and not matter.signals:
        return min(raised, policy.uncertain_cap)
    return raised
