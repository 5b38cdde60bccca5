"""Idempotent writes of posts, dead letters and the index outbox.

A crawl or import that is repeated or interrupted loses nothing and duplicates
nothing: every post is upserted by a stable key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import DeadLetterRow, Event, IndexOutbox, Post, PostSighting
from yuqing.contracts import (
    Classification,
    CrawledPost,
    DeadLetter,
    IndexDoc,
    Outcome,
    Segmented,
)

_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_\w+|timestamp|_t|ts)$", re.I)
_SPACE = re.compile(r"\s+")


def url_identity(url: str) -> str:
    """What identifies a post by its URL (the part of its key after "url:"): scheme and
    host lower-cased, fragment, tracking parameters and default port dropped, query
    sorted. Not the crawler's ``page_url`` (what it requests and records): keys of
    stored posts are built with these rules and must not change under them.

    A string urllib cannot read as a URL (a port of 99999, a broken IPv6 host) is
    its own canonical form: the post keeps a stable key instead of failing to store.
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    host = (parts.hostname or "").lower()
    if port and not (
        (parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)
    ):
        host = f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)))
    # .strip(): "http://a/ #top" loses its fragment, and then its trailing space
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, "")).strip()


def content_hash(title: str, text: str) -> str:
    folded = _SPACE.sub("", f"{title}\n{text}")
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


# extra[IDENTITY_KEY]: what tells a post apart when its URL does not (a feed entry
# whose link it shares with other entries: "guid:..." or "link:<url with #fragment>")
IDENTITY_KEY = "identity"
_MAX_IDENTITY = 400  # keys are String(512)


def post_key(post: CrawledPost, rewrite: Callable[[str], str] | None = None) -> str:
    """The post's identity given by its source when there is one (``extra["identity"]``),
    else its URL's identity (url_identity), else source + external id, else source + content.

    ``rewrite`` maps a URL to its stable form first (e.g. a demo site on a new port).
    """
    identity = post.extra.get(IDENTITY_KEY)
    if identity:
        ident = str(identity)
        if ident.startswith("link:") and rewrite:
            ident = "link:" + rewrite(ident[5:])
        if len(ident) > _MAX_IDENTITY:
            ident = "sha256:" + hashlib.sha256(ident.encode("utf-8")).hexdigest()
        return f"entry:{post.source}:{ident}"
    if post.url:
        return "url:" + url_identity(rewrite(post.url) if rewrite else post.url)
    if post.external_id:
        return f"id:{post.source}:{post.external_id}"
    return f"hash:{post.source}:{content_hash(post.title, post.text)}"


def event_fingerprint(post: CrawledPost) -> str:
    # Exact title repeats share an event at once; near-duplicates are found by sketch.
    basis = _SPACE.sub("", post.title or post.text[:80])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


# ---- near-duplicates: MinHash over character bigrams, LSH bands kept in the store
#
# Reposts, copy-paste complaints and a 12345 record of the same matter rarely
# share a title. Each post's MinHash signature is stored with LSH bands; a new
# post looks up posts sharing a band, estimates resemblance, and joins the best
# match's event. Containment (not only Jaccard) decides, because a hotline
# record wraps a resident's words in the operator's boilerplate.

NUM_PERM = 128
BAND_ROWS = 2  # 64 bands of 2 rows: candidates even at a resemblance of 0.2
MIN_SHINGLES = 12  # shorter texts say too little to match on
SAME_MATTER_JACCARD = 0.5
SAME_MATTER_CONTAINMENT = 0.6
NEAR_DUP_WINDOW = timedelta(days=30)  # only events still active are candidates

# Words that every complaint and every hotline record carries: they say nothing
# about which matter it is.
_BOILERPLATE = re.compile(
    "市民来电反映|来电人反映|来电反映|市民反映|群众反映|网友反映|来电人|来电|诉求人|诉求|"
    "反映|投诉|举报|请求|希望|要求|尽快|及时|处理|解决|相关部门|有关部门|领导|您好|你好|谢谢"
)
_NOT_WORD = re.compile(r"[\W\d_*]+")
_PERMUTATIONS: Any = None


