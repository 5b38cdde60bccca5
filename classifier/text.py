"""Text normalisation and jieba tokenisation shared by the models and the search index.

:class:`JiebaTokenizer` is written scikit-learn style: ``__init__`` only stores
parameters; the jieba dictionary and derived state are built lazily and end in
``_``. It uses its own ``jieba.Tokenizer`` so that user words added here never
leak into (or depend on) the process-wide ``jieba.dt`` other code may use.

A trained model records :meth:`JiebaTokenizer.fingerprint`; a model must be
served by a tokeniser with the same segmenter version and dictionary hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jieba

    from yuqing.settings import TaxonomyFile

SEGMENTER_NAME = "jieba"

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to half-width.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_SPACES = re.compile(r"\s+")


def _to_halfwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


@lru_cache(maxsize=1)
def _traditional_converter() -> tuple[Any, frozenset[str]] | None:
    """The OpenCC t2s converter and the characters that can trigger a change.

    Converting is ~1 MB/s in pure Python, slower than jieba itself, and almost all
    posts are already simplified: texts without any trigger character skip it.
    Only characters that change on their own are triggers: phrase entries are made
    of characters common to both scripts ("一干二净"), and counting them made almost
    every simplified post pay for the conversion.
    """
    try:
        from opencc import OpenCC
    except ImportError:  # optional: without it traditional text is left as is
        return None
    triggers: set[str] = set()
    base = resources.files("opencc") / "dictionary"
    for line in (base / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key and key != values.split(" ")[0]:
            triggers.add(key)
    return OpenCC("t2s"), frozenset(triggers)


def traditional_folding_available() -> bool:
    return _traditional_converter() is not None


def normalise(text: str, *, fold_traditional: bool = True) -> str:
    """Full-width to half-width, traditional to simplified, whitespace folded, ASCII lower-cased."""
    text = _to_halfwidth(unicodedata.normalize("NFC", text))
    if fold_traditional:
        conv = _traditional_converter()
        if conv is not None and not conv[1].isdisjoint(text):
            text = conv[0].convert(text)
    return _SPACES.sub(" ", text).strip().lower()


@lru_cache(maxsize=1)
def default_stop_words() -> tuple[str, ...]:
    # Next to this module, not importlib.resources: robust to namespace/editable installs.
    raw = (Path(__file__).parent / "stopwords.txt").read_text(encoding="utf-8")
    words = {w.strip() for w in raw.splitlines() if w.strip() and not w.startswith("#")}
    return tuple(sorted(words))


def taxonomy_words(taxonomy: TaxonomyFile) -> list[str]:
    """Category names, keywords and severity terms: words that must stay whole."""
    words: set[str] = set()
    for cat in taxonomy.categories:
        words.add(cat.name)
        words.update(cat.keywords)
    for tier in taxonomy.severity.values():
        words.update(tier.terms)
        words.update(c.term for c in tier.contextual)
    return sorted(w.strip() for w in words if w.strip())


def _is_content(token: str) -> bool:
    # A token is kept when it has at least one letter or digit (drops punctuation).
    return any(ch.isalnum() for ch in token)


class JiebaTokenizer:
    """Normalise and segment Chinese text into a list of tokens.

    Parameters
    ----------
    user_words:
        Words added to the private jieba dictionary so they are never split.
    stop_words:
        Tokens dropped from the output; ``None`` means the packaged list.
    drop_stop_words:
        Set False for a search index that wants every token.
    fold_traditional:
        Convert traditional to simplified characters (needs ``opencc``).
    hmm:
        jieba's HMM for unknown words (its default).
    """

    def __init__(
        self,
        user_words: Sequence[str] = (),
        stop_words: Sequence[str] | None = None,
        *,
        drop_stop_words: bool = True,
        fold_traditional: bool = True,
        hmm: bool = True,
    ) -> None:
        self.user_words = user_words
        self.stop_words = stop_words
        self.drop_stop_words = drop_stop_words
        self.fold_traditional = fold_traditional
        self.hmm = hmm

    @classmethod
    def from_taxonomy(cls, taxonomy: TaxonomyFile, **params: Any) -> JiebaTokenizer:
        return cls(taxonomy_words(taxonomy), **params)

    # ------------------------------------------------------------ params
    def get_params(self) -> dict[str, Any]:
        return {
            "user_words": list(self.user_words),
            "stop_words": None if self.stop_words is None else list(self.stop_words),
            "drop_stop_words": self.drop_stop_words,
            "fold_traditional": self.fold_traditional,
            "hmm": self.hmm,
        }

    # ----------------------------------------------------- derived state
    def fit(self, X: Iterable[str] | None = None, y: Any = None) -> JiebaTokenizer:
        """Build the private jieba dictionary now (otherwise done on first use)."""
        self._ensure_ready()
        return self

    def _ensure_ready(self) -> jieba.Tokenizer:
        tk = getattr(self, "jieba_", None)
        if tk is not None:
            return tk
        with _INIT_LOCK:
            tk = getattr(self, "jieba_", None)
            if tk is None:
                self.user_words_ = sorted({w.strip() for w in self.user_words if w.strip()})
                stop = default_stop_words() if self.stop_words is None else self.stop_words
                self.stop_words_ = frozenset(stop) if self.drop_stop_words else frozenset()
                tk = _new_jieba(self.user_words_)
                self.jieba_ = tk
        return tk

    @property
    def segmenter_name(self) -> str:
        return SEGMENTER_NAME

    @property
    def segmenter_version(self) -> str:
        import jieba

        return str(jieba.__version__)

    @property
    def userdict_hash(self) -> str:
        """SHA-256 of the user dictionary as loaded (sorted words, one per line)."""
        words = sorted({w.strip() for w in self.user_words if w.strip()})
        return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()

    @property
    def config_hash(self) -> str:
        """SHA-256 over everything else that changes the tokens: stop words and options."""
        stop = default_stop_words() if self.stop_words is None else sorted(set(self.stop_words))
        blob = json.dumps(
            {
                "stop_words": list(stop) if self.drop_stop_words else [],
                "fold_traditional": self.fold_traditional and traditional_folding_available(),
                # 2: traditional folding triggered by changing characters only.
                "fold_version": 2,
                "hmm": self.hmm,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @property
    def segmenter_key(self) -> str:
        """One string for :meth:`fingerprint`: tokens cut by tokenisers with equal
        keys are interchangeable (the index reuses the classifier's)."""
        blob = json.dumps(self.fingerprint(), sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def fingerprint(self) -> dict[str, str]:
        """What a model records about the segmenter that produced its training tokens."""
        return {
            "name": self.segmenter_name,
            "version": self.segmenter_version,
            "userdict_hash": self.userdict_hash,
            "config_hash": self.config_hash,
        }

    # ------------------------------------------------------------ using
    def normalise(self, text: str) -> str:
        return normalise(text, fold_traditional=self.fold_traditional)

    def tokenize(self, text: str) -> list[str]:
        """Normalised content tokens of ``text`` (punctuation and stop words removed)."""
        return self.tokenize_normalised(self.normalise(text))

    def tokenize_normalised(self, normalised: str) -> list[str]:
        """Like :meth:`tokenize` for text already passed through :meth:`normalise`."""
        tk = self._ensure_ready()
        stop = self.stop_words_
        out: list[str] = []
        keep = out.append
        for tok in tk.cut(normalised, HMM=self.hmm):
            # isalnum() is C-fast and true for nearly every Chinese token; the
            # per-character test only runs for mixed tokens ("a.b", "3%").
            if tok.isalnum():
                if tok not in stop:
                    keep(tok)
            elif tok not in stop and _is_content(stripped := tok.strip()):
                keep(stripped)
        return out

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def transform(self, X: Iterable[str]) -> list[str]:
        """Space-joined tokens per text: the input our vectorizers split on whitespace."""
        return [" ".join(self.tokenize(x)) for x in X]

    def __getstate__(self) -> dict[str, Any]:
        # The jieba dictionary is large and rebuilt on demand; never persist it.
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_")}


_INIT_LOCK = threading.Lock()


def _new_jieba(user_words: Sequence[str]) -> jieba.Tokenizer:
    import jieba

    # jieba logs "Building prefix dict ..." at DEBUG to stderr; keep start-up quiet.
    logger = jieba.default_logger
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        tk = jieba.Tokenizer()
        tk.initialize()
    finally:
        logger.setLevel(level)
    for word in user_words:
        # freq=None lets jieba pick a frequency high enough that the word is never split.
        tk.add_word(word)
    return tk


# ------------------------------------------------------- shared tokenisers

_SHARED: dict[str, JiebaTokenizer] = {}
_SHARED_LOCK = threading.Lock()


def tokenizer_for(taxonomy: TaxonomyFile | None = None) -> JiebaTokenizer:
    """One shared tokeniser per user dictionary (building jieba's costs ~1 s).

    Pass the deployment's taxonomy so governance terms stay whole; without it the
    tokeniser has no user words.
    """
    words = taxonomy_words(taxonomy) if taxonomy is not None else []
    key = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
    with _SHARED_LOCK:
        tok = _SHARED.get(key)
        if tok is None:
            tok = _SHARED[key] = JiebaTokenizer(words)
    return tok


def tokenize(text: str, taxonomy: TaxonomyFile | None = None) -> list[str]:
    """Normalised content tokens of ``text``; see :func:`tokenizer_for`."""
    return tokenizer_for(taxonomy).tokenize(text)
