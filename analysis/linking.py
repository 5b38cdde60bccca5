"""Events in the store: linking each batch's new posts, re-clustering, staff's
merge and split.

store.posts calls :class:`Linker` for the posts of a batch that neither share a
title with an event nor are a MinHash near-duplicate of one: it finds candidate
events through ``event_terms`` (their strongest words), scores them with
analysis.events and saves the touched events' profiles and terms at the end.
Event ids are stable: a post joins an existing event, or opens one.

Staff's merges and splits pin posts to events (``event_pins``) and are audited;
:func:`recluster` re-runs the machine over a period and keeps every pin.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from analysis.events import MIN_SHARED, THRESHOLD, WINDOW, Cluster, Item, best_match, vector
from store.models import AuditLog, Event, EventPin, EventTerm, Post
from store.posts import insert_for
from yuqing.contracts import Classification, CrawledPost


def table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


LOOKUP_TERMS = 8  # a post's strongest words used to find candidate events
MAX_CANDIDATES = 400


def item_for(title: str, text: str, at: datetime, category: str | None, scope: str | None,
             area: str | None, tokens: Any = None) -> Item:  # fmt: skip
    """``tokens``: the classifier's Segmented words of the post, reused when given."""
    words = (tokens.title, tokens.text) if tokens is not None else None
    vec = vector(title, text, tokens=words)
    # The post's own place is a gate, not evidence: jieba splits 湖滨社区 into 湖滨 +
    # 社区, and two matters of one community would share 湖滨 and nothing else.
    places = [p for p in (area, scope) if p]
    vec = {w: v for w, v in vec.items() if not any(w in p for p in places)}
    return Item(vec, at, category=category, scope=scope, area=area)


# what a candidate needs of its event: plain rows, not ORM objects (a batch may read
# a few thousand candidate events; building and tracking objects cost more than the SQL)
_CLUSTER_COLUMNS = (Event.id, Event.profile, Event.last_seen, Event.category)


def post_time(published_at: datetime | None, arrived: datetime) -> datetime:
    """When a post was written, for linking: its own time where it has one (a backfill of
    last year's hotline records is last year's matters, not today's), else when it
    arrived; never later than it arrived (a clock ahead on the site)."""
    return min(published_at, arrived) if published_at is not None else arrived


def _cluster(key: Any, ev: Any) -> Cluster:
    profile = ev.profile or {}
    last = profile.get("last_at")  # its newest post's time (profiles since posts' own times)
    return Cluster(
        key,
        centroid=dict(profile.get("terms", {})),
        last_at=datetime.fromisoformat(last) if last else ev.last_seen,
        category=ev.category,
        scopes=set(profile.get("scopes", [])),
        areas=set(profile.get("areas", [])),
        size=int(profile.get("size", 0)),
    )


def _profile(c: Cluster) -> dict[str, Any]:
    return {
        "terms": c.centroid,
        "scopes": sorted(c.scopes),
        "areas": sorted(c.areas),
        "size": c.size,
        "last_at": c.last_at.isoformat() if c.last_at is not None else None,
    }