def shingles(title: str, text: str) -> set[bytes]:
    """Character bigrams of the post with punctuation, digits, masks and boilerplate removed."""
    folded = _NOT_WORD.sub("", _BOILERPLATE.sub("", f"{title}{text}".lower()))
    return {folded[i : i + 2].encode("utf-8") for i in range(len(folded) - 1)}


def sketch(title: str, text: str) -> tuple[list[int], int] | None:
    """(MinHash signature, shingle count), or None when the text is too short."""
    global _PERMUTATIONS
    from datasketch import MinHash

    grams = shingles(title, text)
    if len(grams) < MIN_SHINGLES:
        return None
    if _PERMUTATIONS is None:
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations
    m = MinHash(num_perm=NUM_PERM, seed=1, permutations=_PERMUTATIONS, scheme="affine32")
    m.update_batch(sorted(grams))
    return [int(v) for v in m.hashvalues], len(grams)


def _bands(signature: list[int]) -> list[tuple[int, int]]:
    out = []
    for b in range(0, len(signature), BAND_ROWS):
        # the band number is hashed in too: one indexed value column finds candidates
        digest = hashlib.blake2b(
            f"{b}:{signature[b : b + BAND_ROWS]}".encode(), digest_size=8
        ).digest()
        out.append((b // BAND_ROWS, int.from_bytes(digest, "big", signed=True)))
    return out


def resemblance(a: tuple[list[int], int], b: tuple[list[int], int]) -> tuple[float, float]:
    """(estimated Jaccard, estimated containment of the smaller in the larger)."""
    (sa, na), (sb, nb) = a, b
    j = sum(x == y for x, y in zip(sa, sb, strict=True)) / len(sa)
    common = j * (na + nb) / (1 + j)
    return j, min(1.0, common / min(na, nb))


def _near_duplicate_candidates(
    session: Session, values: list[int], scopes: set[str]
) -> list[tuple[int, datetime, str, tuple[list[int], int], set[int]]]:
    """Stored sketches sharing a band value with ``values``, in ``scopes``: (event id,
    the event's last_seen, scope, sketch, its band values)."""
    from store.crawl_models import PostSketch, SketchBand

    found: dict[int, tuple[int, datetime, str, tuple[list[int], int], set[int]]] = {}
    for start in range(0, len(values), _IN_CHUNK):
        rows = session.execute(
            select(
                PostSketch.post_id,
                PostSketch.event_id,
                Event.last_seen,
                PostSketch.scope,
                PostSketch.signature,
                PostSketch.shingles,
            )
            .join(Event, Event.id == PostSketch.event_id)
            .where(
                PostSketch.post_id.in_(
                    select(SketchBand.post_id).where(
                        SketchBand.value.in_(values[start : start + _IN_CHUNK])
                    )
                ),
                PostSketch.scope.in_(scopes),
            )
        ).all()
        for r in rows:
            if r.post_id not in found:
                sig = list(r.signature)
                found[r.post_id] = (
                    r.event_id,
                    r.last_seen,
                    r.scope,
                    (sig, r.shingles),
                    {v for _, v in _bands(sig)},
                )
    return list(found.values())


_IN_CHUNK = 4000  # values per IN (...): SQLite binds at most 32,766 per statement


@dataclass(slots=True)
class UpsertResult:
    post_id: int
    created: bool
    changed: bool

    @property
    def outcome(self) -> Outcome:
        if self.created:
            return Outcome.NEW
        return Outcome.UPDATED if self.changed else Outcome.UNCHANGED


def table(model: type[Any]) -> Table:
    """A mapped class's Table, for Core statements (bulk writes skip the ORM's work)."""
    return cast(Table, model.__table__)


def insert_for(session: Session):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert  # type: ignore[union-attr]


@dataclass(slots=True)
class _NewPost:
    post_id: int
    post: CrawledPost
    cls: Classification
    fingerprint: str = ""
    scope: str | None = None
    sketch: tuple[list[int], int] | None = None
    bands: set[int] | None = None
    event: int | _NewEvent | None = None


@dataclass(slots=True)
class _NewEvent:
    values: dict[str, Any]
    id: int | None = None


class EventLinker(Protocol):
    """Joins a batch's new posts to events by their words, in the batch's transaction
    (``analysis.linking.Linker``; the ingest path hands it in). Without one, a post
    joins only the same title's event or a near-duplicate's."""

    def item(self, post: CrawledPost, cls: Classification, scope: str | None) -> Any: ...

    def prefetch(self, items: list[Any], known: Collection[int] = ()) -> None: ...

    def match(self, item: Any) -> Any: ...

    def add(self, item: Any, key: Any) -> None: ...

    def save(self, event_id: Callable[[Any], int]) -> None: ...


LinkerFactory = Callable[[Session, datetime], EventLinker]


def _events_for(
    session: Session, new: list[_NewPost], now: datetime, linking: LinkerFactory | None
) -> list[int]:
    """Each new post's event, in order: the same title's, else a near-duplicate's
    (stored, or earlier in this batch), else a new one. A few statements per batch: the
    titles' events, the candidate sketches, the new events, the new sketches."""
    from store.crawl_models import PostSketch, SketchBand

    for n in new:
        n.fingerprint = event_fingerprint(n.post)
        # the sink names the place the text names (runtime.ingest); without one, no sketch
        n.scope = n.post.scope or None
        n.sketch = sketch(n.post.title, n.post.text) if n.scope else None
        n.bands = {v for _, v in _bands(n.sketch[0])} if n.sketch else None
    fps = sorted({n.fingerprint for n in new})
    by_fp: dict[str, int | _NewEvent] = {}
    for start in range(0, len(fps), _IN_CHUNK):
        chunk = fps[start : start + _IN_CHUNK]
        by_fp.update(
            (fp, into or eid)  # an event staff merged away: its posts go where it went
            for fp, eid, into in session.execute(
                select(Event.fingerprint, Event.id, Event.merged_into).where(
                    Event.fingerprint.in_(chunk)
                )
            ).tuples()
        )
    wanted = sorted({v for n in new if n.bands and n.fingerprint not in by_fp for v in n.bands})
    stored = (
        _near_duplicate_candidates(session, wanted, {n.scope for n in new if n.scope})
        if wanted
        else []
    )
    linker = linking(session, now) if linking is not None else None
    items = [linker.item(n.post, n.cls, n.scope) if linker else None for n in new]
    if linker is not None:
        linker.prefetch(
            [it for n, it in zip(new, items, strict=True) if n.fingerprint not in by_fp],
            [e for e in by_fp.values() if isinstance(e, int)],
        )
    earlier: list[_NewPost] = []  # sketched posts of this batch, their events set
    active = now - NEAR_DUP_WINDOW  # only events still active are candidates
    refreshed: set[int] = set()  # old events a post of this batch joined: active again
    for n, item in zip(new, items, strict=True):
        event = by_fp.get(n.fingerprint)
        if event is None and n.sketch is not None and n.bands is not None:
            best: tuple[float, int | _NewEvent] | None = None
            pool = [
                (e, sc, sk, bands)
                for e, seen, sc, sk, bands in stored
                if seen >= active or e in refreshed
            ]
            pool += [(m.event, m.scope, m.sketch, m.bands) for m in earlier]  # type: ignore[misc]
            for cand_event, cand_scope, cand_sketch, cand_bands in pool:
                if cand_scope != n.scope or not (cand_bands & n.bands):
                    continue
                j, contained = resemblance(n.sketch, cand_sketch)
                if j >= SAME_MATTER_JACCARD or contained >= SAME_MATTER_CONTAINMENT:
                    score = max(j, contained)
                    if best is None or score > best[0]:
                        best = (score, cand_event)
            event = best[1] if best else None
        # analysis.events: content words, place, time and category (no place demanded)
        if event is None and linker is not None:
            event = linker.match(item)
        if event is None:
            event = by_fp[n.fingerprint] = _NewEvent(
                {
                    "fingerprint": n.fingerprint,
                    "title": n.post.title or n.post.text[:60],
                    "category": n.cls.category,
                    "area": n.post.area,
                    "severity": n.cls.severity,
                    "post_count": 0,
                    "first_seen": now,
                    "last_seen": now,
                }
            )
        n.event = event
        if linker is not None:
            linker.add(item, event)
        if isinstance(event, int):
            refreshed.add(event)
        if n.sketch is not None:
            earlier.append(n)
    created = [e for e in by_fp.values() if isinstance(e, _NewEvent)]
    if created:
        events = table(Event)
        ins = insert_for(session)(events).on_conflict_do_nothing(index_elements=["fingerprint"])
        ids = dict(
            session.execute(
                ins.returning(events.c.fingerprint, events.c.id), [e.values for e in created]
            )
            .tuples()
            .all()
        )
        missing = [e.values["fingerprint"] for e in created if e.values["fingerprint"] not in ids]
        if missing:  # another writer stored the same title's event meanwhile: join it
            ids.update(
                session.execute(
                    select(Event.fingerprint, Event.id).where(Event.fingerprint.in_(missing))
                )
                .tuples()
                .all()
            )
        for e in created:
            e.id = ids[e.values["fingerprint"]]
    event_ids = [n.event.id if isinstance(n.event, _NewEvent) else n.event for n in new]
    if linker is not None:
        linker.save(lambda e: e.id)
    sketched = [
        (n.post_id, event_id, n.scope, n.sketch)
        for n, event_id in zip(new, event_ids, strict=True)
        if n.sketch is not None
    ]
    if sketched:
        session.execute(
            insert(table(PostSketch)),
            [
                {"post_id": p, "event_id": e, "scope": sc, "shingles": sk[1], "signature": sk[0]}
                for p, e, sc, sk in sketched
            ],
        )
        session.execute(
            insert(table(SketchBand)),
            [
                {"band": b, "value": v, "post_id": p}
                for p, _, _, sk in sketched
                for b, v in _bands(sk[0])
            ],
        )
    return [cast(int, e) for e in event_ids]


def upsert_post(
    session: Session,
    post: CrawledPost,
    cls: Classification,
    now: datetime,
    rewrite: Callable[[str], str] | None = None,
    linking: LinkerFactory | None = None,
) -> UpsertResult:
    """Insert or update one post by its stable key; enqueue it for indexing when it changed."""
    return upsert_posts(session, [(post, cls)], now, rewrite, linking)[0]


def upsert_posts(
    session: Session,
    items: Sequence[tuple[CrawledPost, Classification]],
    now: datetime,
    rewrite: Callable[[str], str] | None = None,
    linking: LinkerFactory | None = None,
) -> list[UpsertResult]:
    """Insert or update posts by their stable keys, in the caller's transaction, with a
    few statements for the whole batch: one ``INSERT … ON CONFLICT (key) DO NOTHING
    RETURNING`` for the posts, one read of those already stored, one upsert each of the
    sightings and of the index outbox. Events are found post by post, in order, so a post
    may join the event of one before it in the same batch. A key given twice is stored
    twice in order (the later as an update of the earlier), as if one by one."""
    results: list[UpsertResult | None] = [None] * len(items)
    keys = [post_key(post, rewrite) for post, _ in items]
    rounds: list[list[int]] = []
    depth: dict[str, int] = {}
    for i, key in enumerate(keys):
        r = depth[key] = depth.get(key, -1) + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(i)
    for members in rounds:
        _upsert_round(session, items, keys, members, now, rewrite, results, linking)
    return [r for r in results if r is not None]


_OLD_COLUMNS = (
    Post.id,
    Post.key,
    Post.source,
    Post.text,
    Post.content_hash,
    Post.likes,
    Post.replies,
    Post.reply_text,
)
# kept from the fuller copy when another source carries a shorter one
_FULLER_COPY_KEEPS = (
    "source",
    "text",
    "title",
    "content_hash",
    "category",
    "category_confidence",
    "uncertain",
    "severity",
    "severe_p",
    "review",
    "negativity",
    "reasons",
    "model_version",
    "extra",
    "author",
    "published_at",
    "area",
)


def _post_values(
    post: CrawledPost, cls: Classification, digest: str, now: datetime
) -> dict[str, Any]:
    return {
        "source": post.source,
        "external_id": post.external_id,
        "url": post.url,
        "content_hash": digest,
        "title": post.title,
        "text": post.text,
        "author": post.author,
        "published_at": post.published_at,
        "area": post.area,
        "likes": post.likes,
        "replies": post.replies,
        "reply_text": post.reply_text,
        "reply_at": post.reply_at,
        "category": cls.category,
        "category_confidence": cls.category_confidence,
        "uncertain": cls.uncertain,
        "severity": cls.severity,
        "severe_p": cls.severe_p,
        "review": cls.review,
        "negativity": cls.negativity,
        "reasons": list(cls.reasons),
        "model_version": cls.model_version,
        "extra": stored_extra(post, cls),
        "updated_at": now,
    }


def _upsert_round(
    session: Session,
    items: Sequence[tuple[CrawledPost, Classification]],
    keys: list[str],
    members: list[int],
    now: datetime,
    rewrite: Callable[[str], str] | None,
    results: list[UpsertResult | None],
    linking: LinkerFactory | None,
) -> None:
    """Posts ``members`` of ``items``, whose keys are distinct."""
    digests = {i: content_hash(items[i][0].title, items[i][0].text) for i in members}
    for i in members:
        post = items[i][0]
        if keys[i].startswith("entry:") and post.url:
            _adopt(session, post, keys[i], digests[i], rewrite)
    values = {i: _post_values(items[i][0], items[i][1], digests[i], now) for i in members}
    posts = table(Post)
    ins = insert_for(session)(posts).on_conflict_do_nothing(index_elements=["key"])
    created: dict[str, int] = {
        key: pid
        for pid, key in session.execute(
            ins.returning(posts.c.id, posts.c.key),
            [{"key": keys[i], "fetched_at": now, "evaluated": False, **values[i]} for i in members],
        )
    }
    old = {}
    if len(created) < len(members):
        wanted = [keys[i] for i in members if keys[i] not in created]
        old = {r.key: r for r in session.execute(select(*_OLD_COLUMNS).where(Post.key.in_(wanted)))}
    ids = {i: created[keys[i]] if keys[i] in created else old[keys[i]].id for i in members}
    _sighted_many(session, [(ids[i], items[i][0].source, keys[i]) for i in members], now)

    queued: list[int] = []
    new: list[_NewPost] = []
    for i in members:
        post, cls = items[i]
        pid = ids[i]
        if keys[i] in created:
            new.append(_NewPost(pid, post, cls))
            queued.append(pid)
            results[i] = UpsertResult(pid, created=True, changed=True)
            continue
        changed = _update_stored(session, post, values[i], digests[i], old[keys[i]])
        if changed:
            queued.append(pid)
        results[i] = UpsertResult(pid, created=False, changed=changed)
    if new:
        event_ids = _events_for(session, new, now, linking)
        joined: dict[int, int] = {}
        for e in event_ids:
            joined[e] = joined.get(e, 0) + 1
        session.execute(
            update(posts).where(posts.c.id == bindparam("pid")).values(event_id=bindparam("eid")),
            [{"pid": n.post_id, "eid": e} for n, e in zip(new, event_ids, strict=True)],
        )
        events = table(Event)
        session.execute(
            update(events)
            .where(events.c.id == bindparam("eid"))
            .values(post_count=events.c.post_count + bindparam("n"), last_seen=now),
            [{"eid": e, "n": k} for e, k in sorted(joined.items())],
        )
    enqueue_many(session, queued, now)


def _update_stored(
    session: Session, post: CrawledPost, values: dict[str, Any], digest: str, row: Any
) -> bool:
    """Update the stored ``row`` from ``post`` when anything that matters changed."""
    if row.source != post.source and len(post.text) <= len(row.text):
        # Another source's copy (e.g. a feed's summary of a board thread): keep the
        # fuller text and its classification, take only newer engagement figures.
        for k in _FULLER_COPY_KEEPS:
            values.pop(k)
        digest = row.content_hash
    # A feed carries no likes and no official reply: never let it erase what a
    # board page showed. Engagement only grows in practice.
    values["likes"] = max(post.likes, row.likes)
    values["replies"] = max(post.replies, row.replies)
    if not post.reply_text:
        values.pop("reply_text")
        values.pop("reply_at")
    changed = (row.content_hash, row.likes, row.replies, row.reply_text) != (
        digest,
        values["likes"],
        values["replies"],
        values.get("reply_text", row.reply_text),
    )
    if changed:
        # Text changes re-open evaluation (the tier may rise); engagement alone does too.
        session.execute(update(Post).where(Post.id == row.id).values(evaluated=False, **values))
    return changed


def _adopt(
    session: Session,
    post: CrawledPost,
    key: str,
    digest: str,
    rewrite: Callable[[str], str] | None,
) -> None:
    """A feed entry stored under its URL before another entry shared that URL now
    has an identity key: move the stored row to it rather than store it twice."""
    if session.execute(select(Post.id).where(Post.key == key)).first() is not None:
        return
    url_key = "url:" + url_identity(rewrite(post.url) if rewrite else post.url)  # type: ignore[arg-type]
    old = session.execute(
        select(Post.id).where(
            Post.key == url_key, Post.source == post.source, Post.content_hash == digest
        )
    ).scalar_one_or_none()
    if old is not None:
        session.execute(update(Post).where(Post.id == old).values(key=key))
        session.execute(
            update(PostSighting)
            .where(PostSighting.post_id == old, PostSighting.source == post.source)
            .values(url_key=key)
        )


def _sighted_many(session: Session, seen: list[tuple[int, str, str]], now: datetime) -> None:
    """(post id, source, key) sightings: a new one is kept, a known one dated ``now``."""
    if not seen:
        return
    ins = insert_for(session)(table(PostSighting))
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["post_id", "source"], set_={"last_seen": ins.excluded.last_seen}
        ),
        [
            {"post_id": pid, "source": src, "url_key": key, "first_seen": now, "last_seen": now}
            for pid, src, key in sorted(seen)
        ],
    )


