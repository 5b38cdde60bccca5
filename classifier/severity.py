"""The severity rubric: lexicon evidence per tier from the taxonomy, plus simple rules.

Every hit becomes a human-readable reason; the model (classifier/model.py) combines
this evidence with a learned severity model and engagement signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yuqing.contracts import tier_name
from yuqing.settings import TaxonomyFile

# A negation just before a term ("没有人员受伤", "未造成人员死亡") cancels it. Kept
# to whole negation phrases so "未成年人死亡" or "不幸身亡" still count.
_NEGATION = re.compile(
    r"(?:没有|没|未|无|并未|并没有|暂无|尚无|未造成|没有造成|并未造成|未发生|没有发生|未出现|没有出现)"
    r"(?:任何)?(?:人员|人)?$"
)
_NEGATION_WINDOW = 8


@dataclass(frozen=True, slots=True)
class RubricHit:
    term: str
    severity: int
    negated_by: str | None = None


def tier_text(taxonomy: TaxonomyFile, severity: int) -> str:
    """'II 重大': the tier name and the deployment's label for it."""
    return f"{tier_name(severity)} {taxonomy.severity[severity].label}"


class SeverityRubric:
    """Finds the taxonomy's severity terms in normalised text."""

    def __init__(self, taxonomy: TaxonomyFile) -> None:
        self.taxonomy = taxonomy
        term_tier: dict[str, int] = {}
        for severity, tier in taxonomy.severity.items():
            for term in tier.terms:
                term = term.strip().lower()
                if term:
                    # A term listed under two tiers counts for the higher one.
                    term_tier[term] = max(severity, term_tier.get(term, 0))
        self.term_tier = term_tier
        # Longest first, so "集体中毒" wins over "中毒" at the same position.
        alternation = "|".join(re.escape(t) for t in sorted(term_tier, key=len, reverse=True))
        self._pattern = re.compile(alternation) if alternation else None

    def hits(self, normalized_text: str) -> list[RubricHit]:
        """Distinct terms found, in order of first appearance."""
        if self._pattern is None:
            return []
        out: list[RubricHit] = []
        seen: set[str] = set()
        for m in self._pattern.finditer(normalized_text):
            term = m.group(0)
            before = normalized_text[max(0, m.start() - _NEGATION_WINDOW) : m.start()]
            neg = _NEGATION.search(before)
            hit = RubricHit(term, self.term_tier[term], neg.group(0) if neg else None)
            key = f"{term}|{hit.negated_by}"
            if key not in seen:
                seen.add(key)
                out.append(hit)
        return out

    def assess(self, normalized_text: str) -> tuple[int | None, list[str]]:
        """Highest tier with unnegated evidence (None when there is none) and the reasons."""
        best: int | None = None
        reasons: list[str] = []
        hits = sorted(self.hits(normalized_text), key=lambda h: -h.severity)
        for h in hits:
            if h.negated_by is not None:
                reasons.append(f"规则: ‘{h.term}’前有否定‘{h.negated_by}’, 不计")
                continue
            reasons.append(f"规则: 命中‘{h.term}’({tier_text(self.taxonomy, h.severity)})")
            best = h.severity if best is None else max(best, h.severity)
        return best, reasons
