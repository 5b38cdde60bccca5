"""Train, evaluate and predict over files: what the CLI and the console call.

Kept apart from classifier/model.py so the model stays a plain object and the
workflow (hold-out report, label sets from data, batched prediction) lives here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from classifier.model import ModelParams, TrainedModel, train
from classifier.report import category_metrics, severity_metrics
from yuqing.contracts import LabelledText, tier_name
from yuqing.settings import Category, TaxonomyFile

Progress = Callable[[str], None]


class TrainingDataError(ValueError):
    """Labelled data that cannot train the asked-for model."""


def taxonomy_for_labels(base: TaxonomyFile, labels: Sequence[str]) -> TaxonomyFile:
    """The deployment's taxonomy with its categories replaced by ``labels``.

    For data with its own label set (another locality's categories, a benchmark):
    keywords of a category that keeps its name are kept; the severity rubric stays.
    """
    old = {c.name: c for c in base.categories}
    cats = [old.get(name) or Category(name=name) for name in sorted(set(labels))]
    return base.model_copy(update={"categories": cats})


def check_labels(examples: Sequence[LabelledText], taxonomy: TaxonomyFile) -> None:
    known = set(taxonomy.category_names())
    unknown = Counter(e.category for e in examples if e.category and e.category not in known)
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in unknown.most_common(5))
        raise TrainingDataError(
            f"labels not in the taxonomy: {listed}; fix the labels, edit config/taxonomy.yaml, "
            "or pass --labels-from-data to train on the file's own label set"
        )


def evaluate(model: TrainedModel, examples: Sequence[LabelledText]) -> dict[str, Any]:
    """Category metrics (on examples with a category) and severity metrics (with a tier)."""
    report: dict[str, Any] = {
        "model": {"version": model.version, "data_hash": model.meta.data_hash[:16]}
    }
    cat = [e for e in examples if e.category]
    if cat:
        classes, proba = model.predict_category_proba([e.text for e in cat])
        report["category"] = category_metrics(
            [e.category or "" for e in cat], classes, proba, uncertain_below=model.uncertain_below
        )
    sev = [e for e in examples if e.severity is not None]
    if sev:
        decided = model.classify_many([""] * len(sev), [e.text for e in sev])
        report["severity"] = severity_metrics(
            [int(e.severity or 1) for e in sev], [d.severity for d in decided]
        )
    return report


def holdout_split(
    examples: Sequence[LabelledText],
    groups: Sequence[str] | None,
    share: float,
    seed: int = 0,
) -> tuple[list[int], list[int]] | None:
    """Indices (train, test) keeping groups together, stratified by category; None when
    the data is too small for a meaningful hold-out."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = [e.category or f"severity-{e.severity}" for e in examples]
    counts = Counter(y)
    k = max(2, round(1 / share)) if share > 0 else 0
    if not k or len(examples) < 5 * k or min(counts.values()) < 2:
        return None
    g = list(groups) if groups is not None else [str(i) for i in range(len(examples))]
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    tr, te = next(splitter.split(np.zeros(len(y)), y, g))
    return [int(i) for i in tr], [int(i) for i in te]


def train_with_report(
    examples: Sequence[LabelledText],
    taxonomy: TaxonomyFile,
    *,
    groups: Sequence[str] | None = None,
    holdout: float = 0.2,
    params: ModelParams | None = None,
    uncertain_below: float = 0.35,
    progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Measure on a hold-out share first, then train the served model on everything."""
    say = progress or (lambda _m: None)
    check_labels(examples, taxonomy)
    report: dict[str, Any] = {}
    split = holdout_split(examples, groups, holdout) if holdout > 0 else None
    if split is not None:
        tr, te = split
        say(f"评估: 留出 {len(te)} 条 ({holdout:.0%}), 用其余 {len(tr)} 条训练")
        trial = train(
            [examples[i] for i in tr],
            taxonomy,
            params=params,
            uncertain_below=uncertain_below,
            clock=clock,
        )
        report = evaluate(trial, [examples[i] for i in te])
        report["evaluation"] = f"hold-out {len(te)} of {len(examples)}, groups kept together"
    elif holdout > 0:
        report["evaluation"] = "skipped: too few examples per class for a hold-out"
        say("评估: 样本太少, 跳过留出评估")
    say(f"训练最终模型: 全部 {len(examples)} 条")
    model = train(
        examples,
        taxonomy,
        params=params,
        uncertain_below=uncertain_below,
        progress=say,
        clock=clock,
    )
    cat = report.get("category")
    if cat:
        model.meta.metrics["holdout_macro_f1"] = cat["macro_f1"]
        model.meta.metrics["holdout_accuracy"] = cat["accuracy"]
    sev = report.get("severity")
    if sev:
        model.meta.metrics["holdout_tiers_I_II"] = sev["tiers_I_II"]
    report["model"] = {
        "version": model.version,
        "data_hash": model.meta.data_hash[:16],
        "examples": len(examples),
        "category_classifier": model.meta.metrics.get("category_classifier"),
        "severity_classifier": model.meta.metrics.get("severity_classifier"),
    }
    return model, report


def predict_rows(
    model: Any,
    ids: Sequence[str],
    texts: Sequence[str],
    *,
    likes: Sequence[int] | None = None,
    replies: Sequence[int] | None = None,
    batch: int = 256,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """One output object per input text, in order, classified ``batch`` at a time."""
    n = len(texts)
    for start in range(0, n, batch):
        end = min(n, start + batch)
        decided = model.classify_many(
            [""] * (end - start),
            texts[start:end],
            likes=None if likes is None else likes[start:end],
            replies=None if replies is None else replies[start:end],
        )
        for i, d in zip(range(start, end), decided, strict=True):
            yield {
                "id": ids[i],
                "category": d.category,
                "category_confidence": round(d.category_confidence, 4),
                "uncertain": d.uncertain,
                "severity": d.severity,
                "tier": tier_name(d.severity),
                "reasons": d.reasons,
                "model_version": d.model_version,
            }
        if on_batch is not None:
            on_batch(end - start)