def enqueue_index(session: Session, post_id: int, now: datetime, op: str = "upsert") -> None:
    enqueue_many(session, [post_id], now, op)


def enqueue_many(session: Session, post_ids: list[int], now: datetime, op: str = "upsert") -> None:
    """Queue posts for the index (one statement); a post already queued is due again now.
    Rows go in id order here and in the sightings and events, so two writers' batches
    lock shared rows in one order; a deadlock PostgreSQL still finds is an
    OperationalError, and Store.write runs the batch again."""
    if not post_ids:
        return
    ins = insert_for(session)(table(IndexOutbox))
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["post_id"],
            set_={
                "op": ins.excluded.op,
                "next_attempt_at": ins.excluded.next_attempt_at,
                "enqueued_at": ins.excluded.enqueued_at,
            },
        ),
        [
            {"post_id": pid, "op": op, "enqueued_at": now, "next_attempt_at": now, "attempts": 0}
            for pid in sorted(set(post_ids))
        ],
    )


def is_seen(
    session: Session, source: str, url: str, rewrite: Callable[[str], str] | None = None
) -> bool:
    """Has *this source* already carried the post at ``url``? (Per source: a feed
    that stored the newest posts first must not stop the board's first crawl.)"""
    key = "url:" + url_identity(rewrite(url) if rewrite else url)
    q = select(PostSighting.post_id).where(
        PostSighting.url_key == key, PostSighting.source == source
    )
    return session.execute(q).first() is not None


