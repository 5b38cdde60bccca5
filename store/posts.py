"""Idempotent writes of posts, dead letters and the index outbox.

A crawl or import that is repeated or interrupted loses nothing and duplicates
nothing: every post is upserted by a stable key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import DeadLetterRow, Event, IndexOutbox, Post, PostSighting
from yuqing.contracts import Classification, CrawledPost, DeadLetter, IndexDoc, Segmented

_TRACKING = re.compile(r"^(utm_\w+|spm|from|share_\w+|timestamp|_t|ts)$", re.I)
_SPACE = re.compile(r"\s+")


def canonical_url(url: str) -> str:
    """Lower-case scheme/host, drop fragments, tracking parameters and default ports.

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
    else canonical URL, else source + external id, else source + content.

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
        return "url:" + canonical_url(rewrite(post.url) if rewrite else post.url)
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


def _near_duplicate_event(
    session: Session, sk: tuple[list[int], int], scope: str, now: datetime
) -> int | None:
    from store.crawl_models import PostSketch, SketchBand

    bands = _bands(sk[0])
    candidates = session.execute(
        select(PostSketch.post_id, PostSketch.event_id, PostSketch.signature, PostSketch.shingles)
        .join(Event, Event.id == PostSketch.event_id)
        .where(
            PostSketch.post_id.in_(
                select(SketchBand.post_id).where(SketchBand.value.in_([v for _, v in bands]))
            ),
            PostSketch.scope == scope,
            Event.last_seen >= now - NEAR_DUP_WINDOW,
        )
    ).all()
    best: tuple[float, int] | None = None
    for c in candidates:
        j, contained = resemblance(sk, (list(c.signature), c.shingles))
        if j >= SAME_MATTER_JACCARD or contained >= SAME_MATTER_CONTAINMENT:
            score = max(j, contained)
            if best is None or score > best[0]:
                best = (score, c.event_id)
    return best[1] if best else None


def _keep_sketch(
    session: Session,
    post_id: int,
    event_id: int,
    sk: tuple[list[int], int] | None,
    scope: str | None,
) -> None:
    from store.crawl_models import PostSketch, SketchBand

    if sk is None or scope is None:
        return
    session.add(
        PostSketch(post_id=post_id, event_id=event_id, scope=scope, shingles=sk[1], signature=sk[0])
    )
    session.flush()
    session.execute(
        insert(SketchBand),
        [{"band": b, "value": v, "post_id": post_id} for b, v in _bands(sk[0])],
    )


class Outcome(IntEnum):
    """What storing a post did; false only when nothing changed (a PostSink's
    ``accept`` returns it: truthy for new or changed, as its protocol says)."""

    UNCHANGED = 0
    NEW = 1
    UPDATED = 2


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


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert  # type: ignore[union-attr]


def _event_for(
    session: Session, post: CrawledPost, cls: Classification, now: datetime, post_id: int
) -> int:
    """The event a new post belongs to: the same title's, else a near-duplicate's,
    else a new one."""
    fp = event_fingerprint(post)
    # the sink names the place the text names (yuqing.ingest); without one, no sketch
    scope = post.extra.get("near_dup_scope")
    sk = sketch(post.title, post.text) if scope else None
    event_id = session.execute(select(Event.id).where(Event.fingerprint == fp)).scalar_one_or_none()
    if event_id is None and sk is not None:
        event_id = _near_duplicate_event(session, sk, str(scope), now)
    if event_id is not None:
        _keep_sketch(session, post_id, event_id, sk, scope)
        return event_id
    ins = _insert(session)(Event).values(
        fingerprint=fp,
        title=post.title or post.text[:60],
        category=cls.category,
        area=post.area,
        severity=cls.severity,
        post_count=0,
        first_seen=now,
        last_seen=now,
    )
    session.execute(ins.on_conflict_do_nothing(index_elements=["fingerprint"]))
    event_id = session.execute(select(Event.id).where(Event.fingerprint == fp)).scalar_one()
    _keep_sketch(session, post_id, event_id, sk, scope)
    return event_id


def upsert_post(
    session: Session,
    post: CrawledPost,
    cls: Classification,
    now: datetime,
    rewrite: Callable[[str], str] | None = None,
) -> UpsertResult:
    """Insert or update one post by its stable key; enqueue it for indexing when it changed."""
    key = post_key(post, rewrite)
    digest = content_hash(post.title, post.text)
    if key.startswith("entry:") and post.url:
        _adopt(session, post, key, digest, rewrite)
    values = {
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
        "reasons": list(cls.reasons),
        "model_version": cls.model_version,
        "extra": dict(post.extra),
        "updated_at": now,
    }
    ins = (
        _insert(session)(Post)
        .values(key=key, fetched_at=now, evaluated=False, **values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Post.id)
    )
    new_id = session.execute(ins).scalar_one_or_none()
    if new_id is not None:
        _sighted(session, new_id, post.source, key, now)
        event_id = _event_for(session, post, cls, now, new_id)
        session.execute(update(Post).where(Post.id == new_id).values(event_id=event_id))
        session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(post_count=Event.post_count + 1, last_seen=now)
        )
        enqueue_index(session, new_id, now)
        return UpsertResult(new_id, created=True, changed=True)

    row = session.execute(
        select(
            Post.id,
            Post.source,
            Post.text,
            Post.content_hash,
            Post.likes,
            Post.replies,
            Post.reply_text,
        ).where(Post.key == key)
    ).one()
    _sighted(session, row.id, post.source, key, now)
    if row.source != post.source and len(post.text) <= len(row.text):
        # Another source's copy (e.g. a feed's summary of a board thread): keep the
        # fuller text and its classification, take only newer engagement figures.
        for k in (
            "source",
            "text",
            "title",
            "content_hash",
            "category",
            "category_confidence",
            "uncertain",
            "severity",
            "reasons",
            "model_version",
            "extra",
            "author",
            "published_at",
            "area",
        ):
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
        enqueue_index(session, row.id, now)
    return UpsertResult(row.id, created=False, changed=changed)


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
    url_key = "url:" + canonical_url(rewrite(post.url) if rewrite else post.url)  # type: ignore[arg-type]
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


def _sighted(session: Session, post_id: int, source: str, key: str, now: datetime) -> None:
    ins = _insert(session)(PostSighting).values(
        post_id=post_id, source=source, url_key=key, first_seen=now, last_seen=now
    )
    session.execute(
        ins.on_conflict_do_update(index_elements=["post_id", "source"], set_={"last_seen": now})
    )


def enqueue_index(session: Session, post_id: int, now: datetime, op: str = "upsert") -> None:
    ins = _insert(session)(IndexOutbox).values(
        post_id=post_id, op=op, enqueued_at=now, next_attempt_at=now, attempts=0
    )
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["post_id"],
            set_={"op": op, "next_attempt_at": now, "enqueued_at": now},
        )
    )


def is_seen(
    session: Session, source: str, url: str, rewrite: Callable[[str], str] | None = None
) -> bool:
    """Has *this source* already carried the post at ``url``? (Per source: a feed
    that stored the newest posts first must not stop the board's first crawl.)"""
    key = "url:" + canonical_url(rewrite(url) if rewrite else url)
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
    # An entry re-enqueued while we indexed has a newer enqueued_at and stays queued.
    for e in done:
        session.execute(
            delete(IndexOutbox).where(
                IndexOutbox.id == e.outbox_id, IndexOutbox.enqueued_at == e.enqueued_at
            )
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
