"""Category and severity models: training, classifying, saving and loading.

Design notes
------------
* Texts are tokenised by :class:`classifier.text.JiebaTokenizer` *outside* the
  scikit-learn pipelines; the pipelines see space-joined tokens and split them
  with a plain ``token_pattern``. A custom tokenizer callable inside a pipeline
  cannot be loaded by skops without trusting arbitrary code, and the jieba
  dictionary does not belong in a model file. The tokeniser is rebuilt from
  ``meta.json`` on load and must reproduce the recorded fingerprint.
* Category: TF-IDF over word unigrams plus each token's "_"-marked characters and
  character bigrams (see model_input; one vectorizer, no char_wb), LinearSVC with balanced
  class weights, calibrated by CalibratedClassifierCV (sigmoid); with too few
  examples per class, LogisticRegression gives the probabilities instead.
  One seed example per category (name, description, keywords) keeps every
  category alive; seeding each keyword as its own example cost ~1 point of
  macro-F1 on the 962 gov messages, so we do not.
  Grouped 5-fold macro-F1 there: 0.863 with these features, 0.864 with word
  (1-2)-grams + char_wb (1-3)-grams, which took ~1.7x the prediction time
  (both with per-fold calibrated SVMs averaged; one SVM calibrated on its
  out-of-fold scores, the default since 2026-12-07, gives 0.870).
* Severity: max(rubric evidence, learned model when confident), then at most
  one tier up for very high engagement while the post is at tier IV or III.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from classifier.severity import RubricHit, SeverityRubric, feature_tokens, tier_text
from classifier.text import JiebaTokenizer, taxonomy_words
from yuqing.contracts import Classification, CrawledPost, LabelledText, Segmented
from yuqing.settings import TaxonomyFile

Progress = Callable[[str], None]

# Texts are cut to this many characters before tokenising: a 1 MB "post" is not a
# message, and jieba would spend seconds on it (the reasons say when it happened).
MAX_TEXT_CHARS = 20_000

META_FILE = "meta.json"
CATEGORY_FILE = "category.skops"
SEVERITY_FILE = "severity.skops"
FORMAT = 1

# Types skops does not trust by default that our pipelines contain. save() checks
# the dumped file against this list, so a new scikit-learn that adds a type fails
# loudly at training time, not silently at load time.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # A dict subclass (VotingClassifier.named_estimators_, ColumnTransformer's
    # named_transformers_); skops rebuilds it from its items, running no code.
    "sklearn.utils._bunch.Bunch",
)


class ModelLoadError(Exception):
    """A saved model is missing, damaged, or cannot be served by this process."""


class ModelMismatchError(ModelLoadError):
    """The model was trained with another segmenter, dictionary or taxonomy."""


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Training and decision parameters; stored with every model."""

    word_ngrams: tuple[int, int] = (1, 1)
    char_ngrams: tuple[int, int] = (1, 2)
    # "char_wb": n-grams inside each token; "char": across token boundaries too.
    char_analyzer: str = "char_wb"
    # jieba's HMM for unknown words. Off, prediction runs ~1.3x faster, but grouped
    # 5-fold macro-F1 on the 962 gov messages fell from 0.861 to 0.855-0.859.
    hmm: bool = True
    # Each token of 2+ characters also yields its characters (and, from 3, its
    # character bigrams) as marked tokens, so one word vectorizer sees what a
    # char_wb vectorizer would: +1.5 points of macro-F1 on the gov messages with
    # a plain SVM, at 60% of the vectorizing time. Off: a char_wb vectorizer.
    subtoken_features: bool = True
    C: float = 1.0
    # "short" texts (titles, headlines) have few words: the category model reads
    # word unigrams plus character (1-3)-grams over the whole normalised text, across
    # word boundaries and punctuation, and blends a calibrated ComplementNB into the
    # calibrated SVM. 5-fold accuracy on 10,000 news titles: 0.863 against 0.843 with
    # the "long" features below, which keep grouped macro-F1 0.863 on the gov
    # messages where the short features fell to 0.84. "auto" picks "short" when the
    # median training text is under short_text_chars characters, and records it.
    text_mode: str = "auto"
    short_text_chars: int = 60
    short_nb_weight: float = 0.3
    calibration_folds: int = 5
    # One SVM fit on all the data, calibrated on its out-of-fold scores, instead of the
    # average of one calibrated SVM per fold: grouped 5-fold macro-F1 on the gov
    # messages 0.870 against 0.863, news titles unchanged (0.863), less work per post.
    calibration_ensemble: bool = False
    seed_examples: bool = True
    severity_min_examples: int = 8
    # The severity model only raises a tier when it is at least this sure.
    severity_min_confidence: float = 0.6
    # A missed severe post is the costly error: when the learned model gives tiers
    # I-II together at least this probability, the post is raised to tier II. With
    # severity_target_recall set, training replaces it by a threshold learned on the
    # training data's own out-of-fold probabilities (meta.metrics).
    severity_high_threshold: float = 0.3
    # The learned severity model answers one question, "tier I-II or not?" (classes
    # 1 and 3); the rubric tells I from II and III from IV. On the 631 labelled posts
    # this gate beat a four-tier model's summed I-II probability by ~3 points of
    # precision at recall 0.9, and needs only a third of the examples per class.
    severity_binary: bool = True
    # The I-II threshold is the highest that keeps this recall (rubric and model
    # together) on out-of-fold predictions over the training data. None: use
    # severity_high_threshold as given. 0.92, not 0.9: a threshold learned on the
    # training folds lands below its target held out (0.887 for 0.9 on the 2,889 read
    # messages, 0.909 for 0.92), and with the duty desk triaging machine-only tier I-II
    # alerts (alerts/triage.py) a missed severe post costs more than a false one the
    # desk dismisses.
    severity_target_recall: float | None = 0.92
    # The duty desk's second look (复核): a post below the I-II threshold whose
    # probability still clears the threshold learned for this higher recall is marked
    # ``review`` and shown to the desk as "possibly tier II" (alerts/triage.py). The
    # desk reads it; the team is not paged on it. None: no review mark.
    severity_review_recall: float | None = 0.97
    # Rubric hits ("__r3", "__t_火灾") as extra tokens for the severity model, so it
    # learns how much each term means in this locality's posts.
    severity_rubric_features: bool = True
    severity_C: float = 0.3
    # The severity model reads whole tokens plus char_wb (1-2)-grams, not sub-token
    # features: precision at recall 0.9 was 0.64 against 0.62 with sub-tokens.
    severity_subtoken_features: bool = False
    # Engagement that lifts a tier IV/III post one tier.
    likes_high: int = 300
    replies_high: int = 100

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelParams:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        for k in ("word_ngrams", "char_ngrams"):
            if k in known:
                known[k] = tuple(known[k])
        # Models saved before the option existed used the char_wb vectorizer.
        known.setdefault("subtoken_features", False)
        known.setdefault("text_mode", "long")
        # ... and a four-tier severity model on text alone, C shared with categories.
        known.setdefault("severity_binary", False)
        known.setdefault("severity_rubric_features", False)
        known.setdefault("severity_target_recall", None)
        known.setdefault("severity_review_recall", None)
        known.setdefault("severity_C", known.get("C", 1.0))
        known.setdefault("calibration_ensemble", True)
        known.setdefault("severity_subtoken_features", known["subtoken_features"])
        return cls(**known)

    def for_severity(self) -> ModelParams:
        """The same parameters as the severity pipeline sees them (its own features)."""
        return replace(self, subtoken_features=self.severity_subtoken_features, text_mode="long")