def add_dead_letter(session: Session, letter: DeadLetter, now: datetime) -> int:
    row = DeadLetterRow(
        at=now,
        stage=letter.stage,
        source=letter.source,
        url=letter.url,
        reason=letter.reason,
        payload=_jsonable(letter.payload),
    )
    session.add(row)
    session.flush()
    return row.id


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def index_doc(post: Post) -> IndexDoc:
    return IndexDoc(
        id=post.id,
        title=post.title,
        text=post.text,
        source=post.source,
        category=post.category,
        severity=post.severity,
        area=post.area,
        published_at=post.published_at or post.fetched_at,
        url=post.url,
        event_id=post.event_id,
        tokens=stored_tokens(post.extra),
    )


TOKENS_KEY = "tokens"
SCOPE_KEY = "near_dup_scope"


def stored_extra(post: CrawledPost, cls: Classification) -> dict[str, Any]:
    """``posts.extra`` (JSON): what the source added, the classifier's tokens until
    indexing (segmented once), and the near-duplicate scope the linking reads back."""
    extra = dict(post.extra)
    if cls.tokens is not None:
        extra[TOKENS_KEY] = tokens_extra(cls.tokens)
    if post.scope:
        extra[SCOPE_KEY] = post.scope
    return extra


def tokens_extra(tokens: Segmented) -> dict[str, Any]:
    """The classifier's tokens as kept in ``posts.extra`` (JSON) until indexing."""
    return {"segmenter": tokens.segmenter, "title": list(tokens.title), "text": list(tokens.text)}


