"""Typed hand-over objects between stages.

Data flows one way: crawler -> classifier -> store -> index -> alerts.
Each stage receives and returns these objects, never another stage's internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

# CrawledPost.extra / Post.extra[APPROX_KEY] is True when published_at is a guess within
# a day (昨天下午, 3天前, a date without a time): crawlers set it, alerts read it.
APPROX_KEY = "published_at_approx"

TIER_NAMES: dict[int, str] = {4: "I", 3: "II", 2: "III", 1: "IV"}
"""Severity 4 is tier I (特别重大/红) ... severity 1 is tier IV (一般/蓝)."""

TIER_LABELS_ZH: dict[int, str] = {4: "特别重大", 3: "重大", 2: "较大", 1: "一般"}
TIER_COLOURS: dict[int, str] = {4: "red", 3: "orange", 2: "yellow", 1: "blue"}


def tier_name(severity: int) -> str:
    return TIER_NAMES[severity]


def parse_tier(text: str | int) -> int:
    """'I'..'IV', 1..4 (severity) or 'red'/'特别重大' -> severity 1..4."""
    if isinstance(text, int):
        if text in TIER_NAMES:
            return text
        raise ValueError(f"severity must be 1-4, got {text}")
    if not isinstance(text, str):  # 1.5 or a list from a config file
        raise ValueError(f"unknown tier {text!r}: use I, II, III, IV or 1-4")
    t = text.strip()
    for sev, name in TIER_NAMES.items():
        if t.upper() == name or t == TIER_LABELS_ZH[sev] or t.lower() == TIER_COLOURS[sev]:
            return sev
    if t.isdigit() and int(t) in TIER_NAMES:
        return int(t)
    raise ValueError(f"unknown tier {text!r}: use I, II, III, IV or 1-4")


class Unmasked:
    """A post's unmasked title, text, author and reply: kept out of reprs, logs and
    JSON by accident. Only the sink reads it, and stores it encrypted (store/raw.py)."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, str | None]) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Unmasked(<withheld>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unmasked) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


@dataclass(slots=True)
class CrawledPost:
    """What a crawler (or a file import) yields, already normalised to clean text.

    ``text`` is the public, masked text (personal data replaced); ``published_at``
    is timezone-aware UTC or None when the source gave no date. ``raw`` is the
    unmasked text the crawler read (None for posts that never had personal data to
    keep). ``scope`` is the sub-county place the text names, set by the sink when it
    places the post: near-duplicates are looked for only among posts of one scope.
    ``extra`` carries what a source adds (a row number, an approximate date, how an
    encoding was repaired) and is stored as JSON with the post.
    """

    source: str
    title: str
    text: str
    url: str | None = None
    external_id: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    area: str | None = None
    likes: int = 0
    replies: int = 0
    reply_text: str | None = None
    reply_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: Unmasked | None = field(default=None, compare=False)
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class Segmented:
    """A post's title and text tokens as the classifier cut them, kept so the index
    does not segment the same text again. ``segmenter`` is the tokeniser's key
    (classifier.text.JiebaTokenizer.segmenter_key): an index reuses the tokens only
    when its own tokeniser has the same key."""

    segmenter: str
    title: tuple[str, ...]
    text: tuple[str, ...]


@dataclass(slots=True)
class Classification:
    """The classifier's decision about one post."""

    category: str | None
    category_confidence: float
    severity: int  # 1..4, 4 = tier I
    reasons: list[str] = field(default_factory=list)
    model_version: str = ""
    uncertain: bool = False
    # Tokens for the index; not part of the decision (None for over-long texts).
    tokens: Segmented | None = field(default=None, compare=False, repr=False)
    # The learned model's tier I-II probability (None: rubric only), and whether the
    # duty desk should take a second look at a post graded below II (复核).
    severe_p: float | None = None
    review: bool = False
    # 负面倾向 0..1 from the negativity model (classifier/sentiment.py), None without one
    negativity: float | None = None


@dataclass(slots=True)
class IndexDoc:
    """One post as the search index sees it (masked text only)."""

    id: int
    title: str
    text: str
    source: str
    category: str | None
    severity: int
    area: str | None
    published_at: datetime | None
    url: str | None
    status: str = "new"
    event_id: int | None = None
    tokens: Segmented | None = None  # the classifier's tokens, when it kept them


@dataclass(slots=True)
class DeadLetter:
    """Bad input kept for inspection instead of being dropped."""

    stage: str
    source: str | None
    reason: str
    payload: dict[str, Any]
    url: str | None = None


class Outcome(IntEnum):
    """What storing a post did; false only when nothing changed (truthy for new or
    changed)."""

    UNCHANGED = 0
    NEW = 1
    UPDATED = 2


class SinkUnavailable(Exception):
    """The sink can store nothing at all now (no usable classifier model): not one
    post's fault, so no post becomes a dead letter. The crawl stops unfinished and
    its posts are fetched again by the next crawl, which walks every page."""


class PostSink(Protocol):
    """Where the crawler hands its posts: the rest of the pipeline.

    ``accept`` stores one post and says whether it was new, updated or unchanged;
    ``accept_many`` stores a batch in one transaction (all or nothing: on an error
    the caller retries post by post to find the one at fault; on
    :class:`SinkUnavailable` the crawl stops instead). ``seen`` tells an
    incremental crawler whether a URL of this source is already stored, so it can
    stop paging. ``load_state``/``save_state`` keep a source's crawl state (cursors,
    ETags, health) between crawls.
    """

    def accept(self, post: CrawledPost) -> Outcome: ...

    def accept_many(self, posts: Sequence[CrawledPost]) -> list[Outcome]: ...

    def reject(self, letter: DeadLetter) -> None: ...

    def seen(self, source: str, url: str) -> bool: ...

    def load_state(self, source: str) -> dict[str, Any]: ...

    def save_state(self, source: str, state: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class LabelledText:
    """A training example: text with a category and, when known, a severity."""

    text: str
    category: str | None = None
    severity: int | None = None
    id: str | None = None
