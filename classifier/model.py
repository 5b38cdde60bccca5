"""A trained category + severity model deciding posts: :class:`TrainedModel`.

Severity: max(rubric evidence, learned model when confident), then at most one
tier up for very high engagement while the post is at tier IV or III. How the
models are trained is in classifier.training, what they read in
classifier.features, how they are saved in classifier.persist.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.pipeline import Pipeline

from classifier.features import (
    MAX_TEXT_CHARS,
    category_rows,
    join_title,
    model_input,
    severity_input,
)
from classifier.params import ModelMeta, ModelParams
from classifier.severity import RubricHit, SeverityRubric, tier_text
from classifier.text import JiebaTokenizer
from yuqing.contracts import Classification, CrawledPost, Segmented
from yuqing.settings import TaxonomyFile


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
        normalised = [tk.normalise(join_title("", t)[:MAX_TEXT_CHARS]) for t in texts]
        tokens = [tk.tokenize_normalised(s) for s in normalised]
        proba = self.category_model.predict_proba(category_rows(tokens, normalised, self.params))
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
        normalised: list[str] = []
        tokens: list[list[str]] = []
        kept: list[Segmented | None] = []
        for title, text in zip(titles, texts, strict=True):
            norm, toks, seg = self._segment(title or "", text or "")
            cut.append(seg is None and len(join_title(title, text)) > MAX_TEXT_CHARS)
            normalised.append(norm)
            tokens.append(toks)
            kept.append(seg)
        joined = category_rows(tokens, normalised, self.params)
        hits = [self.rubric.hits(s) for s in normalised]
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
                normalised[i],
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
        normalised = [s[0] for s in segmented]
        tokens = [s[1] for s in segmented]
        hits = [self.rubric.hits(s) for s in normalised]
        p_high = np.zeros(len(texts))
        proba = self._severity_proba(tokens, category_rows(tokens, normalised, self.params), hits)
        if proba is not None and self.severity_model is not None:
            high = [i for i, c in enumerate(self.severity_model.classes_) if int(c) >= 3]
            p_high = proba[:, high].sum(axis=1)
        found = [
            (self.rubric.assess(s, h)[0] or 1) >= 3 for s, h in zip(normalised, hits, strict=True)
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
            norm = tk.normalise(join_title(title, text)[:MAX_TEXT_CHARS])
            return norm, tk.tokenize_normalised(norm), None
        nt, nx = tk.normalise(title), tk.normalise(text)
        tt, xt = tk.tokenize_normalised(nt), tk.tokenize_normalised(nx)
        seg = Segmented(self.segmenter_key, tuple(tt), tuple(xt))
        if not title or text.startswith(title):  # as join_title: the text repeats its title
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
        normalised: str,
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
        rubric, rubric_reasons = self.rubric.assess(normalised, hits)
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
