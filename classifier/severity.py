"""The severity rubric: lexicon evidence per tier from the taxonomy, plus simple rules.

Every hit becomes a human-readable reason; the model (classifier/model.py) combines
this evidence with a learned severity model and engagement signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yuqing.contracts import tier_name
from yuqing.settings import ContextTerm, TaxonomyFile

# A negation just before a term ("没有人员受伤", "未造成人员死亡") cancels it. Kept
# to whole negation phrases so "未成年人死亡" or "不幸身亡" still count.
_NEGATION = re.compile(
    r"(?:没有|没|未|无|并未|并没有|暂无|尚无|未造成|没有造成|并未造成|未发生|没有发生|未出现|没有出现)"
    r"(?:任何)?(?:人员|人)?$"
)
_NEGATION_WINDOW = 8
# A hypothetical or feared event ("万一发生火灾", "以免出人命") is a hazard, not the
# event: it counts one tier lower than the term. The cue may stand a clause away
# ("如果货车出现自燃, 发生爆炸"), so the window reaches back to the last sentence end.
_HYPOTHETICAL = re.compile(
    r"(?:一旦|万一|如果|如若|如发生|若是|假如|倘若|以免|以防|避免|防止|担心|恐怕|害怕|随时|迟早|容易|"
    r"可能|会不会|难道要等|非要等|非得等|不知什么时候|说不定|将会|就会|面临|快要|即将|有.{0,2}风险|极易|易发生|试想)"
    r"[^。！？!?]{0,14}$"
)
# ... or the words just after the term say it is a risk ("有倒塌危险", "爆炸隐患",
# "交通、火灾、触电的隐患", "失火, 爆炸都有可能").
_RISK_AFTER = re.compile(
    r"^[^。！？!?，,]{0,10}?(?:的|等)?(?:安全)?(?:危险|风险|隐患|可能|之虞|事故隐患)"
    r"|^[^。！？!?]{0,12}都有可能"
)
_HYP_WINDOW = 20
_RISK_WINDOW = 16


@dataclass(frozen=True, slots=True)
class RubricHit:
    term: str
    severity: int
    negated_by: str | None = None
    hypothetical: str | None = None
    context: str | None = None  # the nearby word a contextual term needed


def tier_text(taxonomy: TaxonomyFile, severity: int) -> str:
    """'II 重大': the tier name and the deployment's label for it."""
    return f"{tier_name(severity)} {taxonomy.severity[severity].label}"


class SeverityRubric:
    """Finds the taxonomy's severity terms in normalised text."""

    def __init__(self, taxonomy: TaxonomyFile) -> None:
        self.taxonomy = taxonomy
        term_tier: dict[str, int] = {}
        contexts: dict[str, list[tuple[int, ContextTerm]]] = {}
        for severity, tier in taxonomy.severity.items():
            for term in tier.terms:
                term = term.strip().lower()
                if term:
                    # A term listed under two tiers counts for the higher one.
                    term_tier[term] = max(severity, term_tier.get(term, 0))
            for ctx in tier.contextual:
                contexts.setdefault(ctx.term.strip().lower(), []).append((severity, ctx))
        self.term_tier = term_tier
        # Highest tier first: the first context that holds decides.
        self.contexts = {t: sorted(cs, key=lambda c: -c[0]) for t, cs in contexts.items()}
        # Longest first, so "集体中毒" wins over "中毒" at the same position.
        alternation = "|".join(
            re.escape(t) for t in sorted({*term_tier, *contexts}, key=len, reverse=True)
        )
        self._pattern = re.compile(alternation) if alternation else None

    def _tier_in_context(self, text: str, term: str, start: int, end: int) -> tuple[int, str]:
        """The tier ``term`` at text[start:end] stands for here (0: none) and the context
        word that made it count."""
        best, why = self.term_tier.get(term, 0), ""
        for severity, ctx in self.contexts.get(term, ()):
            if severity <= best:
                break
            lo, hi = max(0, start - ctx.window), min(len(text), end + ctx.window)
            around = text[lo:hi]
            if any(_covers(text, p, start, end) for p in ctx.except_in):
                continue
            if any(w in around for w in ctx.not_near):
                continue
            found = next((w for w in ctx.near if w in around), None)
            if ctx.near and found is None:
                continue
            best, why = severity, found or ""
            break
        return best, why

    def hits(self, normalised_text: str) -> list[RubricHit]:
        """Distinct terms found, in order of first appearance."""
        if self._pattern is None:
            return []
        out: list[RubricHit] = []
        seen: set[str] = set()
        text = normalised_text
        for m in self._pattern.finditer(text):
            term = m.group(0)
            severity, context = self._tier_in_context(text, term, m.start(), m.end())
            if not severity:
                continue
            before = text[max(0, m.start() - _NEGATION_WINDOW) : m.start()]
            neg = _NEGATION.search(before)
            hyp = None
            if neg is None:
                hyp = _HYPOTHETICAL.search(text[max(0, m.start() - _HYP_WINDOW) : m.start()])
                if hyp is None:
                    hyp = _RISK_AFTER.search(text[m.end() : m.end() + _RISK_WINDOW])
            hit = RubricHit(
                term,
                severity,
                neg.group(0) if neg else None,
                hyp.group(0) if hyp else None,
                context or None,
            )
            key = f"{term}|{hit.negated_by}|{hit.hypothetical}"
            if key not in seen:
                seen.add(key)
                out.append(hit)
        return out

    def assess(
        self, normalised_text: str, hits: list[RubricHit] | None = None
    ) -> tuple[int | None, list[str]]:
        """Highest tier with unnegated evidence (None when there is none) and the reasons.
        ``hits``: :meth:`hits` of the same text, when the caller has them already."""
        best: int | None = None
        reasons: list[str] = []
        if hits is None:
            hits = self.hits(normalised_text)
        hits = sorted(hits, key=lambda h: -h.severity)
        for h in hits:
            if h.negated_by is not None:
                reasons.append(f"规则: ‘{h.term}’前有否定‘{h.negated_by}’, 不计")
                continue
            sev = h.severity
            if h.hypothetical is not None:
                sev = max(1, sev - 1)
                reasons.append(
                    f"规则: ‘{h.term}’与‘{h.hypothetical}’连用(假设/担忧), 按隐患计"
                    f" {tier_text(self.taxonomy, sev)}"
                )
            else:
                near = f", 附近有‘{h.context}’" if h.context else ""
                reasons.append(f"规则: 命中‘{h.term}’{near}({tier_text(self.taxonomy, sev)})")
            best = sev if best is None else max(best, sev)
        return best, reasons


def _covers(text: str, phrase: str, start: int, end: int) -> bool:
    """Whether an occurrence of ``phrase`` in ``text`` contains text[start:end]."""
    lo = max(0, end - len(phrase))
    i = text.find(phrase, lo)
    while i != -1 and i <= start:
        if i + len(phrase) >= end:
            return True
        i = text.find(phrase, i + 1)
    return False


def feature_tokens(hits: list[RubricHit]) -> list[str]:
    """Rubric evidence as tokens for the learned severity model: the tier each hit
    stands for ("__r3") and the term itself ("__t_火灾", "__t_爆炸_hyp")."""
    out: list[str] = []
    for h in hits:
        if h.negated_by is not None:
            out.append("__neg")
            continue
        sev = max(1, h.severity - 1) if h.hypothetical is not None else h.severity
        out.append(f"__r{sev}")
        out.append(f"__t_{h.term}" + ("_hyp" if h.hypothetical is not None else ""))
    return out
