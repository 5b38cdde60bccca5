"""Posts' unmasked text, sealed with the raw-text key (kept beside the masked post).

Written by the ingest path, read only by callers that have checked the reader's
role and audit the read (the alert views behind the console's raw-text button).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from store.crawl_models import PostRaw
from store.posts import insert_for, table

if TYPE_CHECKING:
    from yuqing.privacy import PrivacyKeys


def keep_raw(session: Session, post_id: int, ciphertext: str, now: datetime) -> None:
    keep_raw_many(session, [(post_id, ciphertext)], now)


def keep_raw_many(session: Session, sealed: list[tuple[int, str]], now: datetime) -> None:
    """(post id, ciphertext) of posts' unmasked text, inserted or replaced in one statement.
    A post twice in one batch keeps the later text."""
    latest = dict(sealed)
    if not latest:
        return
    ins = insert_for(session)(table(PostRaw))
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["post_id"],
            set_={"ciphertext": ins.excluded.ciphertext, "updated_at": ins.excluded.updated_at},
        ),
        [{"post_id": pid, "ciphertext": ct, "updated_at": now} for pid, ct in latest.items()],
    )


def read_raw(session: Session, post_id: int, keys: PrivacyKeys) -> dict[str, Any] | None:
    """The unmasked title, text, author and reply of a post, or None when not kept.
    For callers that have checked the reader's role (the console's business)."""
    row = session.get(PostRaw, post_id)
    return keys.decrypt(row.ciphertext) if row is not None else None
