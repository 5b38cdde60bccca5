"""What the scikit-learn pipelines read, and the vectorizers that read it.

Texts are tokenised by :class:`classifier.text.JiebaTokenizer` *outside* the
pipelines; the pipelines see space-joined tokens and split them with a plain
``token_pattern``. A custom tokenizer callable inside a pipeline cannot be loaded
by skops without trusting arbitrary code, and the jieba dictionary does not belong
in a model file. The tokeniser is rebuilt from ``meta.json`` on load and must
reproduce the recorded fingerprint (classifier.persist).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from classifier.params import ModelParams
from classifier.severity import RubricHit, feature_tokens

# Texts are cut to this many characters before tokenising: a 1 MB "post" is not a
# message, and jieba would spend seconds on it (the reasons say when it happened).
MAX_TEXT_CHARS = 20_000


def join_title(title: str, text: str) -> str:
    """Title and text as one text; a text that starts with its title is taken alone."""
    title, text = (title or "").strip(), (text or "").strip()
    if not title or text.startswith(title):
        return text or title
    return f"{title}\n{text}"


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
    tokens: Sequence[Sequence[str]], normalised: Sequence[str], params: ModelParams
) -> list[str] | np.ndarray:
    """The category pipeline's input: model_input() strings ("long"), or rows of
    (space-joined tokens, normalised text) for the "short" features."""
    if params.text_mode == "short":
        rows = np.empty((len(tokens), 2), dtype=object)
        rows[:, 0] = [" ".join(t) for t in tokens]
        rows[:, 1] = list(normalised)
        return rows
    return [model_input(t, params) for t in tokens]


def short_text_features() -> ColumnTransformer:
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


def text_features(params: ModelParams) -> FeatureUnion:
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


def severity_input(joined: str, hits: list[RubricHit]) -> str:
    """The severity model's input: the category model's, plus the rubric's evidence."""
    extra = feature_tokens(hits)
    return f"{joined} {' '.join(extra)}" if extra else joined
