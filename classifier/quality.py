"""Measuring the category model: stratified (grouped) k-fold cross-validation.

Backs ``yuqing classifier evaluate`` and ``make bench``; each fold trains with
:func:`classifier.training.train`, so the measurement covers the real pipeline
(seed examples, calibration) and not a look-alike.

Run by hand: ``python -m classifier.quality FILE.jsonl [TAXONOMY.yaml]``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from classifier.datafile import examples_from_rows
from classifier.params import ModelParams
from classifier.training import train
from yuqing.contracts import LabelledText
from yuqing.settings import TaxonomyFile


def cross_validate(
    examples: Sequence[LabelledText],
    taxonomy: TaxonomyFile,
    folds: int = 5,
    *,
    groups: Sequence[str] | None = None,
    params: ModelParams | None = None,
    uncertain_below: float = 0.35,
    random_state: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Out-of-fold category predictions for every example with a category.

    ``groups`` (e.g. near-duplicate group ids) keeps members of a group in the
    same fold. Returns macro-F1, accuracy, per-class F1, the confusion matrix,
    and how many predictions fall below ``uncertain_below`` (with the accuracy
    of the rest).
    """
    say = progress or (lambda _msg: None)
    idx = [i for i, e in enumerate(examples) if e.category]
    data = [examples[i] for i in idx]
    y = np.array([e.category for e in data], dtype=object)
    if groups is not None:
        if len(groups) != len(examples):
            raise ValueError("groups must have one value per example")
        g = np.array([groups[i] for i in idx], dtype=object)
        splitter: Any = StratifiedGroupKFold(folds, shuffle=True, random_state=random_state)
        splits = splitter.split(np.zeros(len(y)), y, g)
    else:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
        splits = splitter.split(np.zeros(len(y)), y)
    pred = np.empty(len(y), dtype=object)
    conf = np.zeros(len(y))
    fold_f1: list[float] = []
    for k, (tr, te) in enumerate(splits, start=1):
        model = train([data[i] for i in tr], taxonomy, params=params)
        classes, proba = model.predict_category_proba([data[i].text for i in te])
        best = proba.argmax(axis=1)
        pred[te] = [classes[b] for b in best]
        conf[te] = proba[np.arange(len(te)), best]
        fold_f1.append(float(f1_score(y[te], pred[te], average="macro")))
        say(f"fold {k}/{folds}: macro-F1 {fold_f1[-1]:.4f}")
    labels = taxonomy.category_names()
    present = [c for c in labels if c in set(y)]
    per_class = f1_score(y, pred, labels=present, average=None)
    sure = conf >= uncertain_below
    return {
        "n": len(y),
        "folds": folds,
        "grouped": groups is not None,
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro")),
        "macro_f1_fold_mean": float(np.mean(fold_f1)),
        "macro_f1_fold_std": float(np.std(fold_f1)),
        "accuracy": float(accuracy_score(y, pred)),
        "per_class_f1": {c: float(f) for c, f in zip(present, per_class, strict=True)},
        "labels": present,
        "confusion": confusion_matrix(y, pred, labels=present).tolist(),
        "uncertain_below": uncertain_below,
        "uncertain_share": float(1 - sure.mean()),
        "accuracy_when_sure": float(accuracy_score(y[sure], pred[sure])) if sure.any() else None,
    }


def _main(argv: list[str]) -> int:
    import yaml

    if not argv:
        print("usage: python -m classifier.quality FILE.jsonl [TAXONOMY.yaml]", file=sys.stderr)
        return 2
    data = Path(argv[0])
    tax_path = Path(argv[1]) if len(argv) > 1 else Path("config/taxonomy.yaml")
    taxonomy = TaxonomyFile.model_validate(yaml.safe_load(tax_path.read_text(encoding="utf-8")))
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line]
    groups = [str(r.get("dup_group", r.get("id", i))) for i, r in enumerate(rows)]
    result = cross_validate(
        examples_from_rows(rows),
        taxonomy,
        groups=groups,
        progress=lambda m: print(m, file=sys.stderr),
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))


def cross_validate_severity(
    examples: Sequence[LabelledText],
    taxonomy: TaxonomyFile,
    folds: int = 5,
    *,
    params: ModelParams | None = None,
    random_state: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Out-of-fold severity decisions (rubric + learned model + rules, as served) for
    every example with a tier; per-tier metrics and recall/precision for tiers I-II,
    and ``predictions`` (id → decided severity) to compare with other readings."""
    from classifier.report import severity_metrics

    say = progress or (lambda _msg: None)
    data = [e for e in examples if e.severity is not None]
    y = np.array([int(e.severity or 1) for e in data])
    pred = np.zeros(len(y), dtype=int)
    score = np.zeros(len(y))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    for k, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        model = train([data[i] for i in tr], taxonomy, params=params)
        texts = [data[i].text for i in te]
        decided = model.classify_many([""] * len(te), texts)
        pred[te] = [d.severity for d in decided]
        score[te] = model.severity_ranking([""] * len(te), texts)
        say(f"severity fold {k}/{folds}")
    out = severity_metrics(y.tolist(), pred.tolist())
    ids = [e.id if e.id is not None else str(i) for i, e in enumerate(data)]
    out["predictions"] = {i: int(p) for i, p in zip(ids, pred, strict=True)}
    out["scores"] = {i: float(s) for i, s in zip(ids, score, strict=True)}
    out["tiers_I_II_at_recall_0.9"] = precision_at_recall(y >= 3, score, 0.9)
    return out


def precision_at_recall(positive: np.ndarray, score: np.ndarray, target: float) -> dict[str, float]:
    """Precision when everything scoring at least the threshold that first reaches
    ``target`` recall is flagged (ties flagged together), and the recall reached."""
    positive = np.asarray(positive, dtype=bool)
    if not positive.any():
        return {"precision": 0.0, "recall": 0.0, "threshold": float("inf")}
    order = np.argsort(-score, kind="stable")
    found = np.cumsum(positive[order])
    need = int(np.ceil(target * positive.sum()))
    threshold = float(score[order][int(np.argmax(found >= need))])
    flagged = score >= threshold
    hit = int((flagged & positive).sum())
    return {
        "precision": hit / int(flagged.sum()),
        "recall": hit / int(positive.sum()),
        "threshold": threshold,
    }