class Linker:
    """One batch's text linking, inside the batch's transaction."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.loaded: dict[int, Cluster] = {}
        self.fresh: list[Cluster] = []  # events this batch opens (keys: placeholders)
        self.touched: dict[int, Cluster] = {}
        self.by_term: dict[str, dict[int, Cluster]] = {}  # loaded and fresh events by their words
        # the words of this batch's posts: only these are looked up, so only these are
        # indexed (a candidate event has 48 words, most of which no post of the batch has)
        self.vocab: set[str] = set()

    def item(self, post: CrawledPost, cls: Classification, scope: str | None) -> Item:
        at = post_time(post.published_at, self.now)
        return item_for(post.title, post.text, at, cls.category, scope, post.area, cls.tokens)

    def prefetch(self, items: list[Item], known: Collection[int] = ()) -> None:
        """Load the events sharing a strongest word with any of ``items``, and the
        events ``known`` to be joined (the same title's): two queries for the batch."""
        self.vocab.update(w for it in items for w in it.vector)
        ids = sorted(set(known) - set(self.loaded))
        for start in range(0, len(ids), 4000):
            for ev in self.session.connection().execute(
                select(*_CLUSTER_COLUMNS).where(Event.id.in_(ids[start : start + 4000]))
            ):
                self.loaded[ev.id] = _cluster(ev.id, ev)
                self._index(self.loaded[ev.id])
        terms = sorted(
            {
                w
                for it in items
                for w in sorted(it.vector, key=lambda w: -it.vector[w])[:LOOKUP_TERMS]
            }
        )
        if not terms:
            return
        since = min(it.at for it in items) - WINDOW
        rows = self.session.connection().execute(
            select(*_CLUSTER_COLUMNS)
            .where(
                Event.id.in_(select(EventTerm.event_id).where(EventTerm.term.in_(terms))),
                Event.merged_into.is_(None),
                Event.last_seen >= since,
            )
            .order_by(Event.last_seen.desc())
            .limit(MAX_CANDIDATES * max(1, len(items) // 8))
        )
        for ev in rows:
            if ev.id not in self.loaded:
                self.loaded[ev.id] = _cluster(ev.id, ev)
                self._index(self.loaded[ev.id])

    def _index(self, c: Cluster) -> None:
        vocab = self.vocab
        for w in c.centroid:
            if w in vocab:
                self.by_term.setdefault(w, {})[id(c)] = c

    def _learn(self, words: Collection[str]) -> None:
        """Index every known event under ``words`` too (a post matched without having
        been prefetched: not the store's way, but kept exact)."""
        new = set(words) - self.vocab
        if not new:
            return
        self.vocab |= new
        for c in [*self.loaded.values(), *self.fresh]:
            for w in new & c.centroid.keys():
                self.by_term.setdefault(w, {})[id(c)] = c

    def match(self, item: Item) -> Any:
        """The key of the event ``item`` joins (an event id or a placeholder given to
        :meth:`opened`), or None when it opens one."""
        hit = best_match(item, self._near(item))
        return hit.key if hit else None

    def _near(self, item: Item) -> list[Cluster]:
        """The loaded or fresh events sharing a word with ``item`` that can reach the
        threshold, in the order the term index meets them.

        Centroids are unit vectors, so the cosine is the dot product over shared words:
        summed here word by word from the term index, it rules out in one pass the many
        events that share only a common word or two, and ``best_match`` scores the few
        left in full (gates, category margin, which only lowers a score)."""
        self._learn(item.vector.keys())
        dots: dict[int, float] = {}
        shared: dict[int, int] = {}
        found: dict[int, Cluster] = {}
        for w, v in item.vector.items():
            for k, c in self.by_term.get(w, {}).items():
                found[k] = c
                cv = c.centroid.get(w)  # None: a word the centroid has since dropped
                if cv is not None:
                    dots[k] = dots.get(k, 0.0) + v * cv
                    shared[k] = shared.get(k, 0) + 1
        need = min(MIN_SHARED, len(item.vector))
        floor = THRESHOLD - 1e-9  # float sums in another order than events.cosine's
        return [
            c for k, c in found.items() if shared.get(k, 0) >= need and dots.get(k, 0.0) >= floor
        ]

    def add(self, item: Item, key: Any) -> None:
        """``item`` went to the event ``key`` (stored id, or a placeholder)."""
        if isinstance(key, int):
            c = self.loaded.get(key)
            if c is None:
                ev = self.session.get(Event, key)
                c = self.loaded[key] = _cluster(key, ev)
            self.touched[key] = c
        else:
            c = next((f for f in self.fresh if f.key is key), None)
            if c is None:
                c = Cluster(key)
                self.fresh.append(c)
        c.add(item)
        self._index(c)  # its words may have changed

    def save(self, event_id: Callable[[Any], int]) -> None:
        """Write the touched events' profiles and terms; ``event_id`` maps a
        placeholder to the id its event got."""
        done: dict[int, Cluster] = dict(self.touched)
        for c in self.fresh:
            done[event_id(c.key)] = c
        save_profiles(self.session, done)


def save_profiles(session: Session, clusters: dict[int, Cluster]) -> None:
    if not clusters:
        return

    ids = sorted(clusters)
    events = table(Event)
    # the events' rows first, in id order: a second writer touching the same event waits
    # here for the first to commit, and then replaces the terms the first wrote
    session.execute(
        update(events).where(events.c.id == bindparam("eid")).values(profile=bindparam("p")),
        [{"eid": eid, "p": _profile(clusters[eid])} for eid in ids],
    )
    session.execute(delete(EventTerm).where(EventTerm.event_id.in_(ids)))
    rows = [
        {"term": t[:64], "event_id": eid}
        for eid in ids
        for t in sorted(set(clusters[eid].centroid))
    ]
    if rows:
        session.execute(insert_for(session)(table(EventTerm)).on_conflict_do_nothing(), rows)


# ---- staff: merge and split (pins), re-clustering that keeps them


def _audit(session: Session, actor: str, action: str, event_id: int, detail: dict[str, Any],
           now: datetime) -> None:  # fmt: skip
    session.add(AuditLog(at=now, actor=actor, action=action, target_type="event",
                         target_id=str(event_id), detail=detail))  # fmt: skip


def _recount(session: Session, ids: list[int]) -> None:
    for eid in ids:
        n = session.execute(select(func.count()).where(Post.event_id == eid)).scalar_one()
        session.execute(update(Event).where(Event.id == eid).values(post_count=n))


def _reprofile(session: Session, ids: list[int]) -> None:
    clusters: dict[int, Cluster] = {}
    for eid in ids:
        c = Cluster(eid)
        for p in session.scalars(select(Post).where(Post.event_id == eid).order_by(Post.id)):
            c.add(_post_item(p))
        clusters[eid] = c
    save_profiles(session, clusters)


def _post_item(p: Post) -> Item:
    scope = (p.extra or {}).get("near_dup_scope")
    return item_for(p.title, p.text, post_time(p.published_at, p.fetched_at), p.category,
                    str(scope) if scope else None, p.area)  # fmt: skip


class EventError(ValueError):
    pass


def merge(session: Session, source: int, target: int, actor: str, now: datetime) -> int:
    """Staff merge event ``source`` into ``target``: its posts move there, and all the
    target's posts are pinned to it; posts that would join ``source`` (by its title)
    join ``target``. Audited."""
    if source == target:
        raise EventError("an event cannot be merged into itself")
    a, b = session.get(Event, source), session.get(Event, target)
    if a is None or b is None:
        raise EventError(f"event {source if a is None else target} not found")
    while b.merged_into is not None:  # into where the target itself went
        b = session.get(Event, b.merged_into)
        assert b is not None
    moved = list(session.scalars(select(Post.id).where(Post.event_id == source)))
    # staff said these all belong together: the target's own posts are pinned too
    kept = list(session.scalars(select(Post.id).where(Post.event_id == b.id)))
    _pin(session, moved + kept, b.id, actor, now)
    a.merged_into = b.id
    b.first_seen = min(a.first_seen, b.first_seen)
    b.last_seen = max(a.last_seen, b.last_seen)
    b.severity = max(a.severity, b.severity)
    session.flush()
    _recount(session, [source, b.id])
    _reprofile(session, [source, b.id])
    _audit(session, actor, "event.merge", b.id, {"from": source, "into": b.id, "posts": moved},
           now)  # fmt: skip
    return b.id


def split(session: Session, source: int, post_ids: list[int], actor: str, now: datetime) -> int:
    """Staff split ``post_ids`` off event ``source`` into a new event, pinned there (the
    posts left behind are pinned to ``source``). Returns the new event's id. Audited."""
    ev = session.get(Event, source)
    if ev is None:
        raise EventError(f"event {source} not found")
    posts = list(session.scalars(select(Post).where(Post.id.in_(post_ids)).order_by(Post.id)))
    if not posts or any(p.event_id != source for p in posts):
        raise EventError(f"posts {post_ids} are not all in event {source}")
    remaining = session.execute(
        select(func.count()).where(Post.event_id == source, Post.id.not_in(post_ids))
    ).scalar_one()
    if remaining == 0:
        raise EventError("a split must leave at least one post in the event")
    first = posts[0]
    new = Event(
        fingerprint="split:" + hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:26],
        title=first.title or first.text[:60],
        category=first.category,
        area=first.area,
        severity=max(p.severity for p in posts),
        post_count=0,
        first_seen=min(p.fetched_at for p in posts),
        last_seen=max(p.fetched_at for p in posts),
    )
    session.add(new)
    session.flush()
    _pin(session, [p.id for p in posts], new.id, actor, now)
    # and the rest stay where staff saw them
    rest = session.scalars(select(Post.id).where(Post.event_id == source, Post.id.not_in(post_ids)))
    _pin(session, list(rest), source, actor, now)
    session.flush()
    _recount(session, [source, new.id])
    _reprofile(session, [source, new.id])
    _audit(session, actor, "event.split", source,
           {"from": source, "into": new.id, "posts": [p.id for p in posts]}, now)  # fmt: skip
    return new.id


def _pin(session: Session, post_ids: list[int], event_id: int, actor: str, now: datetime) -> None:
    if not post_ids:
        return
    session.execute(delete(EventPin).where(EventPin.post_id.in_(post_ids)))
    session.add_all(EventPin(post_id=p, event_id=event_id, actor=actor, at=now) for p in post_ids)
    session.execute(update(Post).where(Post.id.in_(post_ids)).values(event_id=event_id))


def recluster(
    session: Session, since: datetime, now: datetime, actor: str = "system"
) -> dict[str, int]:
    """Re-run the clustering over the posts fetched since ``since``, in arrival order.
    Pinned posts stay where staff put them (and seed their events); every other post
    joins the best event as at ingest. A cluster keeps the id most of its posts had,
    so ids stay stable; posts no longer linked to anything open events of their own.
    Returns counts (posts, moved, events opened)."""
    posts = list(
        session.scalars(
            select(Post).where(Post.fetched_at >= since).order_by(Post.fetched_at, Post.id)
        )
    )
    pins = dict(session.execute(select(EventPin.post_id, EventPin.event_id)).tuples().all())
    clusters: dict[Any, Cluster] = {}
    members: dict[Any, list[Post]] = {}
    for p in posts:
        item = _post_item(p)
        if p.id in pins:
            key: Any = pins[p.id]
        else:
            free = [c for k, c in clusters.items()]
            hit = best_match(item, free)
            key = hit.key if hit else ("new", p.id)
        c = clusters.setdefault(key, Cluster(key))
        c.add(item)
        members.setdefault(key, []).append(p)
    taken = {k for k in clusters if isinstance(k, int)}
    ids: dict[Any, int] = {}
    opened = 0
    for key, ps in members.items():
        if isinstance(key, int):
            ids[key] = key
            continue
        for old, _ in Counter(p.event_id for p in ps if p.event_id is not None).most_common():
            ev = session.get(Event, old)
            if old not in taken and ev is not None and ev.merged_into is None:
                ids[key] = old
                taken.add(old)
                break
        else:
            first = ps[0]
            ev = Event(
                fingerprint="cluster:" + hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:24],
                title=first.title or first.text[:60], category=first.category, area=first.area,
                severity=max(p.severity for p in ps), post_count=0,
                first_seen=min(p.fetched_at for p in ps), last_seen=max(p.fetched_at for p in ps),
            )  # fmt: skip
            session.add(ev)
            session.flush()
            ids[key] = ev.id
            opened += 1
    moved = 0
    before = {p.id: p.event_id for p in posts}
    for key, ps in members.items():
        for p in ps:
            if p.event_id != ids[key]:
                p.event_id = ids[key]
                moved += 1
    session.flush()
    touched = sorted({*ids.values(), *(e for e in before.values() if e is not None)})
    _recount(session, touched)
    save_profiles(session, {ids[k]: clusters[k] for k in clusters})
    if moved:
        _audit(session, actor, "event.recluster", 0,
               {"since": since.isoformat(), "posts": len(posts), "moved": moved}, now)  # fmt: skip
    return {"posts": len(posts), "moved": moved, "opened": opened}