@dataclass(slots=True)
class ModelMeta:
    """Everything meta.json records about one trained model."""

    version: str
    created_at: str
    categories: list[str]
    severities: list[int]
    segmenter: dict[str, str]
    tokenizer_params: dict[str, Any]
    data_hash: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    taxonomy: dict[str, Any]
    environment: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT
    # SHA-256 of each model file: an edited or swapped file is refused on load.
    files: dict[str, str] = field(default_factory=dict)


def model_input(tokens: Sequence[str], params: ModelParams) -> str:
    """What the pipelines read for one text: its tokens, space-joined, plus (with
    ``subtoken_features``) "_"-marked characters and character bigrams of each token."""
    if not params.subtoken_features:
        return " ".join(tokens)
    return " ".join([*tokens, *filter(None, map(_subtokens, tokens))])


@lru_cache(maxsize=1 << 17)
def _subtokens(token: str) -> str:
    # Posts repeat a small vocabulary: cached, this is a quarter of the uncached time.
    if len(token) < 2:
        return ""
    out = ["_" + c for c in token]
    if len(token) > 2:
        out.extend("_" + token[i : i + 2] for i in range(len(token) - 1))
    return " ".join(out)


def category_rows(
    tokens: Sequence[Sequence[str]], normalized: Sequence[str], params: ModelParams
) -> list[str] | np.ndarray:
    """The category pipeline's input: model_input() strings ("long"), or rows of
    (space-joined tokens, normalised text) for the "short" features."""
    if params.text_mode == "short":
        rows = np.empty((len(tokens), 2), dtype=object)
        rows[:, 0] = [" ".join(t) for t in tokens]
        rows[:, 1] = list(normalized)
        return rows
    return [model_input(t, params) for t in tokens]


