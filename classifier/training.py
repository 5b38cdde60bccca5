"""Training the category and severity models, and the workflows around it.

:func:`train` fits both models; :func:`train_with_report` measures on a held-out
share first and then trains the served model on everything; :func:`evaluate` and
:func:`predict_rows` run a model over labelled or unlabelled rows (the CLI and the
console call these).

* Category: TF-IDF over word unigrams plus each token's "_"-marked characters and
  character bigrams (classifier.features.model_input; one vectorizer, no char_wb),
  LinearSVC with balanced class weights, calibrated by CalibratedClassifierCV
  (sigmoid); with too few examples per class, LogisticRegression gives the
  probabilities instead. One seed example per category (name, description,
  keywords) keeps every category alive; seeding each keyword as its own example
  cost ~1 point of macro-F1 on the 962 gov messages, so we do not.
  Grouped 5-fold macro-F1 there: 0.863 with these features, 0.864 with word
  (1-2)-grams + char_wb (1-3)-grams, which took ~1.7x the prediction time
  (both with per-fold calibrated SVMs averaged; one SVM calibrated on its
  out-of-fold scores, the default since 2026-12-07, gives 0.870).
* Severity: a learned "tier I-II or not?" gate beside the rubric, its threshold
  learned on out-of-fold probabilities for a target recall (_learn_threshold).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from classifier.features import (
    category_rows,
    model_input,
    severity_input,
    short_text_features,
    text_features,
)
from classifier.model import TrainedModel
from classifier.params import ModelMeta, ModelParams
from classifier.report import category_metrics, severity_metrics
from classifier.severity import SeverityRubric
from classifier.text import JiebaTokenizer
from yuqing.contracts import LabelledText, tier_name
from yuqing.settings import Category, TaxonomyFile

Progress = Callable[[str], None]


class TrainingDataError(ValueError):
    """Labelled data that cannot train the asked-for model."""


# --------------------------------------------------------------------- fit


def _classifier(
    y: Sequence[Any], params: ModelParams, C: float | None = None
) -> tuple[ClassifierMixin, str]:
    """A probabilistic classifier suited to how many examples each class has."""
    smallest = min(Counter(y).values())
    folds = min(params.calibration_folds, smallest)
    svc = LinearSVC(C=params.C if C is None else C, class_weight="balanced", random_state=0)
    if folds >= 3:
        # An int cv means StratifiedKFold for classifiers and keeps the saved file free
        # of a splitter object skops would ask us to trust.
        ens = params.calibration_ensemble
        clf = CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=ens)
        if params.text_mode == "short" and params.short_nb_weight > 0:
            nb = CalibratedClassifierCV(
                ComplementNB(alpha=0.3), method="sigmoid", cv=folds, ensemble=ens
            )
            w = params.short_nb_weight
            blend = VotingClassifier([("svc", clf), ("nb", nb)], voting="soft", weights=[1 - w, w])
            return blend, f"linearsvc+complementnb-sigmoid-cv{folds}"
        return clf, f"linearsvc+sigmoid-cv{folds}"
    # Too few examples to hold some out for calibration: LR's own probabilities.
    lr = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    return lr, "logistic"


def _learn_threshold(
    X: list[str], y: list[int], rubric_tiers: list[int], params: ModelParams
) -> tuple[float | None, float | None]:
    """The highest I-II thresholds that keep ``severity_target_recall`` (the gate) and
    ``severity_review_recall`` (the desk's second look) on out-of-fold probabilities
    over the training data, rubric evidence counted as found; None when the data is
    too small to hold some out or the recall is not asked for."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    targets = (params.severity_target_recall, params.severity_review_recall)
    high = np.array([t >= 3 for t in y])
    if (
        targets[0] is None
        or min(int(high.sum()), int((~high).sum())) < 2 * params.calibration_folds
    ):
        return None, None
    clf, _ = _classifier(y, params, params.severity_C)
    pipe = Pipeline([("features", text_features(params.for_severity())), ("clf", clf)])
    cv = StratifiedKFold(params.calibration_folds, shuffle=True, random_state=0)
    proba = cross_val_predict(pipe, X, y, cv=cv, method="predict_proba")
    classes = sorted(set(y))
    p_high = proba[:, [i for i, c in enumerate(classes) if c >= 3]].sum(axis=1)
    found_by_rubric = np.array([t >= 3 for t in rubric_tiers])
    rest = np.sort(p_high[high & ~found_by_rubric])[::-1]

    def at(target: float | None) -> float | None:
        if target is None:
            return None
        need = int(np.ceil(target * high.sum())) - int((high & found_by_rubric).sum())
        if need <= 0 or not len(rest):
            return params.severity_min_confidence
        t = float(rest[min(need, len(rest)) - 1])
        return min(max(t, 0.01), params.severity_min_confidence)

    gate, review = at(targets[0]), at(targets[1])
    if gate is not None:
        gate = max(gate, 0.05)
    if review is not None and gate is not None and review >= gate:
        review = None  # nothing between the two: no second look
    return gate, review


def _fit(
    X: list[str] | np.ndarray, y: list[Any], params: ModelParams, C: float | None = None
) -> tuple[Pipeline, str]:
    clf, kind = _classifier(y, params, C)
    feats = short_text_features() if params.text_mode == "short" else text_features(params)
    pipe = Pipeline([("features", feats), ("clf", clf)])
    pipe.fit(X, y)
    return pipe, kind


def _data_hash(
    examples: Sequence[LabelledText],
    taxonomy: TaxonomyFile,
    params: ModelParams,
    fp: dict[str, str],
) -> str:
    h = hashlib.sha256()
    rows = sorted((e.text, e.category or "", e.severity or 0) for e in examples)
    for row in rows:
        h.update(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    h.update(taxonomy.model_dump_json().encode("utf-8"))
    h.update(json.dumps(asdict(params), sort_keys=True).encode("utf-8"))
    h.update(json.dumps(fp, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


def _environment() -> dict[str, str]:
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
    }


def _seed_examples(taxonomy: TaxonomyFile) -> list[tuple[str, str]]:
    return [(c.name, " ".join([c.name, c.description, *c.keywords])) for c in taxonomy.categories]


def train(
    examples: Sequence[LabelledText],
    taxonomy: TaxonomyFile,
    *,
    progress: Progress | None = None,
    params: ModelParams | None = None,
    uncertain_below: float = 0.35,
    clock: Callable[[], datetime] | None = None,
) -> TrainedModel:
    """Train the category and severity models on ``examples``.

    Examples without a category still train severity; examples without a
    severity still train category. Categories must be the taxonomy's.
    """
    params = params or ModelParams()
    say = progress or (lambda _msg: None)
    now = (clock or (lambda: datetime.now(UTC)))().astimezone(UTC)
    known = set(taxonomy.category_names())
    unknown = Counter(e.category for e in examples if e.category and e.category not in known)
    if unknown:
        listed = ", ".join(f"{k!r} ({v})" for k, v in unknown.most_common())
        zh = "、".join(f"{k!r}（{v} 条）" for k, v in unknown.most_common())
        raise ValueError(
            f"样本中有 taxonomy.yaml 没有的类别：{zh} / "
            f"examples use categories not in the taxonomy: {listed}"
        )
    bad_sev = {
        e.severity for e in examples if e.severity is not None and e.severity not in (1, 2, 3, 4)
    }
    if bad_sev:
        raise ValueError(
            f"严重度应为 1-4（4 即 I 级），实际有 {sorted(bad_sev)} / "
            f"severity must be 1-4 (4 = tier I), got {sorted(bad_sev)}"
        )
    if len(known) < 2:
        raise ValueError(
            "taxonomy.yaml 至少要有两个类别才能训练分类器 / "
            "the taxonomy needs at least two categories to train a classifier"
        )

    tokenizer = JiebaTokenizer.from_taxonomy(taxonomy, hmm=params.hmm).fit()
    fp = tokenizer.fingerprint()
    say(f"分词: {len(examples)} 条 ({fp['name']} {fp['version']})")
    normalised = [tokenizer.normalise(e.text) for e in examples]
    tokens = [tokenizer.tokenize_normalised(n) for n in normalised]

    cat_idx = [i for i, e in enumerate(examples) if e.category]
    if params.text_mode == "auto":
        lengths = sorted(len(normalised[i]) for i in cat_idx) or [0]
        short = lengths[len(lengths) // 2] < params.short_text_chars
        # Recorded resolved, so the served model reads what it was trained on.
        params = replace(params, text_mode="short" if short else "long")
    cat_tokens = [tokens[i] for i in cat_idx]
    cat_norm = [normalised[i] for i in cat_idx]
    y_cat = [examples[i].category for i in cat_idx]
    n_real = len(cat_idx)
    if params.seed_examples:
        for name, text in _seed_examples(taxonomy):
            cat_norm.append(tokenizer.normalise(text))
            cat_tokens.append(tokenizer.tokenize_normalised(cat_norm[-1]))
            y_cat.append(name)
    X_cat = category_rows(cat_tokens, cat_norm, params)
    missing = known - set(y_cat)
    if missing:
        raise ValueError(
            f"类别 {sorted(missing)} 没有样本（且 seed_examples 已关闭）/ "
            f"no examples for categories {sorted(missing)} (and seed_examples is off)"
        )
    say(
        f"训练类别模型: {n_real} 条样本 + {len(X_cat) - n_real} 条种子, {len(known)} 类"
        f" ({'短文本' if params.text_mode == 'short' else '长文本'}特征)"
    )
    category_model, cat_kind = _fit(X_cat, [str(y) for y in y_cat], params)

    rubric = SeverityRubric(taxonomy)
    sev_idx = [i for i, e in enumerate(examples) if e.severity is not None]
    sev_hits = [rubric.hits(normalised[i]) for i in sev_idx]
    sev_params = params.for_severity()
    X_sev = [model_input(tokens[i], sev_params) for i in sev_idx]
    if params.severity_rubric_features:
        X_sev = [severity_input(x, h) for x, h in zip(X_sev, sev_hits, strict=True)]
    y_sev = [int(examples[i].severity or 1) for i in sev_idx]
    # The binary gate: 3 stands for "tier I or II", 1 for "III or IV".
    y_fit = [3 if s >= 3 else 1 for s in y_sev] if params.severity_binary else y_sev
    severity_model: Pipeline | None = None
    sev_kind = "rubric-only"
    sev_threshold: float | None = None
    review_threshold: float | None = None
    if len(X_sev) >= params.severity_min_examples and len(set(y_fit)) >= 2:
        say(f"训练严重程度模型: {len(X_sev)} 条样本")
        severity_model, sev_kind = _fit(X_sev, y_fit, sev_params, params.severity_C)
        if params.severity_binary:
            sev_kind = "i-ii-gate:" + sev_kind
        rubric_tiers = [
            rubric.assess(normalised[i], h)[0] or 1 for i, h in zip(sev_idx, sev_hits, strict=True)
        ]
        sev_threshold, review_threshold = _learn_threshold(X_sev, y_fit, rubric_tiers, params)
        if sev_threshold is not None:
            say(
                f"严重程度 I–II 阈值: {sev_threshold:.3f} (训练集交叉验证召回 ≥ "
                f"{params.severity_target_recall})"
            )
        if review_threshold is not None:
            say(f"值班复核线: {review_threshold:.3f} (召回 ≥ {params.severity_review_recall})")
    else:
        say("严重程度: 标注不足, 仅用规则")

    data_hash = _data_hash(examples, taxonomy, params, fp)
    version = f"v{now:%Y%m%dT%H%M%SZ}-{data_hash[:8]}"
    cat_train_acc = (
        float(np.mean(category_model.predict(X_cat[:n_real]) == np.array(y_cat[:n_real])))
        if n_real
        else None
    )
    metrics: dict[str, Any] = {
        "n_examples": len(examples),
        "n_category_examples": n_real,
        "n_seed_examples": len(X_cat) - n_real,
        "n_severity_examples": len(X_sev),
        "category_counts": dict(Counter(str(y) for y in y_cat[:n_real])),
        "severity_counts": {str(k): v for k, v in sorted(Counter(y_sev).items())},
        "category_classifier": cat_kind,
        "severity_classifier": sev_kind,
        "category_train_accuracy": cat_train_acc,
        "severity_high_threshold": sev_threshold,
        "severity_review_threshold": review_threshold,
    }
    meta = ModelMeta(
        version=version,
        created_at=now.isoformat(),
        categories=[str(c) for c in category_model.classes_],
        severities=[] if severity_model is None else [int(c) for c in severity_model.classes_],
        segmenter=fp,
        tokenizer_params=tokenizer.get_params(),
        data_hash=data_hash,
        params=asdict(params),
        metrics=metrics,
        taxonomy=json.loads(taxonomy.model_dump_json()),
        environment=_environment(),
    )
    say(f"完成: {version}")
    return TrainedModel(
        meta=meta,
        tokenizer=tokenizer,
        category_model=category_model,
        severity_model=severity_model,
        uncertain_below=uncertain_below,
    )


# --------------------------------------------------------------- workflows


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
        listed = ", ".join(f"{k!r} ({v})" for k, v in unknown.most_common(5))
        zh = "、".join(f"{k!r}（{v} 条）" for k, v in unknown.most_common(5))
        raise TrainingDataError(
            f"标注中有 taxonomy.yaml 没有的类别：{zh}；请修正标注、修改 config/taxonomy.yaml，"
            "或加 --labels-from-data 按文件自己的类别训练 / "
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
