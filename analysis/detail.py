"""One event as the analyst reads it: the page, the API, the CLI and the 事件专报
share this one shape (JSON-ready)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts import views
from alerts.status import ACTION_LABELS_ZH
from store.models import Alert, AuditLog, Event, EventPin, Post, Response
from yuqing.contracts import tier_name

REPLY_ACTIONS = ("reply",)
EFFECT_ZH = {
    "calmed": "已平息（回复后新帖明显减少）",
    "slowing": "趋缓（回复后新帖有所减少）",
    "flared": "再次升温（回复后新帖增多）",
    "unanswered": "尚未回复",
    "too_early": "回复不久，尚难判断",
}


def _when(p: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(p["published_at"] or p["fetched_at"])


def _effect(posts: list[dict[str, Any]], first_reply: datetime | None, now: datetime) -> dict:
    """Posts after the first reply against before it, per day over equal spans
    (at most seven days each side)."""
    if first_reply is None:
        return {"verdict": "unanswered", "label": EFFECT_ZH["unanswered"], "first_reply": None}
    span = min(timedelta(days=7), now - first_reply)
    if span < timedelta(hours=12):
        return {"verdict": "too_early", "label": EFFECT_ZH["too_early"],
                "first_reply": views.iso(first_reply)}  # fmt: skip
    times = [_when(p) for p in posts]
    before = sum(first_reply - span <= t < first_reply for t in times)
    after = sum(first_reply <= t < first_reply + span for t in times)
    if after > before:
        verdict = "flared"
    elif after * 2 <= before:
        verdict = "calmed"
    else:
        verdict = "slowing"
    return {
        "verdict": verdict,
        "label": EFFECT_ZH[verdict],
        "first_reply": views.iso(first_reply),
        "span_hours": round(span.total_seconds() / 3600),
        "posts_before": before,
        "posts_after": after,
    }


def event_summaries(session: Session, *, limit: int = 50, q: str = "") -> list[dict[str, Any]]:
    """Events with two or more posts first, newest activity first (merged-away ones left out)."""
    stmt = (
        select(Event)
        .where(Event.merged_into.is_(None), Event.post_count > 0)
        .order_by((Event.post_count > 1).desc(), Event.last_seen.desc(), Event.id.desc())
        .limit(limit)
    )
    if q:
        stmt = stmt.where(Event.title.contains(q))
    return [
        {
            "id": e.id,
            "title": views.mask_post_text(e.title),
            "category": e.category,
            "area": e.area,
            "severity": e.severity,
            "tier": tier_name(e.severity),
            "post_count": e.post_count,
            "first_seen": views.iso(e.first_seen),
            "last_seen": views.iso(e.last_seen),
        }
        for e in session.scalars(stmt)
    ]


def event_detail(
    session: Session,
    event_id: int,
    now: datetime,
    *,
    teams: Collection[str] | None = None,
    areas: Collection[str] | None = None,
    timezone: str = "Asia/Shanghai",
) -> dict[str, Any]:
    """The event's timeline (views.event_timeline: only the posts in scope; AlertNotFound
    when none is), with sources, authors, spread by local day (``timezone``), places,
    category and tier history, alerts with the responses made, and the after-reply
    effect."""
    ev = session.get(Event, event_id)
    if ev is not None and ev.merged_into is not None:
        out = views.event_timeline(session, ev.merged_into, teams=teams, areas=areas)
        out["merged_from"] = event_id
    else:
        out = views.event_timeline(session, event_id, teams=teams, areas=areas)
    posts = out["posts"]
    eid = out["id"]
    out["sources"] = dict(Counter(p["source"] for p in posts).most_common())
    # distinct by the stored (pseudonymous) author: the masked form shown merges names
    ids = [p["id"] for p in posts]
    out["authors"] = session.execute(
        select(func.count(func.distinct(Post.author))).where(Post.id.in_(ids))
    ).scalar_one()
    out["places"] = dict(Counter(p["area"] for p in posts if p["area"]).most_common())
    out["categories"] = dict(Counter(p["category"] for p in posts if p["category"]).most_common())
    zone = ZoneInfo(timezone)
    days = Counter(_when(p).astimezone(zone).date().isoformat() for p in posts)
    out["spread"] = [{"day": d, "posts": days[d]} for d in sorted(days)]
    history: list[dict[str, Any]] = []
    top = 0
    for p in posts:
        if p["severity"] > top:
            top = p["severity"]
            history.append({"at": p["published_at"] or p["fetched_at"], "tier": p["tier"],
                            "category": p["category"], "what": f"帖子 {p['id']}"})  # fmt: skip
    stmt = select(Alert).where(Alert.event_id == eid).order_by(Alert.opened_at, Alert.id)
    alerts = [a for a in session.scalars(stmt) if teams is None or a.team_id in teams]
    out["alerts"] = []
    replies: list[datetime] = []
    for a in alerts:
        history.append({"at": views.iso(a.opened_at), "tier": tier_name(a.tier),
                        "category": a.category, "what": f"告警 {a.id}"})  # fmt: skip
        responses = list(
            session.scalars(select(Response).where(Response.alert_id == a.id).order_by(Response.at))
        )
        replies += [r.at for r in responses if r.action in REPLY_ACTIONS]
        d = views.alert_as_dict(a)
        d["responses"] = [
            {**views.response_as_dict(r), "label": ACTION_LABELS_ZH.get(r.action, r.action)}
            for r in responses
        ]
        out["alerts"].append(d)
    replies += [_when({"published_at": p["reply_at"], "fetched_at": None}) for p in posts
                if p["reply_at"]]  # fmt: skip
    history.sort(key=lambda h: h["at"] or "")
    out["tier_history"] = history
    out["effect"] = _effect(posts, min(replies) if replies else None, now)
    out["manual"] = [
        {"at": views.iso(a.at), "actor": a.actor, "action": a.action, "detail": a.detail}
        for a in session.scalars(
            select(AuditLog)
            .where(AuditLog.target_type == "event", AuditLog.target_id == str(eid))
            .order_by(AuditLog.at)
        )
    ]
    out["pinned"] = session.execute(
        select(func.count()).where(EventPin.event_id == eid)
    ).scalar_one()
    return out
