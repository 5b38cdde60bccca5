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
# A hypothetical or feared event ("万一发生火灾", "以免出人命") is a hazard, not the
# event: it counts one tier lower than the term.
_HYPOTHETICAL = re.compile(
    r"(?:一旦|万一|如果|若是|假如|以免|以防|避免|防止|担心|恐怕|害怕|随时|迟早|容易|可能|会不会|难道要等|非要等|非得等)"
    r"[^。！？!?]{0,6}$"
)


@dataclass(frozen=True, slots=True)
class RubricHit:
    term: str
    severity: int
    negated_by: str | None = None
    hypothetical: str | None = None


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
            hyp = _HYPOTHETICAL.search(before) if neg is None else None
            hit = RubricHit(
                term,
                self.term_tier[term],
                neg.group(0) if neg else None,
                hyp.group(0) if hyp else None,
            )
            key = f"{term}|{hit.negated_by}|{hit.hypothetical}"
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
            sev = h.severity
            if h.hypothetical is not None:
                sev = max(1, sev - 1)
                reasons.append(
                    f"规则: ‘{h.term}’前有‘{h.hypothetical}’(假设/担忧), 按隐患计"
                    f" {tier_text(self.taxonomy, sev)}"
                )
            else:
                reasons.append(f"规则: 命中‘{h.term}’({tier_text(self.taxonomy, sev)})")
            best = sev if best is None else max(best, sev)
        return best, reasons
