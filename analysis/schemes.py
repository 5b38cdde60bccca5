"""Monitoring schemes (监测方案): an analyst's saved watch over the posts.

A scheme is keyword groups — ``must`` (every one), ``any_of`` (at least one),
``exclude`` (none) — read in the title, the text or both, narrowed to sources, areas
(with the places inside them) and categories. :func:`run` matches the posts that
arrived since each scheme last looked (its watermark), keeps each match once in
``scheme_hits``, tells the scheme's subscribed channels of new matches through the
notification outbox (one message per scheme per run), and, when the scheme carries
an alert rule, opens a tier III or IV alert per matter. A new or edited scheme looks
back ``BACKFILL`` so its chart starts with history. Words are matched as written
(Chinese has no case), Latin letters case-insensitively.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alerts.channels import Message
from alerts.messages import local
from alerts.opening import open_alert
from alerts.outbox import queue_message
from alerts.routing import Router
from store.models import Alert, Post
from store.scheme_models import Scheme, SchemeHit
from yuqing.contracts import TIER_LABELS_ZH, tier_name
from yuqing.gazetteer import Gazetteer, subtree
from yuqing.settings import AppConfig

FIELDS = ("all", "title", "text")
FIELD_LABELS_ZH = {"all": "标题和正文", "title": "标题", "text": "正文"}
BACKFILL = timedelta(days=30)
BATCH = 2000  # posts read per query
RESCAN = 200  # ids below the watermark looked at again (late commits)
SHOWN = 5  # matches listed in one subscription message
_SPLIT = re.compile(r"[\s,，、;；]+")


class SchemeError(ValueError):
    """A scheme that cannot be saved: says which field and why (in Chinese)."""


@dataclass
class SchemeSpec:
    name: str
    must: list[str] = dataclasses.field(default_factory=list)
    any_of: list[str] = dataclasses.field(default_factory=list)
    exclude: list[str] = dataclasses.field(default_factory=list)
    field: str = "all"
    sources: list[str] = dataclasses.field(default_factory=list)
    areas: list[str] = dataclasses.field(default_factory=list)
    categories: list[str] = dataclasses.field(default_factory=list)
    alert_severity: int | None = None
    channels: list[str] = dataclasses.field(default_factory=list)
    team_id: str | None = None
    note: str | None = None


def words(value: str | Iterable[str] | None) -> list[str]:
    """Words from a form field or a list: split on spaces, commas and 、, deduplicated."""
    if value is None:
        return []
    parts = _SPLIT.split(value) if isinstance(value, str) else [str(v) for v in value]
    return list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


def check(spec: SchemeSpec, config: AppConfig) -> SchemeSpec:
    """The spec with its lists cleaned, or a SchemeError naming what is wrong."""
    spec.name = spec.name.strip()
    if not spec.name or len(spec.name) > 80:
        raise SchemeError("方案名称不能为空，且不超过 80 字")
    for attr in ("must", "any_of", "exclude", "sources", "areas", "categories", "channels"):
        setattr(spec, attr, words(getattr(spec, attr)))
    if not spec.must and not spec.any_of:
        raise SchemeError("至少填写一个“必须包含”或“包含任一”的关键词")
    if any(len(w) > 40 for w in spec.must + spec.any_of + spec.exclude):
        raise SchemeError("关键词过长（每个不超过 40 字）")
    if spec.field not in FIELDS:
        raise SchemeError(f"匹配范围只能是 {'、'.join(FIELDS)}")
    known_sources = {s.name for s in config.sources.sources}
    if bad := [s for s in spec.sources if s not in known_sources]:
        raise SchemeError(f"未配置的来源：{'、'.join(bad)}")
    known_areas = {a.name for a in config.areas.areas}
    if bad := [a for a in spec.areas if a not in known_areas]:
        raise SchemeError(f"地名表中没有：{'、'.join(bad)}")
    known_categories = set(config.taxonomy.category_names())
    if bad := [c for c in spec.categories if c not in known_categories]:
        raise SchemeError(f"未知类别：{'、'.join(bad)}")
    if bad := [c for c in spec.channels if c not in config.alerts.channels]:
        raise SchemeError(f"alerts.yaml 中没有通知渠道：{'、'.join(bad)}")
    if spec.alert_severity is not None and spec.alert_severity not in (1, 2):
        # tiers I-II go through the duty desk: an alerts.yaml keyword rule, not a scheme
        raise SchemeError("方案告警只能是 III 级或 IV 级（I–II 级请用 alerts.yaml 的关注词规则）")
    if spec.team_id is not None and spec.team_id not in config.teams.by_id():
        raise SchemeError(f"未知责任单位：{spec.team_id}")
    return spec


def matches(scheme: Scheme | SchemeSpec, title: str, text: str) -> list[str]:
    """The words of ``scheme`` the post names (must and any), or [] when it does not match."""
    where = {"title": title, "text": text}.get(scheme.field, f"{title}\n{text}").lower()
    if any(w.lower() in where for w in scheme.exclude):
        return []
    if not all(w.lower() in where for w in scheme.must):
        return []
    hit_any = [w for w in scheme.any_of if w.lower() in where]
    if scheme.any_of and not hit_any:
        return []
    return [*scheme.must, *hit_any]


def save(
    session: Session, config: AppConfig, spec: SchemeSpec, owner: str, now: datetime
) -> Scheme:
    """Create the scheme, or replace the one of that name (its matches are redone)."""
    check(spec, config)
    row = session.scalars(select(Scheme).where(Scheme.name == spec.name)).first()
    if row is None:
        row = Scheme(name=spec.name, owner=owner, created_at=now)
        session.add(row)
    else:
        session.execute(delete(SchemeHit).where(SchemeHit.scheme_id == row.id))
    for attr in ("must", "any_of", "exclude", "field", "sources", "areas", "categories"):
        setattr(row, attr, getattr(spec, attr))
    row.alert_severity = spec.alert_severity
    row.channels = spec.channels
    row.team_id = spec.team_id
    row.note = spec.note
    row.active = True
    row.updated_at = now
    session.flush()
    # look back from the newest post older than the backfill window
    row.watermark = (
        session.scalar(select(func.max(Post.id)).where(Post.fetched_at < now - BACKFILL)) or 0
    )
    _scan(session, config, row, now, backfill=True)
    return row


def remove(session: Session, name: str) -> bool:
    row = session.scalars(select(Scheme).where(Scheme.name == name)).first()
    if row is None:
        return False
    session.execute(delete(SchemeHit).where(SchemeHit.scheme_id == row.id))
    session.delete(row)
    return True


def visible(session: Session, *, user: str | None, teams: Sequence[str] | None) -> list[Scheme]:
    """Schemes a user sees: their own and those shared with one of their teams; all when
    ``teams`` is None (a county-wide role)."""
    rows = list(session.scalars(select(Scheme).order_by(Scheme.name)))
    if teams is None:
        return rows
    return [r for r in rows if r.owner == user or (r.team_id is not None and r.team_id in teams)]


@dataclass
class RunStats:
    looked: int = 0
    hits: int = 0
    messages: int = 0
    alerts: int = 0


def run(session: Session, config: AppConfig, now: datetime) -> RunStats:
    """Every active scheme over the posts since its watermark (the scheduler's tick)."""
    stats = RunStats()
    for scheme in session.scalars(select(Scheme).where(Scheme.active.is_(True))):
        one = _scan(session, config, scheme, now)
        stats.looked += one.looked
        stats.hits += one.hits
        stats.messages += one.messages
        stats.alerts += one.alerts
    return stats


def _scan(
    session: Session, config: AppConfig, scheme: Scheme, now: datetime, backfill: bool = False
) -> RunStats:
    stats = RunStats()
    areas = subtree(config.areas, scheme.areas) if scheme.areas else None
    # Look again at the last RESCAN ids below the watermark: on PostgreSQL a batch that
    # committed late may hold lower ids than one already seen. A post is hit once.
    start = max(scheme.watermark - (0 if backfill else RESCAN), 0)
    seen = set(
        session.scalars(
            select(SchemeHit.post_id).where(
                SchemeHit.scheme_id == scheme.id, SchemeHit.post_id > start
            )
        )
    )
    while True:
        q = select(Post).where(Post.id > start).order_by(Post.id).limit(BATCH)
        if scheme.sources:
            q = q.where(Post.source.in_(scheme.sources))
        if scheme.categories:
            q = q.where(Post.category.in_(scheme.categories))
        if areas is not None:
            q = q.where(Post.area.in_(sorted(areas)))
        posts = list(session.scalars(q))
        if not posts:
            break
        stats.looked += len(posts)
        fresh: list[tuple[Post, list[str]]] = []
        for post in posts:
            if post.id in seen:
                continue
            found = matches(scheme, post.title, post.text)
            if found:
                fresh.append((post, found))
                seen.add(post.id)
        for post, found in fresh:
            session.add(
                SchemeHit(
                    scheme_id=scheme.id,
                    post_id=post.id,
                    at=post.published_at or post.fetched_at,
                    # history found by a new scheme is not news: never sent
                    notified=backfill,
                    detail={"words": found},
                )
            )
        stats.hits += len(fresh)
        start = posts[-1].id
        if not backfill:
            stats.alerts += _alerts(session, config, scheme, fresh, now)
        if len(posts) < BATCH:
            break
    scheme.watermark = max(scheme.watermark, session.scalar(select(func.max(Post.id))) or 0)
    session.flush()
    if not backfill and scheme.channels:
        stats.messages += _notify(session, config, scheme, now)
    return stats


def _alerts(
    session: Session,
    config: AppConfig,
    scheme: Scheme,
    fresh: list[tuple[Post, list[str]]],
    now: datetime,
) -> int:
    if scheme.alert_severity is None:
        return 0
    router = Router(config.teams, Gazetteer(config.areas))
    opened = 0
    for post, found in fresh:
        key = f"scheme:{scheme.id}:" + (
            f"event:{post.event_id}" if post.event_id else f"post:{post.id}"
        )
        if session.scalar(select(Alert.id).where(Alert.dedup_key == key)) is not None:
            continue
        tier = scheme.alert_severity
        open_alert(
            session,
            config,
            dedup_key=key,
            rule=f"scheme:{scheme.name}",
            tier=tier,
            team_id=router.route(post.area, post.category),
            title=post.title or post.text[:60],
            reason=f"监测方案「{scheme.name}」命中：{'、'.join(found)}",
            now=now,
            post_ids=[post.id],
            event_id=post.event_id,
            category=post.category,
            area=post.area,
            detail={"scheme": scheme.name, "words": found},
        )
        opened += 1
    return opened


def _notify(session: Session, config: AppConfig, scheme: Scheme, now: datetime) -> int:
    """One message to each subscribed channel with the matches not yet sent."""
    rows = list(
        session.execute(
            select(SchemeHit, Post)
            .join(Post, Post.id == SchemeHit.post_id)
            .where(SchemeHit.scheme_id == scheme.id, SchemeHit.notified.is_(False))
            .order_by(Post.id)
        ).tuples()
    )
    if not rows:
        return 0
    for hit, _ in rows:
        hit.notified = True
    message = render(config, scheme, [p for _, p in rows])
    team = scheme.team_id or _first_team(config)
    return queue_message(
        session,
        config,
        message,
        key=f"scheme:{scheme.id}:{rows[-1][1].id}",
        alert_id=None,
        team_id=team,
        kind="scheme",
        tier=scheme.alert_severity or 2,
        now=now,
        channels=list(scheme.channels),
    )


def _first_team(config: AppConfig) -> str:
    return config.teams.teams[0].id if config.teams.teams else "-"


def render(config: AppConfig, scheme: Scheme, posts: list[Post]) -> Message:
    subject = f"【监测方案】{scheme.name} 新增 {len(posts)} 条"
    lines = [
        f"{local(config, p.published_at or p.fetched_at)} {p.title}（{p.area or '-'}，"
        f"{p.category or '未分类'}，{tier_name(p.severity)} {TIER_LABELS_ZH[p.severity]}）"
        for p in posts[-SHOWN:]
    ]
    more = f"……另有 {len(posts) - SHOWN} 条" if len(posts) > SHOWN else ""
    text = "\n".join([subject, *lines, more]).rstrip()
    md = f"### {subject}\n" + "\n".join(f"- {x}" for x in lines) + (f"\n\n{more}" if more else "")
    body = (
        f"<h3>{html.escape(subject)}</h3><ul>"
        + "".join(f"<li>{html.escape(x)}</li>" for x in lines)
        + "</ul>"
        + (f"<p>{html.escape(more)}</p>" if more else "")
    )
    data = {"kind": "scheme", "scheme": scheme.name, "post_ids": [p.id for p in posts]}
    return Message(subject, text, md, body, data)


def volume(
    session: Session, scheme_id: int, since: datetime, until: datetime, zone: Any
) -> list[tuple[str, int]]:
    """Matches per local day from ``since`` to ``until`` (every day, zeros included)."""
    days: dict[str, int] = {}
    d = since.astimezone(zone).date()
    while d <= until.astimezone(zone).date():
        days[d.isoformat()] = 0
        d += timedelta(days=1)
    for (at,) in session.execute(
        select(SchemeHit.at).where(
            SchemeHit.scheme_id == scheme_id, SchemeHit.at >= since, SchemeHit.at <= until
        )
    ).tuples():
        key = at.astimezone(zone).date().isoformat()
        if key in days:
            days[key] += 1
    return list(days.items())


def recent(session: Session, scheme_id: int, limit: int = 50) -> list[tuple[Post, dict[str, Any]]]:
    return [
        (post, hit.detail or {})
        for hit, post in session.execute(
            select(SchemeHit, Post)
            .join(Post, Post.id == SchemeHit.post_id)
            .where(SchemeHit.scheme_id == scheme_id)
            .order_by(SchemeHit.at.desc(), Post.id.desc())
            .limit(limit)
        ).tuples()
    ]


def recent_posts(session: Session, scheme_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The latest matches as the console and the CLI show them."""
    return [
        {
            "id": p.id,
            "title": p.title,
            "area": p.area,
            "category": p.category,
            "tier": tier_name(p.severity),
            "tier_label": TIER_LABELS_ZH[p.severity],
            "at": (p.published_at or p.fetched_at).isoformat(),
            "url": p.url,
            "words": d.get("words", []),
        }
        for p, d in recent(session, scheme_id, limit)
    ]


def hit_counts(session: Session, since: datetime, until: datetime) -> dict[int, int]:
    """Matches per scheme in a period (the briefs' section)."""
    return dict(
        session.execute(
            select(SchemeHit.scheme_id, func.count())
            .where(SchemeHit.at >= since, SchemeHit.at < until)
            .group_by(SchemeHit.scheme_id)
        )
        .tuples()
        .all()
    )


def as_dict(scheme: Scheme) -> dict[str, Any]:
    return {
        "id": scheme.id,
        "name": scheme.name,
        "owner": scheme.owner,
        "team_id": scheme.team_id,
        "must": scheme.must,
        "any_of": scheme.any_of,
        "exclude": scheme.exclude,
        "field": scheme.field,
        "sources": scheme.sources,
        "areas": scheme.areas,
        "categories": scheme.categories,
        "alert_tier": tier_name(scheme.alert_severity) if scheme.alert_severity else None,
        "channels": scheme.channels,
        "active": scheme.active,
        "note": scheme.note,
        "created_at": scheme.created_at.isoformat(),
        "updated_at": scheme.updated_at.isoformat(),
    }
