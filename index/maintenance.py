"""Index upkeep against the system of record: status and rebuild from the store.

The index is derived data. ``rebuild_index`` re-creates it from the posts in
the store without taking search down (see :class:`index.base.Rebuild`);
``index_status`` compares it with the store and reports the outbox backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from index.base import BackendError, SearchBackend

if TYPE_CHECKING:
    from store.db import Store

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(slots=True)
class IndexStatus:
    backend: str
    location: dict[str, str]
    reachable: bool
    documents: int | None  # None when the index cannot be reached
    posts: int
    backlog: int
    failing: int  # queued entries that have failed at least once
    oldest_queued_at: datetime | None
    last_error: str | None
    next_retry_at: datetime | None  # when the entry with that error is tried again
    error: str | None = None  # why the index could not be read

    @property
    def in_step(self) -> bool:
        return self.documents == self.posts and self.backlog == 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("oldest_queued_at", "next_retry_at"):
            out[k] = out[k].isoformat() if out[k] else None
        out["in_step"] = self.in_step
        return out


def index_status(store: Store, backend: SearchBackend) -> IndexStatus:
    from store.models import IndexOutbox, Post

    with store.session() as s:
        posts = s.execute(select(func.count()).select_from(Post)).scalar_one()
        backlog, oldest = s.execute(select(func.count(), func.min(IndexOutbox.enqueued_at))).one()
        failing = s.execute(
            select(func.count()).select_from(IndexOutbox).where(IndexOutbox.attempts > 0)
        ).scalar_one()
        last = s.execute(
            select(IndexOutbox.last_error, IndexOutbox.next_attempt_at)
            .where(IndexOutbox.last_error.is_not(None))
            .order_by(IndexOutbox.next_attempt_at.desc())
            .limit(1)
        ).first()
    info = {"backend": "?"}
    documents: int | None = None
    error = None
    try:
        info = backend.describe()
        documents = backend.count()
    except (BackendError, OSError) as exc:
        error = str(exc)
    return IndexStatus(
        backend=info.pop("backend", "?"),
        location=info,
        reachable=documents is not None,
        documents=documents,
        posts=int(posts),
        backlog=int(backlog),
        failing=int(failing),
        oldest_queued_at=oldest,
        last_error=last[0] if last else None,
        next_retry_at=last[1] if last else None,
        error=error,
    )


@dataclass(slots=True)
class RebuildReport:
    posts: int = 0
    indexed: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    requeued: int = 0  # posts changed during the rebuild, queued again afterwards


def rebuild_index(
    store: Store,
    backend: SearchBackend,
    now: Callable[[], datetime],
    *,
    batch: int = 1000,
    progress: Progress | None = None,
) -> RebuildReport:
    """Re-create the index from every post in the store; the old index serves until the swap.

    Posts that change while the rebuild runs may reach the old index through the
    outbox and then be lost in the swap, so afterwards they are queued again.
    Documents the index rejects are reported and queued, so they stay visible in
    ``yuqing index status`` instead of silently missing.
    """
    from store.models import Post
    from store.posts import enqueue_index, index_doc, mark_index_failed

    started = now()
    report = RebuildReport()
    with store.session() as s:
        report.posts = s.execute(select(func.count()).select_from(Post)).scalar_one()
    if progress:
        progress(0, report.posts)
    job = backend.begin_rebuild()
    try:
        last_id = 0
        while True:
            with store.session() as s:
                posts = list(
                    s.scalars(select(Post).where(Post.id > last_id).order_by(Post.id).limit(batch))
                )
                docs = [index_doc(p) for p in posts]
            if not posts:
                break
            last_id = posts[-1].id
            failures = job.index(docs)
            report.failed += failures
            report.indexed += len(docs) - len(failures)
            if progress:
                progress(report.indexed + len(report.failed), report.posts)
        job.commit()
    except BaseException:
        job.abort()
        raise
    with store.session() as s:
        changed = s.scalars(select(Post.id).where(Post.updated_at >= started)).all()
        t = now()
        for pid in changed:
            enqueue_index(s, pid, t)
        report.requeued = len(changed)
        if report.failed:
            from store.models import IndexOutbox

            for pid, reason in report.failed:
                if pid < 0:
                    continue
                enqueue_index(s, pid, t)
                ob = s.scalars(select(IndexOutbox.id).where(IndexOutbox.post_id == pid)).first()
                if ob is not None:
                    mark_index_failed(s, ob, reason, t)
    return report