def _short_features() -> ColumnTransformer:
    # Column 0: tokens; column 1: the normalised text for character n-grams.
    return ColumnTransformer(
        [
            ("words", TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True), 0),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char", ngram_range=(1, 3), lowercase=False, sublinear_tf=True
                ),
                1,
            ),
        ]
    )


def _features(params: ModelParams) -> FeatureUnion:
    # Input is model_input(); \S+ recovers its tokens without a callable.
    parts: list[tuple[str, Any]] = [
        (
            "words",
            TfidfVectorizer(
                token_pattern=r"\S+",
                lowercase=False,
                ngram_range=params.word_ngrams,
                sublinear_tf=True,
            ),
        )
    ]
    if not params.subtoken_features:
        parts.append(
            (
                "chars",
                TfidfVectorizer(
                    analyzer=params.char_analyzer,
                    lowercase=False,
                    ngram_range=params.char_ngrams,
                    sublinear_tf=True,
                ),
            )
        )
    return FeatureUnion(parts)


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


def severity_input(joined: str, hits: list[RubricHit]) -> str:
    """The severity model's input: the category model's, plus the rubric's evidence."""
    extra = feature_tokens(hits)
    return f"{joined} {' '.join(extra)}" if extra else joined


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
    pipe = Pipeline([("features", _features(params.for_severity())), ("clf", clf)])
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
    feats = _short_features() if params.text_mode == "short" else _features(params)
    pipe = Pipeline([("features", feats), ("clf", clf)])
    pipe.fit(X, y)
    return pipe, kind


def _join(title: str, text: str) -> str:
    title, text = (title or "").strip(), (text or "").strip()
    if not title or text.startswith(title):
        return text or title
    return f"{title}\n{text}"


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