def stored_tokens(extra: dict[str, Any] | None) -> Segmented | None:
    """The tokens :func:`tokens_extra` kept, or None when absent or malformed."""
    raw = (extra or {}).get(TOKENS_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return Segmented(str(raw["segmenter"]), tuple(raw["title"]), tuple(raw["text"]))
    except (KeyError, TypeError):
        return None


@dataclass(slots=True)
class OutboxEntry:
    outbox_id: int
    enqueued_at: datetime
    op: str
    post: Post


def due_index_batch(session: Session, now: datetime, limit: int = 500) -> list[OutboxEntry]:
    """Outbox entries whose next attempt is due, oldest first."""
    rows = session.execute(
        select(IndexOutbox, Post)
        .join(Post, Post.id == IndexOutbox.post_id)
        .where(IndexOutbox.next_attempt_at <= now)
        .order_by(IndexOutbox.id)
        .limit(limit)
    ).all()
    return [OutboxEntry(ob.id, ob.enqueued_at, ob.op, p) for ob, p in rows]


def mark_indexed(session: Session, done: list[OutboxEntry]) -> None:
    """Take indexed entries off the outbox (one statement, executed for each entry).
    An entry re-enqueued while we indexed has a newer enqueued_at and stays queued."""
    if not done:
        return
    outbox = table(IndexOutbox)
    session.execute(
        delete(outbox).where(
            outbox.c.id == bindparam("oid"), outbox.c.enqueued_at == bindparam("at")
        ),
        [{"oid": e.outbox_id, "at": e.enqueued_at} for e in done],
    )


def mark_index_failed(session: Session, outbox_id: int, error: str, now: datetime) -> None:
    ob = session.get(IndexOutbox, outbox_id)
    if ob is None:
        return
    ob.attempts += 1
    ob.last_error = error[:2000]
    # Exponential backoff capped at 10 minutes: an index down for hours is retried steadily.
    ob.next_attempt_at = now + timedelta(seconds=min(600, 2 ** min(ob.attempts, 10)))


def index_backlog(session: Session) -> int:
    from sqlalchemy import func

    return session.execute(select(func.count()).select_from(IndexOutbox)).scalar_one()
