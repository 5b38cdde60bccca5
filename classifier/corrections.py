"""Staff corrections and the active-learning queue.

A responder who changes a post's category or tier records a correction; the
post shows the corrected values at once and the next retraining learns from it
(``yuqing classifier train --with-corrections`` or :func:`retrain`). The queue
offers the posts the current model is least sure about, so the staff's labelling
time goes where it teaches the model most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from store.classifier_models import ClassifierCorrection
from store.models import Post
from yuqing.contracts import LabelledText

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from classifier.model import TrainedModel
    from yuqing.settings import TaxonomyFile


class CorrectionError(ValueError):
    """A correction that cannot be recorded (unknown post, category or tier)."""


def record_correction(
    session: Session,
    post_id: int,
    *,
    actor: str,
    at: datetime,
    taxonomy: TaxonomyFile,
    category: str | None = None,
    severity: int | None = None,
    note: str = "",
) -> ClassifierCorrection:
    """Store a correction of ``post_id`` and apply it to the post."""
    post = session.get(Post, post_id)
    if post is None:
        raise CorrectionError(f"no post {post_id}")
    if category is None and severity is None:
        raise CorrectionError("a correction needs a category or a severity")
    if category is not None and category not in taxonomy.category_names():
        raise CorrectionError(f"unknown category {category!r}")
    if severity is not None and severity not in (1, 2, 3, 4):
        raise CorrectionError(f"severity must be 1-4 (4 = tier I), got {severity}")
    row = ClassifierCorrection(
        post_id=post_id,
        at=at,
        actor=actor,
        old_category=post.category,
        new_category=category,
        old_severity=post.severity,
        new_severity=severity,
        note=note,
    )
    session.add(row)
    if category is not None:
        post.category, post.uncertain = category, False
    if severity is not None:
        post.severity = severity
    post.reasons = [*(post.reasons or []), f"人工纠正: {actor}"]
    session.flush()
    return row


def correction_examples(session: Session) -> list[LabelledText]:
    """One example per corrected post with its latest corrected category and tier."""
    latest: dict[int, tuple[str | None, int | None]] = {}
    rows = session.execute(
        select(ClassifierCorrection, Post.title, Post.text)
        .join(Post, Post.id == ClassifierCorrection.post_id)
        .order_by(ClassifierCorrection.id)
    ).all()
    texts: dict[int, str] = {}
    for corr, title, text in rows:
        cat, sev = latest.get(corr.post_id, (None, None))
        latest[corr.post_id] = (corr.new_category or cat, corr.new_severity or sev)
        texts[corr.post_id] = f"{title}\n{text}" if title and not text.startswith(title) else text
    return [
        LabelledText(text=texts[pid], category=cat, severity=sev, id=f"post-{pid}")
        for pid, (cat, sev) in latest.items()
    ]


def uncertainty_queue(
    session: Session,
    model: TrainedModel | Any,
    *,
    limit: int = 50,
    pool: int = 2000,
) -> list[int]:
    """Ids of the posts the model is least sure about (smallest margin between its two
    likeliest categories) among the newest ``pool`` posts nobody corrected yet."""
    corrected = select(ClassifierCorrection.post_id)
    rows = session.execute(
        select(Post.id, Post.title, Post.text)
        .where(Post.id.not_in(corrected))
        .order_by(Post.id.desc())
        .limit(pool)
    ).all()
    if not rows:
        return []
    texts = [f"{t}\n{x}" if t and not x.startswith(t) else x for _, t, x in rows]
    _, proba = model.predict_category_proba(texts)
    top2 = np.sort(proba, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    order = np.argsort(margin, kind="stable")[:limit]
    return [int(rows[i][0]) for i in order]


def retrain(
    base_examples: Sequence[LabelledText],
    session: Session,
    taxonomy: TaxonomyFile,
    model_dir: Path,
    *,
    uncertain_below: float = 0.35,
    clock: Callable[[], datetime] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TrainedModel, dict[str, Any], Path]:
    """Train on ``base_examples`` plus every correction; saves a new version (not active).

    Corrections replace base examples with the same id. Returns the model, its
    report and where it was saved; the caller registers or promotes it.
    """
    from classifier.bootstrap import save_version
    from classifier.report import write_report
    from classifier.training import train_with_report

    extra = correction_examples(session)
    ids = {e.id for e in extra}
    examples = [e for e in base_examples if e.id is None or e.id not in ids] + extra
    model, report = train_with_report(
        examples, taxonomy, uncertain_below=uncertain_below, clock=clock, progress=progress
    )
    report["corrections"] = len(extra)
    path = save_version(model, model_dir)
    write_report(report, path, title=f"模型评估 {model.version}")
    return model, report, path
