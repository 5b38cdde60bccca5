"""Governance synonyms: the words analysts type and the words residents write.

``config/synonyms.yaml`` holds two tables that staff extend by hand:

    sets:                      # every word of a set finds the others
      - [占道经营, 摆摊, 流动摊贩, 马路市场]
      - [扰民, 饶民]           # misspellings are variants too
    oneway:                    # a general word finds specific ones, not back
      住宅小区: [小区, 花园, 家园]

A query word (as typed, lower-cased) found in the table is searched as itself
and as each of its expansions; expansions score below the typed word (see
:mod:`index.query`) and the result says which ones were used. An expansion
that is several jieba tokens must match as a phrase.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_EXPANSIONS = 12  # per query word: more is a table mistake, not a search


def _norm(word: str) -> str:
    return unicodedata.normalize("NFKC", word).strip().lower()


@dataclass(frozen=True, slots=True)
class Synonyms:
    """Word -> the words it expands to (never itself), in table order."""

    table: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def expand(self, word: str) -> tuple[str, ...]:
        return self.table.get(_norm(word), ())

    def __len__(self) -> int:
        return len(self.table)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, source: str = "") -> Synonyms:
        """Build from the YAML structure; raises ValueError naming a bad entry."""
        raw = raw or {}
        unknown = set(raw) - {"sets", "oneway"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}: use sets and oneway")
        out: dict[str, list[str]] = {}

        def add(src: str, dst: Iterable[str]) -> None:
            have = out.setdefault(src, [])
            for d in dst:
                if d != src and d not in have:
                    have.append(d)

        for i, entry in enumerate(raw.get("sets") or []):
            if not isinstance(entry, list) or len(entry) < 2:
                raise ValueError(f"sets.{i}: a list of at least two words, got {entry!r}")
            words = [_word(w, f"sets.{i}") for w in entry]
            for w in words:
                add(w, words)
        oneway = raw.get("oneway") or {}
        if not isinstance(oneway, Mapping):
            raise ValueError("oneway: a mapping of word -> [words]")
        for key, targets in oneway.items():
            if not isinstance(targets, list) or not targets:
                raise ValueError(f"oneway.{key}: a non-empty list of words")
            src = _word(key, f"oneway.{key}")
            add(src, [_word(t, f"oneway.{key}") for t in targets])
        table = {k: tuple(v[:MAX_EXPANSIONS]) for k, v in out.items() if v}
        return cls(table, source)

    @classmethod
    def load(cls, path: Path | str | None) -> Synonyms:
        """The table in ``path``; a missing file is an empty table (no expansion)."""
        if path is None:
            return cls()
        p = Path(path)
        if not p.is_file():
            return cls(source=f"{p} (missing: no expansion)")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8"))
            return cls.from_mapping(raw, str(p))
        except (yaml.YAMLError, ValueError) as exc:
            raise ValueError(f"{p}: {exc}") from exc


def _word(w: object, where: str) -> str:
    if not isinstance(w, str | int) or not _norm(str(w)):
        raise ValueError(f"{where}: {w!r} is not a word")
    return _norm(str(w))


EMPTY = Synonyms()


def as_synonyms(value: Synonyms | Path | str | None) -> Synonyms:
    if isinstance(value, Synonyms):
        return value
    return Synonyms.load(value)


def suggest(
    backend: Any,
    word: str,
    tokenize: Any,
    *,
    sample: int = 400,
    top: int = 20,
) -> list[tuple[str, int, float]]:
    """Words that residents use where ``word`` is meant: candidates for the table.

    Takes the posts that match ``word`` (the ranked search, synonyms off) and the
    newest posts as background, and ranks each other word by its share of the
    matching posts times the log of how much more often it occurs there (lift);
    at least 3 posts. Returns
    (word, posts it occurs in, lift); staff read them and copy the right ones
    into ``config/synonyms.yaml`` (co-occurring is not meaning the same)."""
    import math
    from collections import Counter

    from index.base import SearchQuery
    from index.text import index_tokens

    typed = set(index_tokens(tokenize, word))
    hits = backend.search(SearchQuery(text=word, limit=sample, facets=False, expand=False)).hits
    background = backend.search(
        SearchQuery(text="", sort="newest", limit=sample, facets=False)
    ).hits

    def df(posts: list[Any]) -> Counter[str]:
        c: Counter[str] = Counter()
        for h in posts:
            c.update({t for t in index_tokens(tokenize, f"{h.title}\n{h.text}") if len(t) > 1})
        return c

    fg, bg = df(hits), df(background)
    n_fg, n_bg = max(1, len(hits)), max(1, len(background))
    out = []
    for tok, n in fg.items():
        if n < 3 or tok in typed or tok in word or tok.isdigit():
            continue
        lift = (n / n_fg) / ((bg.get(tok, 0) + 1) / (n_bg + 1))
        if lift > 1.5:  # share among the matches x log lift: frequent there, rare elsewhere
            out.append((tok, n, round(lift, 2), n / n_fg * math.log(lift)))
    out.sort(key=lambda x: -x[3])
    return [(t, n, lift) for t, n, lift, _ in out[:top]]


__all__ = ["EMPTY", "Synonyms", "as_synonyms", "suggest"]