class TrainedModel:
    """A trained category + severity model ready to classify posts."""

    def __init__(
        self,
        *,
        meta: ModelMeta,
        tokenizer: JiebaTokenizer,
        category_model: Pipeline,
        severity_model: Pipeline | None,
        uncertain_below: float = 0.35,
    ) -> None:
        self.meta = meta
        self.tokenizer = tokenizer
        self.category_model = category_model
        self.severity_model = severity_model
        self.uncertain_below = uncertain_below
        self.taxonomy = TaxonomyFile.model_validate(meta.taxonomy)
        self.params = ModelParams.from_dict(meta.params)
        self.rubric = SeverityRubric(self.taxonomy)
        self.segmenter_key = tokenizer.segmenter_key
        learned = meta.metrics.get("severity_high_threshold")
        self.severity_threshold = float(
            learned if learned is not None else self.params.severity_high_threshold
        )
        review = meta.metrics.get("severity_review_threshold")
        self.review_threshold = None if review is None else float(review)
        self._keywords = {
            c.name: frozenset(k.lower() for k in c.keywords) for c in self.taxonomy.categories
        }

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def categories(self) -> list[str]:
        return list(self.meta.categories)

    # --------------------------------------------------------------- predict
    def predict_category_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Class names and calibrated probabilities (rows: texts), no thresholding."""
        tk = self.tokenizer
        normalized = [tk.normalize(_join("", t)[:MAX_TEXT_CHARS]) for t in texts]
        tokens = [tk.tokenize_normalized(s) for s in normalized]
        proba = self.category_model.predict_proba(category_rows(tokens, normalized, self.params))
        return [str(c) for c in self.category_model.classes_], proba

    def classify(
        self, title: str, text: str, *, likes: int = 0, replies: int = 0
    ) -> Classification:
        return self.classify_many([title], [text], likes=[likes], replies=[replies])[0]

    def classify_posts(self, posts: Sequence[CrawledPost]) -> list[Classification]:
        return self.classify_many(
            [p.title for p in posts],
            [p.text for p in posts],
            likes=[p.likes for p in posts],
            replies=[p.replies for p in posts],
        )

    def classify_many(
        self,
        titles: Sequence[str],
        texts: Sequence[str],
        *,
        likes: Sequence[int] | None = None,
        replies: Sequence[int] | None = None,
    ) -> list[Classification]:
        if len(titles) != len(texts):
            raise ValueError(f"{len(titles)} titles but {len(texts)} texts")
        n = len(texts)
        if n == 0:
            return []
        likes = list(likes) if likes is not None else [0] * n
        replies = list(replies) if replies is not None else [0] * n
        if len(likes) != n or len(replies) != n:
            raise ValueError("likes and replies must have one value per text")
        cut: list[bool] = []
        normalized: list[str] = []
        tokens: list[list[str]] = []
        kept: list[Segmented | None] = []
        for title, text in zip(titles, texts, strict=True):
            norm, toks, seg = self._segment(title or "", text or "")
            cut.append(seg is None and len(_join(title, text)) > MAX_TEXT_CHARS)
            normalized.append(norm)
            tokens.append(toks)
            kept.append(seg)
        joined = category_rows(tokens, normalized, self.params)
        hits = [self.rubric.hits(s) for s in normalized]
        cat_classes = [str(c) for c in self.category_model.classes_]
        cat_proba = self.category_model.predict_proba(joined)
        sev_classes = (
            [] if self.severity_model is None else [int(c) for c in self.severity_model.classes_]
        )
        sev_proba = self._severity_proba(tokens, joined, hits)
        out: list[Classification] = []
        for i in range(n):
            reasons: list[str] = []
            if cut[i]:
                reasons.append(f"文本过长, 只分析前 {MAX_TEXT_CHARS} 字")
            if tokens[i]:
                category, confidence, uncertain = self._decide_category(
                    cat_classes, cat_proba[i], tokens[i], reasons
                )
            else:
                category, confidence, uncertain = self.taxonomy.uncertain_label, 0.0, True
                reasons.append(f"类别: 文本为空或无可识别词语, 转{category}")
            sev_row = None if sev_proba is None else sev_proba[i]
            severity, p_high, review = self._decide_severity(
                normalized[i],
                hits[i],
                sev_classes,
                sev_row,
                likes[i] or 0,
                replies[i] or 0,
                reasons,
            )
            out.append(
                Classification(
                    category=category,
                    category_confidence=confidence,
                    severity=severity,
                    reasons=reasons,
                    model_version=self.version,
                    uncertain=uncertain,
                    tokens=kept[i],
                    severe_p=p_high,
                    review=review,
                )
            )
        return out

    def _severity_proba(
        self,
        tokens: Sequence[Sequence[str]],
        joined: list[str] | np.ndarray,
        hits: Sequence[list[RubricHit]],
    ) -> np.ndarray | None:
        """The learned severity model's probabilities (None without one); ``joined`` is
        the category input, reused when the severity features are the same."""
        if self.severity_model is None:
            return None
        sp = self.params.for_severity()
        sev_input = joined
        if not isinstance(joined, list) or sp.subtoken_features != self.params.subtoken_features:
            sev_input = [model_input(t, sp) for t in tokens]
        if sp.severity_rubric_features:
            sev_input = [severity_input(j, h) for j, h in zip(sev_input, hits, strict=True)]
        return self.severity_model.predict_proba(sev_input)

    def severity_ranking(self, titles: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """How strongly the machine reads each post as tier I-II, for ranking and
        precision-at-recall measurement: the learned model's I-II probability, plus 1
        when the rubric alone already gives tier II or above (those are always raised,
        so they rank first). No engagement: the text alone."""
        if len(titles) != len(texts):
            raise ValueError(f"{len(titles)} titles but {len(texts)} texts")
        segmented = [self._segment(t or "", x or "") for t, x in zip(titles, texts, strict=True)]
        normalized = [s[0] for s in segmented]
        tokens = [s[1] for s in segmented]
        hits = [self.rubric.hits(s) for s in normalized]
        p_high = np.zeros(len(texts))
        proba = self._severity_proba(tokens, category_rows(tokens, normalized, self.params), hits)
        if proba is not None and self.severity_model is not None:
            high = [i for i, c in enumerate(self.severity_model.classes_) if int(c) >= 3]
            p_high = proba[:, high].sum(axis=1)
        found = [
            (self.rubric.assess(s, h)[0] or 1) >= 3 for s, h in zip(normalized, hits, strict=True)
        ]
        return p_high + np.array(found, dtype=float)

    def _segment(self, title: str, text: str) -> tuple[str, list[str], Segmented | None]:
        """Normalised text, model tokens, and the (title, text) tokens for the index.

        Title and text are segmented apart (a space between them ends a jieba block
        anyway, so their tokens together are the joined text's) and kept for the
        index, which then need not segment them again. Over-long texts are cut for
        the model; the index gets no tokens and segments the whole text itself."""
        tk = self.tokenizer
        title, text = title.strip(), text.strip()
        if len(title) + len(text) + 1 > MAX_TEXT_CHARS:
            norm = tk.normalize(_join(title, text)[:MAX_TEXT_CHARS])
            return norm, tk.tokenize_normalized(norm), None
        nt, nx = tk.normalize(title), tk.normalize(text)
        tt, xt = tk.tokenize_normalized(nt), tk.tokenize_normalized(nx)
        seg = Segmented(self.segmenter_key, tuple(tt), tuple(xt))
        if not title or text.startswith(title):  # as _join: the text repeats its title
            return (nx or nt), (xt or tt), seg
        if not nx:
            return nt, tt, seg
        return f"{nt} {nx}", tt + xt, seg

    def _decide_category(
        self, classes: list[str], proba: np.ndarray, tokens: list[str], reasons: list[str]
    ) -> tuple[str, float, bool]:
        best = int(np.argmax(proba))
        name, confidence = classes[best], float(proba[best])
        if confidence < self.uncertain_below:
            label = self.taxonomy.uncertain_label
            reasons.append(
                f"类别: 最可能 {name} {confidence:.2f}, 低于阈值 {self.uncertain_below:.2f}, 转{label}"
            )
            return label, confidence, True
        reasons.append(f"类别: {name} {confidence:.2f}")
        hits = [t for t in dict.fromkeys(tokens) if t in self._keywords.get(name, ())]
        if hits:
            reasons.append("类别关键词: " + "、".join(hits[:5]))
        return name, confidence, False

    def _decide_severity(
        self,
        normalized: str,
        hits: list[RubricHit],
        classes: list[int],
        proba: np.ndarray | None,
        likes: int,
        replies: int,
        reasons: list[str],
    ) -> tuple[int, float | None, bool]:
        """The tier, the learned I-II probability (None without a severity model) and
        whether the desk should take a second look (below II, above the review line)."""
        p = self.params
        p_high: float | None = None
        rubric, rubric_reasons = self.rubric.assess(normalized, hits)
        reasons.extend(rubric_reasons)
        severity = rubric or 1
        threshold = self.severity_threshold
        if proba is not None and classes == [1, 3]:
            # The I-II gate (severity_binary): it raises to tier II, never lowers.
            p_high = float(proba[1])
            if severity < 3 and p_high >= threshold:
                reasons.append(
                    f"模型: I–II 级可能性 {p_high:.2f} ≥ {threshold:.2f},"
                    f" 按 {tier_text(self.taxonomy, 3)} 处理"
                )
                severity = 3
            else:
                reasons.append(f"模型: I–II 级可能性 {p_high:.2f} (阈值 {threshold:.2f})")
        elif proba is not None:
            best = int(np.argmax(proba))
            model_sev, conf = classes[best], float(proba[best])
            p_high = float(sum(q for c, q in zip(classes, proba, strict=True) if c >= 3))
            if conf >= p.severity_min_confidence:
                reasons.append(f"模型: {tier_text(self.taxonomy, model_sev)} {conf:.2f}")
                severity = max(severity, model_sev)
            elif severity < 3 and p_high >= threshold:
                reasons.append(
                    f"模型: I–II 级合计 {p_high:.2f} ≥ {threshold:.2f},"
                    f" 按 {tier_text(self.taxonomy, 3)} 处理"
                )
                severity = 3
            else:
                reasons.append(
                    f"模型: {tier_text(self.taxonomy, model_sev)} {conf:.2f}"
                    f" (低于 {p.severity_min_confidence:.2f}, 未采用)"
                )
        if severity <= 2:
            signals = []
            if likes >= p.likes_high:
                signals.append(f"点赞 {likes}")
            if replies >= p.replies_high:
                signals.append(f"回复 {replies}")
            if signals:
                severity += 1
                reasons.append(
                    f"互动: {', '.join(signals)}, 升一级至 {tier_text(self.taxonomy, severity)}"
                )
        if rubric is None and severity == 1 and not any(r.startswith("模型:") for r in reasons):
            reasons.append(f"默认: {tier_text(self.taxonomy, 1)} (无更高证据)")
        line = self.review_threshold
        review = severity < 3 and p_high is not None and line is not None and p_high >= line
        if review:
            reasons.append(f"复核: I–II 级可能性 {p_high:.2f} ≥ 复核线 {line:.2f}, 请值班复核")
        return severity, p_high, review

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        """Write the model files into ``directory`` (created; must be empty or new)."""
        import skops.io as sio

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = [(CATEGORY_FILE, self.category_model)]
        if self.severity_model is not None:
            files.append((SEVERITY_FILE, self.severity_model))
        for name, est in files:
            path = directory / name
            sio.dump(est, path)
            untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
            if untrusted:
                raise RuntimeError(
                    f"{name} contains types not on classifier.model.TRUSTED_TYPES: "
                    f"{sorted(untrusted)}; review them and extend the list"
                )
            self.meta.files[name] = _sha256(path)
        meta = json.dumps(asdict(self.meta), ensure_ascii=False, indent=2)
        (directory / META_FILE).write_text(meta + "\n", encoding="utf-8")
        return directory


def load_model(
    directory: Path,
    *,
    uncertain_below: float = 0.35,
    taxonomy: TaxonomyFile | None = None,
) -> TrainedModel:
    """Load a model saved by :meth:`TrainedModel.save`.

    Refuses (ModelMismatchError) a model whose segmenter, user dictionary or
    tokeniser settings differ from what this process would use, and, when
    ``taxonomy`` is given, a model trained for other categories or terms.
    """
    import skops.io as sio

    directory = Path(directory)
    meta_path = directory / META_FILE
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
        meta = ModelMeta(**raw)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{meta_path}: missing") from exc
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{meta_path}: not a valid model description: {exc}") from exc
    if meta.format != FORMAT:
        raise ModelLoadError(f"{meta_path}: format {meta.format}, this version reads {FORMAT}")
    if not all(isinstance(v, dict) for v in (meta.files, meta.tokenizer_params, meta.segmenter)):
        raise ModelLoadError(f"{meta_path}: not a valid model description (field types)")
    try:
        tokenizer = JiebaTokenizer(**meta.tokenizer_params)
    except TypeError as exc:
        raise ModelLoadError(f"{meta_path}: bad tokenizer_params: {exc}") from None
    _check_segmenter(meta, tokenizer, meta_path)
    if taxonomy is not None:
        _check_taxonomy(meta, taxonomy, meta_path)
    for name, digest in meta.files.items():
        if name not in (CATEGORY_FILE, SEVERITY_FILE):
            raise ModelLoadError(f"{meta_path}: unexpected file entry {name!r}")
        try:
            actual = _sha256(directory / name)
        except FileNotFoundError:
            raise ModelLoadError(f"{directory}: missing model file {name}") from None
        if actual != digest:
            raise ModelLoadError(
                f"{directory / name}: checksum differs from meta.json: "
                "the file was changed after training; refusing to load it"
            )
    try:
        category = sio.load(directory / CATEGORY_FILE, trusted=list(TRUSTED_TYPES))
        severity = None
        if (directory / SEVERITY_FILE).exists():
            severity = sio.load(directory / SEVERITY_FILE, trusted=list(TRUSTED_TYPES))
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{directory}: missing model file {exc.filename}") from exc
    except Exception as exc:  # skops raises several types for damaged/untrusted files
        raise ModelLoadError(f"{directory}: cannot load model: {exc}") from exc
    if [str(c) for c in category.classes_] != meta.categories:
        raise ModelLoadError(f"{directory}: category model classes do not match meta.json")
    return TrainedModel(
        meta=meta,
        tokenizer=tokenizer,
        category_model=category,
        severity_model=severity,
        uncertain_below=uncertain_below,
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_segmenter(meta: ModelMeta, tokenizer: JiebaTokenizer, where: Path) -> None:
    saved, running = meta.segmenter, tokenizer.fingerprint()
    problems = [
        f"{key}: model {saved.get(key)!r}, running {running[key]!r}"
        for key in ("name", "version", "userdict_hash", "config_hash")
        if saved.get(key) != running[key]
    ]
    if problems:
        raise ModelMismatchError(
            f"{where}: the model was trained with a different segmenter ("
            + "; ".join(problems)
            + "); retrain it with this installation"
        )


def _check_taxonomy(meta: ModelMeta, taxonomy: TaxonomyFile, where: Path) -> None:
    if sorted(meta.categories) != sorted(taxonomy.category_names()):
        raise ModelMismatchError(
            f"{where}: the model's categories {meta.categories} differ from the taxonomy's "
            f"{taxonomy.category_names()}; retrain"
        )
    if JiebaTokenizer(taxonomy_words(taxonomy)).userdict_hash != meta.segmenter["userdict_hash"]:
        raise ModelMismatchError(
            f"{where}: the taxonomy's keywords or severity terms changed since training; retrain"
        )
    if TaxonomyFile.model_validate(meta.taxonomy) != taxonomy:
        raise ModelMismatchError(f"{where}: the taxonomy changed since training; retrain")


# --------------------------------------------------------------------- train


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
        raise ValueError(f"examples use categories not in the taxonomy: {listed}")
    bad_sev = {
        e.severity for e in examples if e.severity is not None and e.severity not in (1, 2, 3, 4)
    }
    if bad_sev:
        raise ValueError(f"severity must be 1-4 (4 = tier I), got {sorted(bad_sev)}")
    if len(known) < 2:
        raise ValueError("the taxonomy needs at least two categories to train a classifier")

    tokenizer = JiebaTokenizer.from_taxonomy(taxonomy, hmm=params.hmm).fit()
    fp = tokenizer.fingerprint()
    say(f"分词: {len(examples)} 条 ({fp['name']} {fp['version']})")
    normalized = [tokenizer.normalize(e.text) for e in examples]
    tokens = [tokenizer.tokenize_normalized(n) for n in normalized]

    cat_idx = [i for i, e in enumerate(examples) if e.category]
    if params.text_mode == "auto":
        lengths = sorted(len(normalized[i]) for i in cat_idx) or [0]
        short = lengths[len(lengths) // 2] < params.short_text_chars
        # Recorded resolved, so the served model reads what it was trained on.
        params = replace(params, text_mode="short" if short else "long")
    cat_tokens = [tokens[i] for i in cat_idx]
    cat_norm = [normalized[i] for i in cat_idx]
    y_cat = [examples[i].category for i in cat_idx]
    n_real = len(cat_idx)
    if params.seed_examples:
        for name, text in _seed_examples(taxonomy):
            cat_norm.append(tokenizer.normalize(text))
            cat_tokens.append(tokenizer.tokenize_normalized(cat_norm[-1]))
            y_cat.append(name)
    X_cat = category_rows(cat_tokens, cat_norm, params)
    missing = known - set(y_cat)
    if missing:
        raise ValueError(f"no examples for categories {sorted(missing)} (and seed_examples is off)")
    say(
        f"训练类别模型: {n_real} 条样本 + {len(X_cat) - n_real} 条种子, {len(known)} 类"
        f" ({'短文本' if params.text_mode == 'short' else '长文本'}特征)"
    )
    category_model, cat_kind = _fit(X_cat, [str(y) for y in y_cat], params)

    rubric = SeverityRubric(taxonomy)
    sev_idx = [i for i, e in enumerate(examples) if e.severity is not None]
    sev_hits = [rubric.hits(normalized[i]) for i in sev_idx]
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
            rubric.assess(normalized[i], h)[0] or 1 for i, h in zip(sev_idx, sev_hits, strict=True)
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


def examples_from_rows(
    rows: Iterable[dict[str, Any]], *, text: str = "text", label: str = "label"
) -> list[LabelledText]:
    """LabelledText from dict rows (e.g. JSON lines): ``text`` and ``label`` field names."""
    out = []
    for r in rows:
        sev = r.get("severity")
        out.append(
            LabelledText(
                text=str(r[text]),
                category=r.get(label) or None,
                severity=int(sev) if sev is not None else None,
                id=str(r["id"]) if r.get("id") is not None else None,
            )
        )
    return out


__all__ = [
    "ModelLoadError",
    "ModelMismatchError",
    "ModelMeta",
    "ModelParams",
    "TRUSTED_TYPES",
    "TrainedModel",
    "examples_from_rows",
    "load_model",
    "train",
]
