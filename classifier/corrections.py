"""Staff corrections and the active-learning queue.

A responder who changes a post's category or tier records a correction; the
post shows the corrected values at once and the next retraining learns from it
(``yuqing classifier train --with-corrections`` or :func:`retrain`). The queue
offers the posts the current model is least sure about, so the staff's labelling
time goes where it teaches the model most.
"""

from __future__ import annotations

from collections.abc import Callable
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
        raise CorrectionError(f"没有帖子 {post_id} / no post {post_id}")
    if category is None and severity is None:
        raise CorrectionError("请给出类别或等级 / a correction needs a category or a severity")
    if category is not None and category not in taxonomy.category_names():
        raise CorrectionError(f"没有这个类别：{category!r} / unknown category {category!r}")
    if severity is not None and severity not in (1, 2, 3, 4):
        raise CorrectionError(
            f"严重度应为 1-4（4 即 I 级），实际是 {severity} / "
            f"severity must be 1-4 (4 = tier I), got {severity}"
        )
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


def least_confident(session: Session, *, limit: int = 50, pool: int = 2000) -> list[int]:
    """Ids of the posts the classifier was least sure of when it graded them (lowest
    category confidence, least-confidence sampling) among the newest ``pool`` posts nobody
    corrected yet. Reads what ingest stored: no model is loaded, so a page can ask."""
    corrected = select(ClassifierCorrection.post_id)
    newest = (
        select(Post.id, Post.category_confidence)
        .where(Post.id.not_in(corrected))
        .order_by(Post.id.desc())
        .limit(pool)
        .subquery()
    )
    rows = session.execute(
        select(newest.c.id).order_by(newest.c.category_confidence, newest.c.id.desc()).limit(limit)
    )
    return [int(i) for i in rows.scalars()]


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
    base: Path,
    session: Session,
    taxonomy: TaxonomyFile,
    model_dir: Path,
    *,
    uncertain_below: float = 0.35,
    holdout: float = 0.2,
    clock: Callable[[], datetime] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TrainedModel, dict[str, Any], Path]:
    """Train on the data the version in ``base`` (its directory) was trained on, read
    again from the recorded files (hash checked), plus every correction; saves a new
    version (not active) that records the same files and the corrections.

    Corrections replace base examples with the same id. Raises
    classifier.provenance.ProvenanceError, naming the file, when the recorded data is
    gone, changed or was never recorded: there is no fallback to other data. Returns
    the model, its report and where it was saved; the caller registers or promotes it.
    """
    from classifier.bootstrap import save_version
    from classifier.datafile import labels_in
    from classifier.provenance import Provenance, load_recorded
    from classifier.report import write_report
    from classifier.training import taxonomy_for_labels, train_with_report

    say = progress or (lambda _m: None)
    recorded = load_recorded(Path(base))
    prov = recorded.provenance
    say(f"基础数据: {prov.describe()}")
    extra = correction_examples(session)
    ids = {e.id for e in extra}
    keep = [i for i, e in enumerate(recorded.examples) if e.id is None or e.id not in ids]
    examples = [recorded.examples[i] for i in keep] + extra
    groups = None
    if recorded.groups is not None:
        groups = [recorded.groups[i] for i in keep] + [str(e.id) for e in extra]
    if prov.labels_from_data:
        taxonomy = taxonomy_for_labels(taxonomy, labels_in(examples))
    model, report = train_with_report(
        examples,
        taxonomy,
        groups=groups,
        holdout=holdout,
        uncertain_below=uncertain_below,
        clock=clock,
        progress=progress,
    )
    new_prov = Provenance(
        sources=list(prov.sources),
        corrections=len(extra),
        labels_from_data=prov.labels_from_data,
        base_version=Path(base).name,
    )
    report["corrections"] = len(extra)
    report["data"] = {"provenance": new_prov.to_dict(), "summary": new_prov.describe()}
    # Embedded data (the demo corpus) is copied along, so the new version does not
    # depend on its predecessor's directory.
    attach = [Path(base) / s.path for s in new_prov.sources if not Path(s.path).is_absolute()]
    path = save_version(model, model_dir, provenance=new_prov, attach=attach)
    write_report(report, path, title=f"模型评估 {model.version}")
    return model, report, path
