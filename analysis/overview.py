"""The 态势 overview: what the situation is, which matters grow, where the alerts are.

Pure queries over the store (JSON-ready dicts), for a period against the one before it,
filtered by area (with everything inside it), category and source, and scoped to the
caller's areas and teams. The console's /overview and /api/v1/overview present them.

- volume: posts per day (per hour for a period of two days or less), this period and
  the previous one side by side, bucket i against bucket i;
- rising: events by growth, not size: posts in the period against the previous one,
  ranked by the smoothed ratio (cur + 1) / (prev + 1), at least two posts this period;
- negative share: the share of posts the negativity model (posts.negativity, a model's
  estimate, said so on the page) scores >= 0.5 among those it scored; where no post of
  either period has a score, the share of tier I-III posts (较大及以上) stands in;
- terms: each event's words (event_terms, the content words linking keeps) counted
  over the posts of the period, against their own baseline (the BASELINE_PERIODS
  periods before it, per period): hot = (cur + a) / (base + a), new = no baseline;
- grids: posts of the period and open alerts per area over the gazetteer's hierarchy
  (areas.yaml), each area's own and its subtree's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from alerts import views
from alerts.status import CLOSED
from store.models import Alert, Event, EventTerm, Post
from yuqing.contracts import tier_name
from yuqing.gazetteer import subtree
from yuqing.settings import AreasFile

NEGATIVE_SEVERITY = 2  # tier III (较大) and above stand in for "negative" until a model does
BASELINE_PERIODS = 4  # a term's baseline: its posts over the four periods before, per period
TERM_SMOOTHING = 2.0  # a: a term with no baseline needs a few posts before it looks hot
HOT_RATIO = 2.0
MIN_TERM_POSTS = 2
RISING_MIN_POSTS = 2
UNPLACED = "（未定位）"
NEGATIVE_SCORE = 0.5  # the negativity model's estimate at which a post counts as negative
NEGATIVE_NOTES = {
    "tier": "本期与上期的帖子都没有情感模型评分：负面占比暂以 I–III 级（较大及以上）帖子占比代替。",
    "model": "负面占比为情感模型的估计（负面倾向 ≥ 0.5 的帖子占已评分帖子的比例），"
    "模型以微博数据训练，请看走势而非单条；没有评分的帖子（模型上线前存入的）不计。",
}


@dataclass(frozen=True, slots=True)
class OverviewQuery:
    since: datetime
    until: datetime
    area: str | None = None
    category: str | None = None
    source: str | None = None
    areas: frozenset[str] | None = None  # the caller's areas (None: everything)
    teams: frozenset[str] | None = None  # the caller's teams, for alerts (None: all)

    @property
    def span(self) -> timedelta:
        return self.until - self.since

    @property
    def prev_since(self) -> datetime:
        return self.since - self.span


def _when() -> ColumnElement[datetime]:
    return func.coalesce(Post.published_at, Post.fetched_at)


def in_period(lo: datetime, hi: datetime) -> ColumnElement[bool]:
    """A post's time (published, else fetched) in [lo, hi), written so that the index on
    published_at serves it (two index ranges; coalesce() itself would read every post)."""
    return or_(
        and_(Post.published_at >= lo, Post.published_at < hi),
        and_(Post.published_at.is_(None), Post.fetched_at >= lo, Post.fetched_at < hi),
    )


def _post_filters(q: OverviewQuery, areas: AreasFile) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    allowed = q.areas
    if q.area:
        inside = subtree(areas, [q.area])
        allowed = inside if allowed is None else allowed & inside
    if allowed is not None:
        out.append(Post.area.in_(sorted(allowed)))
    if q.category:
        out.append(Post.category == q.category)
    if q.source:
        out.append(Post.source == q.source)
    return out


def buckets(q: OverviewQuery, timezone: str) -> tuple[str, list[datetime]]:
    """("day" | "hour", the bucket starts of the period, local midnights or hours)."""
    tz = ZoneInfo(timezone)
    hourly = q.span <= timedelta(days=2)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start = q.since.astimezone(tz)
    start = start.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    out: list[datetime] = []
    t = start
    while t < q.until and len(out) < 400:
        out.append(t)
        t = (t + step).astimezone(tz) if hourly else _next_day(t, tz)
    return ("hour" if hourly else "day"), out


def _next_day(t: datetime, tz: ZoneInfo) -> datetime:
    d = (t.replace(tzinfo=None) + timedelta(days=1)).replace(hour=0)
    return d.replace(tzinfo=tz)


def _bucket_case(starts: list[datetime], when: ColumnElement[datetime]) -> Any:
    """The index of the bucket a time falls in (starts ascending), as one SQL CASE."""
    if len(starts) < 2:
        return literal(0)
    return case(*[(when < s, i - 1) for i, s in enumerate(starts[1:], start=1)],
                else_=len(starts) - 1)  # fmt: skip


def volume(session: Session, q: OverviewQuery, areas: AreasFile, timezone: str) -> dict[str, Any]:
    """Posts per bucket, this period and the previous one (one scan: the previous
    period's buckets are numbered after this period's), with the negative share: by the
    negativity model where posts carry its score, else by tier (see negative_signal)."""
    unit, starts = buckets(q, timezone)
    prev_starts = [s - q.span for s in starts]
    when = _when()
    n = len(starts)
    bucket = case(
        (when >= q.since, _bucket_case(starts, when)), else_=_bucket_case(prev_starts, when) + n
    )
    # grouped over a subquery's column: PostgreSQL would not match a GROUP BY expression
    # that repeats the CASE with its own parameters
    posts = (
        select(
            bucket.label("b"), Post.severity.label("severity"), Post.negativity.label("negativity")
        )  # fmt: skip
        .where(in_period(q.prev_since, q.until), *_post_filters(q, areas))
        .subquery()
    )
    stmt = select(
        posts.c.b,
        func.count(),
        func.sum(case((posts.c.severity >= NEGATIVE_SEVERITY, 1), else_=0)),
        func.count(posts.c.negativity),
        func.sum(case((posts.c.negativity >= NEGATIVE_SCORE, 1), else_=0)),
    ).group_by(posts.c.b)
    rows = {int(r[0]): tuple(int(v or 0) for v in r[1:]) for r in session.execute(stmt)}
    model = any(r[2] for r in rows.values())  # some post in either period was scored
    fmt = "%m-%d %H时" if unit == "hour" else "%m-%d"
    series = []
    for i, s in enumerate(starts):
        c, tier, scored, neg = rows.get(i, (0, 0, 0, 0))
        pc, ptier, pscored, pneg = rows.get(n + i, (0, 0, 0, 0))
        series.append({
            "label": s.strftime(fmt), "at": s.isoformat(), "prev_at": prev_starts[i].isoformat(),
            "posts": c, "prev_posts": pc,
            # the negative share's numerator and denominator, by the signal in use
            "negative": neg if model else tier, "negative_base": scored if model else c,
            "prev_negative": pneg if model else ptier,
            "prev_negative_base": pscored if model else pc,
            "tier_negative": tier, "scored": scored,
        })  # fmt: skip

    def total(key: str) -> int:
        return sum(r[key] for r in series)

    posts_n, prev_n = total("posts"), total("prev_posts")
    neg, base = total("negative"), total("negative_base")
    pneg, pbase = total("prev_negative"), total("prev_negative_base")
    return {
        "bucket": unit,
        "series": series,
        "posts": posts_n,
        "prev_posts": prev_n,
        "change": None if not prev_n else round((posts_n - prev_n) / prev_n, 4),
        "negative_signal": "model" if model else "tier",
        "negative": neg,
        "negative_base": base,
        "negative_share": round(neg / base, 4) if base else None,
        "prev_negative_share": round(pneg / pbase, 4) if pbase else None,
        "scored": total("scored"),
    }


def rising(session: Session, q: OverviewQuery, areas: AreasFile, limit: int = 10) -> list[dict]:
    """Events by growth: posts this period against the previous, smoothed ratio first."""
    when = _when()
    cur = func.sum(case((when >= q.since, 1), else_=0)).label("cur")
    prev = func.sum(case((when < q.since, 1), else_=0)).label("prev")
    stmt = (
        select(Post.event_id, cur, prev)
        .where(
            in_period(q.prev_since, q.until),
            Post.event_id.is_not(None),
            *_post_filters(q, areas),
        )  # fmt: skip
        .group_by(Post.event_id)
        .having(cur >= RISING_MIN_POSTS)
    )
    counts = [(int(e), int(c), int(p)) for e, c, p in session.execute(stmt)]
    counts.sort(key=lambda r: (-(r[1] + 1) / (r[2] + 1), -r[1], r[0]))
    top = counts[:limit]
    events = {
        e.id: e for e in session.scalars(select(Event).where(Event.id.in_([r[0] for r in top])))
    }
    out = []
    for eid, c, p in top:
        ev = events.get(eid)
        if ev is None:
            continue
        out.append({
            "event_id": eid, "title": views.mask_post_text(ev.title), "category": ev.category,
            "area": ev.area, "tier": tier_name(ev.severity), "severity": ev.severity,
            "posts": c, "prev_posts": p, "growth": round((c + 1) / (p + 1), 2),
            "new": p == 0,
        })  # fmt: skip
    return out


def terms(
    session: Session, q: OverviewQuery, areas: AreasFile, limit: int = 15
) -> dict[str, list[dict[str, Any]]]:
    """Hot terms (ratio to their own baseline, smoothed) and new terms (no baseline)."""
    when = _when()
    base_since = q.since - q.span * BASELINE_PERIODS
    # posts per event first, then per word: the join is events x words, not posts x words
    per_event = (
        select(
            Post.event_id.label("event_id"),
            func.sum(case((when >= q.since, 1), else_=0)).label("cur"),
            func.sum(case((when < q.since, 1), else_=0)).label("base"),
        )
        .where(
            in_period(base_since, q.until), Post.event_id.is_not(None), *_post_filters(q, areas)
        )  # fmt: skip
        .group_by(Post.event_id)
        .subquery()
    )
    cur = func.sum(per_event.c.cur)
    stmt = (
        select(EventTerm.term, cur, func.sum(per_event.c.base))
        .join(per_event, per_event.c.event_id == EventTerm.event_id)
        .group_by(EventTerm.term)
        .having(cur >= MIN_TERM_POSTS)
    )
    hot: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for term, c, b in session.execute(stmt):
        c, b = int(c), int(b)
        per_period = b / BASELINE_PERIODS
        ratio = (c + TERM_SMOOTHING) / (per_period + TERM_SMOOTHING)
        row = {"term": term, "posts": c, "baseline": round(per_period, 2),
               "ratio": round(ratio, 2)}  # fmt: skip
        if b == 0:
            new.append(row)
        elif ratio >= HOT_RATIO:
            hot.append(row)
    hot.sort(key=lambda r: (-r["ratio"], -r["posts"], r["term"]))
    new.sort(key=lambda r: (-r["posts"], r["term"]))
    return {"hot": hot[:limit], "new": new[:limit]}


def grids(session: Session, q: OverviewQuery, areas: AreasFile) -> list[dict[str, Any]]:
    """Posts of the period and open alerts per area, over areas.yaml's hierarchy.

    Each node: its own figures (posts placed at it) and its subtree's (``posts_total``,
    ``alerts_total``). Areas outside the caller's scope are left out; posts with no
    known area go to one UNPLACED node. Open alerts are those not closed now, whenever
    they were opened, filtered by area and category (an alert has no source)."""
    posts: dict[str | None, int] = {
        a: int(n)
        for a, n in session.execute(
            select(Post.area, func.count())
            .where(in_period(q.since, q.until), *_post_filters(q, areas))
            .group_by(Post.area)
        )
    }
    alert_where: list[ColumnElement[bool]] = [Alert.status.not_in([str(s) for s in CLOSED])]
    if q.teams is not None:
        alert_where.append(Alert.team_id.in_(sorted(q.teams)))
    if q.category:
        alert_where.append(Alert.category == q.category)
    allowed = q.areas
    if q.area:
        inside = subtree(areas, [q.area])
        allowed = inside if allowed is None else allowed & inside
        alert_where.append(Alert.area.in_(sorted(inside)))
    alerts: dict[str | None, int] = {
        a: int(n)
        for a, n in session.execute(
            select(Alert.area, func.count()).where(and_(*alert_where)).group_by(Alert.area)
        )
    }
    known = areas.all()
    children: dict[str | None, list[str]] = defaultdict(list)
    for name, (_a, parent) in known.items():
        children[parent].append(name)

    def node(name: str) -> dict[str, Any] | None:
        kids = [n for n in (node(c) for c in children.get(name, [])) if n is not None]
        own_p, own_a = posts.get(name, 0), alerts.get(name, 0)
        total_p = own_p + sum(k["posts_total"] for k in kids)
        total_a = own_a + sum(k["alerts_total"] for k in kids)
        if allowed is not None and name not in allowed and not kids:
            return None
        return {
            "name": name, "level": known[name][0].level, "posts": own_p, "alerts": own_a,
            "posts_total": total_p, "alerts_total": total_a, "children": kids,
        }  # fmt: skip

    roots = [n for n in (node(r) for r in children.get(None, [])) if n is not None]
    lost_p = sum(n for a, n in posts.items() if a is None or a not in known)
    lost_a = sum(n for a, n in alerts.items() if a is None or a not in known)
    if lost_p or lost_a:
        roots.append({"name": UNPLACED, "level": "", "posts": lost_p, "alerts": lost_a,
                      "posts_total": lost_p, "alerts_total": lost_a, "children": []})  # fmt: skip
    return roots


def overview(
    session: Session,
    q: OverviewQuery,
    areas: AreasFile,
    timezone: str,
) -> dict[str, Any]:
    """Every figure of the overview, JSON-ready."""
    vol = volume(session, q, areas, timezone)
    tree = grids(session, q, areas)
    return {
        "period": {
            "since": q.since.isoformat(), "until": q.until.isoformat(),
            "prev_since": q.prev_since.isoformat(), "prev_until": q.since.isoformat(),
            "bucket": vol.pop("bucket"),
        },
        "filters": {"area": q.area, "category": q.category, "source": q.source},
        "volume": vol,
        "negative_signal": {"kind": vol["negative_signal"], "min_severity": NEGATIVE_SEVERITY,
                            "min_score": NEGATIVE_SCORE,
                            "note": NEGATIVE_NOTES[vol["negative_signal"]]},
        "rising": rising(session, q, areas),
        "terms": terms(session, q, areas),
        "grids": tree,
        "open_alerts": sum(n["alerts_total"] for n in tree),
    }  # fmt: skip
