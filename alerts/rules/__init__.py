"""Alert rules from config/alerts.yaml: a registry of kinds, one module per kind.

A kind either looks at one post as it is evaluated (``single_post``, ``keyword``,
``growing_event``: each gives a :class:`Finding` or nothing), or at one (area,
category) pair the new posts touched (``spike``: a :class:`PairFinding`). The
engine (alerts/engine.py) asks every enabled rule through :func:`kind_of`; the
rule's options are its kind's model in yuqing/settings/alerting.py. A new kind is a module
here with a :class:`RuleKind` subclass, a line in :data:`RULE_KINDS`, its model in
the settings union, and the docs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, Literal

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from store.models import Post
from yuqing.settings import Rule

RULE_KINDS: dict[str, str] = {
    "single_post": "alerts.rules.single_post:SinglePost",
    "keyword": "alerts.rules.keyword:Keyword",
    "growing_event": "alerts.rules.growing_event:GrowingEvent",
    "spike": "alerts.rules.spike:Spike",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict on one post: the tier it raises and why (in Chinese)."""

    rule: str
    tier: int
    reason: str


@dataclass(frozen=True, slots=True)
class PairFinding:
    """A rule's verdict on one area and category: an alert of its own, over its posts."""

    rule: str
    tier: int
    area: str
    category: str
    title: str
    reason: str
    post_ids: list[int]
    detail: dict[str, Any] = field(default_factory=dict)


class RuleKind:
    """Base class: subclasses set ``kind`` and ``looks_at`` and override the method
    that goes with it."""

    kind: ClassVar[str] = ""
    looks_at: ClassVar[Literal["post", "pair"]] = "post"

    def on_post(self, session: Session, rule: Any, post: Post, now: datetime) -> Finding | None:
        raise NotImplementedError

    def on_pair(
        self, session: Session, rule: Any, area: str, category: str, now: datetime
    ) -> PairFinding | None:
        raise NotImplementedError


@cache
def kind_of(kind: str) -> RuleKind:
    try:
        ref = RULE_KINDS[kind]
    except KeyError:
        known = ", ".join(RULE_KINDS)
        raise ValueError(f"unknown rule kind {kind!r} (known: {known})") from None
    module, _, cls = ref.partition(":")
    found: type[RuleKind] = getattr(importlib.import_module(module), cls)
    return found()


def post_time() -> ColumnElement[datetime]:
    """When a post happened: published, else when we first fetched it."""
    return func.coalesce(Post.published_at, Post.fetched_at)


def evaluate(session: Session, rules: list[Rule], post: Post, now: datetime) -> list[Finding]:
    """Every enabled per-post rule's finding on ``post``."""
    out: list[Finding] = []
    for rule in rules:
        if not rule.enabled:
            continue
        kind = kind_of(rule.kind)
        if kind.looks_at == "post" and (found := kind.on_post(session, rule, post, now)):
            out.append(found)
    return out


def pair_rules(rules: list[Rule]) -> list[tuple[Rule, RuleKind]]:
    """The enabled rules that look at an (area, category) pair, with their kinds."""
    return [(r, k) for r in rules if r.enabled and (k := kind_of(r.kind)).looks_at == "pair"]
