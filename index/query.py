"""The query language people type, parsed into a backend-neutral form.

    东湖 污水            words: ranked matching (see below), partial matches come back
    "污水 直排"          an exact phrase (“中文引号” work too): required, strict
    +污水  污水 AND 直排  a required word (all its tokens, or its compound parts)
    -噪音                exclude a word or -"a phrase" (strict)
    污水 OR 废水         either (OR binds tighter than the implicit AND)
    category:环境保护 tier:>=II area:东湖街道 source:demo-board
    since:2026-11-01 until:2026-11-30 sort:newest

Ranked matching (:func:`build_plan`): each plain word is a group matched by any
of its jieba tokens, its dictionary parts (拖欠工资 -> 拖欠, 工资), its phrase (a
bonus when the tokens are adjacent) or a synonym from ``config/synonyms.yaml``
(scored below the typed word). A post must match at least one group of a one-
or two-word query and all but one of a longer query's; posts matching more
groups rank first (a fixed tier per group), BM25 orders each tier, and two
words standing close together (PROX_SLOP tokens) add PROX_BONUS. Recall mode
needs any one group, adds the character bigrams of long words and sorts by time.

Anything else is literal text: operators of other engines (``NEAR(``, ``*``,
``^``, ``title:``) are never passed through, because backends only receive
token lists, never a query string of their own syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from index.base import FACET_FIELDS, QueryError, SearchQuery, Tokenize
from index.synonyms import Synonyms
from index.text import index_tokens
from yuqing.contracts import parse_tier, tier_name

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
MAX_TOKENS = 256
MAX_LIMIT = 500
MAX_OFFSET = 100_000

_FIELDS: dict[str, str] = {
    "category": "category", "cat": "category", "分类": "category", "类别": "category",
    "tier": "tier", "级别": "tier", "等级": "tier", "severity": "tier", "sev": "tier",
    "area": "area", "地区": "area", "区域": "area",
    "source": "source", "src": "source", "来源": "source",
    "since": "since", "from": "since", "自": "since",
    "until": "until", "to": "until", "至": "until",
    "sort": "sort", "排序": "sort",
}  # fmt: skip
_SORTS = {"relevance": "relevance", "相关": "relevance", "newest": "newest", "最新": "newest"}
_FIELD_RE = re.compile(r"([A-Za-z\u4e00-\u9fff]{1,12})[:：]")
_OPEN_QUOTES = {'"': '"', "“": "”", "「": "」"}
_CLOSE_ANY = {'"', "”", "」"}


@dataclass(frozen=True, slots=True)
class Term:
    """A word (all tokens, anywhere) or a phrase (tokens adjacent, in order).

    As a required group's gate, a word needs all its tokens; in a ranked group
    it is planned into clauses (:func:`build_plan`). ``word`` is the text as
    typed, for synonyms; it takes no part in equality."""

    tokens: tuple[str, ...]
    phrase: bool = False
    word: str = field(default="", compare=False)
    split: bool = field(default=False, compare=False)  # the compound split of the word before


@dataclass(slots=True)
class ParsedText:
    groups: list[list[Term]] = field(default_factory=list)  # AND of ORs
    excluded: list[Term] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)  # canonical field -> raw value
    required: list[bool] = field(default_factory=list)  # one per group: +word, AND, "phrase"


# Weights of a group's clauses, relative to a typed token; COORD is the tier per
# matched group (above any BM25 sum), so posts matching more groups rank first.
TYPED_W = 1.0
BONUS_W = 1.0  # the whole word as a phrase, when it is several tokens
PART_W = 0.5  # a dictionary part of a long token: 拖欠工资 -> 拖欠, 工资
SYN_W = 0.5  # an expansion from the synonym table
RECALL_W = 0.25  # character bigrams of long tokens, recall mode only
SINGLE_W = 0.3  # a one-character token (群 of 群租房, 不 of 不交): weak alone
COORD = 4.0
PART_CREDIT = 0.5
RECALL_CREDIT = 0.25
# A unit named in the title earns this much COORD more: residents' titles sum up
# their complaint, so a post whose title has the query's words is about them.
TITLE_CREDIT = 1.0
# Proximity: a post where two of the query's words (as typed) stand within
# PROX_SLOP tokens of each other, in either order, in the title or the text,
# scores PROX_BONUS more per such pair (a constant, so both backends add the same).
PROX_BONUS = 1.0
PROX_SLOP = 5
MAX_PROX_WORDS = 4  # pairs among the first four words


@dataclass(frozen=True, slots=True)
class Clause:
    """One scored part of a group: tokens (a phrase when several), its weight and
    why it is there (typed, bonus, part, synonym, recall); ``label`` names the
    synonym it came from."""

    tokens: tuple[str, ...]
    weight: float
    kind: str
    label: str = ""
    unit: int = 0  # the component of the query it covers (coordination counts units)

    @property
    def term(self) -> Term:
        return Term(self.tokens, phrase=len(self.tokens) > 1)

    @property
    def in_title_counts(self) -> bool:
        """Whether a match in the title earns TITLE_CREDIT (typed words and
        synonyms, not parts, single characters or bigrams)."""
        return bool(TITLE_CREDIT) and self.kind in ("typed", "synonym") and self.credit == 1.0

    @property
    def credit(self) -> float:
        """Share of COORD this clause earns for its unit (the best clause counts):
        a dictionary part (广场 of 广场舞) or a lone character is weaker evidence."""
        if self.kind in ("typed", "bonus", "synonym"):
            single = len(self.tokens) == 1 and len(self.tokens[0]) == 1
            return PART_CREDIT if single and not self.tokens[0].isascii() else 1.0
        return RECALL_CREDIT if self.kind == "recall" else PART_CREDIT


@dataclass(slots=True)
class PlanGroup:
    """A group matches when any ``gate`` term matches; ``clauses`` score it."""

    gate: list[Term]
    clauses: list[Clause]
    required: bool
    word: str


# A query of several words first matches posts having all of them (each word by
# any of its tokens, parts or synonyms); only when fewer posts than this do (ten
# console pages), the posts having some of them come back too. On a large index
# this keeps a common pair (小区 学校) from scoring every post that has either
# word. (At 100, recall@100 on the judged set fell from 0.923 to 0.916.)
FULL_MATCH_MIN = 200


@dataclass(slots=True)
class Plan:
    groups: list[PlanGroup]
    min_match: int  # of the groups that are not required (partial matching)
    expansions: dict[str, list[str]]  # typed word -> synonyms searched for it
    full: bool = False  # this pass: every group must match
    recall: bool = False
    near: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    @property
    def tries_full(self) -> bool:
        """Whether a first pass with every word required comes before partial matching."""
        return not self.recall and len(self.optional) >= 2 and not self.full

    def all_words(self) -> Plan:
        return Plan(self.groups, len(self.optional), self.expansions, True, self.recall, self.near)

    @property
    def optional(self) -> list[PlanGroup]:
        return [g for g in self.groups if not g.required]

    @property
    def required(self) -> list[PlanGroup]:
        return [g for g in self.groups if g.required]


@dataclass(slots=True)
class CompiledQuery:
    """A validated query: text terms plus merged filters, times aware in UTC."""

    groups: list[list[Term]]
    excluded: list[Term]
    category: str | None
    severity_min: int | None
    severity: int | None
    area: str | None
    source: str | None
    since: datetime | None
    until: datetime | None
    sort: str
    limit: int
    offset: int
    facets: bool
    histogram: str | None
    plan: Plan = field(default_factory=lambda: Plan([], 1, {}))
    recall: bool = False

    @property
    def has_terms(self) -> bool:
        return bool(self.groups)

    def highlight_terms(self) -> set[str]:
        """Tokens to mark in snippets: what was typed, its parts and synonyms
        (not recall mode's character bigrams, which would mark half the text)."""
        out = {t for g in self.groups for term in g for t in term.tokens}
        for pg in self.plan.groups:
            for c in pg.clauses:
                if c.kind in ("typed", "synonym", "bonus"):
                    out.update(c.tokens)
        return out


def _clean(text: str) -> str:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"查询过长（{len(text)} 个字符），上限 {MAX_QUERY_CHARS} 个 / "
            f"query is too long ({len(text)} characters); the limit is {MAX_QUERY_CHARS}"
        )
    # Control and format characters (NUL, zero-width, bidi marks) become spaces.
    return "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def _read_quoted(s: str, i: int) -> tuple[str, int]:
    """s[i] is an opening quote; returns (content, index after the closing quote).

    An unbalanced quote runs to the end of the query (as search engines do).
    """
    j = i + 1
    while j < len(s) and s[j] not in _CLOSE_ANY:  # IMEs mix "…" and “…”
        j += 1
    return s[i + 1 : j], j + 1


def _lex(s: str) -> list[tuple[str, str, str]]:
    """-> [(kind, value, mark)] with kind word | phrase | or | and | filter:<field>
    and mark "-" (excluded), "+" (required) or ""."""
    out: list[tuple[str, str, str]] = []
    i, n = 0, len(s)
    while i < n:
        if s[i].isspace():
            i += 1
            continue
        neg = ""
        if s[i] in "-－+＋" and i + 1 < n and not s[i + 1].isspace() and s[i + 1] not in "+＋-－":
            neg, i = ("-" if s[i] in "-－" else "+"), i + 1
        m = _FIELD_RE.match(s, i)
        if m and m.group(1).lower() in _FIELDS:
            name = _FIELDS[m.group(1).lower()]
            j = m.end()
            if j < n and s[j] in _OPEN_QUOTES:
                value, i = _read_quoted(s, j)
            else:
                k = j
                while k < n and not s[k].isspace():
                    k += 1
                value, i = s[j:k], k
            if neg == "-":
                raise QueryError(
                    f"不支持按字段排除（-{m.group(1)}） / "
                    f"-{m.group(1)}: excluding by a field is not supported"
                )
            out.append((f"filter:{name}", value.strip(), ""))
            continue
        if s[i] in _OPEN_QUOTES:
            value, i = _read_quoted(s, i)
            out.append(("phrase", value, neg))
            continue
        k = i
        while k < n and not s[k].isspace():
            k += 1
        word, i = s[i:k], k
        if not neg and word in ("OR", "|", "||"):
            out.append(("or", word, ""))
        elif not neg and word in ("AND", "&", "&&"):
            out.append(("and", word, ""))
        else:
            out.append(("word", word, neg))
    return out


_COMPOUND = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{4,}")


def split_compounds(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Long Chinese compounds cut into two-character words: 拖欠工资 -> 拖欠 工资.

    jieba keeps dictionary compounds whole, so the word 拖欠工资 alone would miss
    "工资被拖欠". A word is searched as itself OR as these parts (all required);
    even-length compounds only, where the 2+2 reading is the usual one.
    """
    out: list[str] = []
    for tok in tokens:
        if len(tok) % 2 == 0 and _COMPOUND.fullmatch(tok):
            out.extend(tok[i : i + 2] for i in range(0, len(tok), 2))
        else:
            out.append(tok)
    return tuple(out)


def parse_text(text: str, tokenize: Tokenize) -> ParsedText:
    """Parse the query language; raises :class:`QueryError` for what cannot be searched."""
    s = _clean(text)
    parsed = ParsedText()
    pending_or = pending_and = False
    junk: list[str] = []
    n_terms = n_tokens = 0
    for kind, value, mark in _lex(s):
        if kind == "or":
            pending_or = bool(parsed.groups)
            continue
        if kind == "and":  # both sides required
            if parsed.groups:
                parsed.required[-1] = True
                pending_and = True
            continue
        if kind.startswith("filter:"):
            name = kind.removeprefix("filter:")
            if not value:
                raise QueryError(
                    f"{name}: 需要一个值，例如 `{_example(name)}` / "
                    f"{name}: needs a value, e.g. `{_example(name)}`"
                )
            old = parsed.filters.get(name)
            if old is not None and old != value:
                raise QueryError(
                    f"{name} 给了两次（{old!r} 和 {value!r}），只能给一次 / "
                    f"{name} is given twice ({old!r} and {value!r}); give it once"
                )
            parsed.filters[name] = value
            pending_or = False
            continue
        tokens = tuple(index_tokens(tokenize, value))
        if not tokens:
            junk.append(value)
            continue
        n_terms += 1
        n_tokens += len(tokens)
        if n_terms > MAX_TERMS:
            raise QueryError(
                f"检索词过多（超过 {MAX_TERMS} 个），请减少 / "
                f"too many search terms (more than {MAX_TERMS}); use fewer words"
            )
        if n_tokens > MAX_TOKENS:
            raise QueryError(
                f"查询过长（超过 {MAX_TOKENS} 个词），请缩短 / "
                f"query has too many words (more than {MAX_TOKENS}); shorten it"
            )
        term = Term(tokens, phrase=kind == "phrase" and len(tokens) > 1, word=value)
        if mark == "-":
            parsed.excluded.append(term)
            pending_or = False
            continue
        alts = [term]
        if kind != "phrase":  # quotes mean exactly this
            split = split_compounds(tokens)
            if split != tokens:
                alts.append(Term(split, word=value, split=True))
        required = kind == "phrase" or mark == "+" or pending_and
        if pending_or:
            parsed.groups[-1].extend(alts)
            parsed.required[-1] = parsed.required[-1] or required
        else:
            parsed.groups.append(alts)
            parsed.required.append(required)
        pending_or = pending_and = False
    if junk and not parsed.groups and not parsed.excluded and not parsed.filters:
        shown = " ".join(junk)[:40]
        raise QueryError(
            f"{shown!r} 中没有可检索的词，请输入文字，不要只输入符号 / "
            f"nothing to search for in {shown!r}: use words, not only symbols"
        )
    return parsed


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


def _dictionary() -> dict[str, int]:
    import jieba

    jieba.dt.check_initialized()
    return jieba.dt.FREQ  # type: ignore[no-any-return]


def word_parts(token: str) -> list[str]:
    """Dictionary words inside a long Chinese token, as jieba's search mode finds
    them (2- and 3-character words), plus the 2+2 halves of an even compound:
    拖欠工资 -> 拖欠 工资; 乱收费 -> 收费; 违章建筑 -> 违章 建筑."""
    if len(token) < 3 or not _CJK.fullmatch(token):
        return []
    freq = _dictionary()
    out: list[str] = []
    for n in (2, 3):
        for i in range(len(token) - n + 1):
            w = token[i : i + n]
            if w != token and freq.get(w) and w not in out:
                out.append(w)
    if len(token) % 2 == 0 and len(token) >= 4:
        for i in range(0, len(token), 2):
            if token[i : i + 2] not in out:
                out.append(token[i : i + 2])
    return out


def bigrams(token: str) -> list[str]:
    if len(token) < 3 or not _CJK.fullmatch(token):
        return []
    return [token[i : i + 2] for i in range(len(token) - 1)]


def build_plan(
    groups: list[list[Term]],
    required: list[bool],
    tokenize: Tokenize,
    synonyms: Synonyms | None = None,
    *,
    recall: bool = False,
) -> Plan:
    """Clauses, gates and the minimum match for ranked matching (module docstring).

    Every clause belongs to a unit, a component of a word (a token with its
    parts and synonyms, or the span of a multi-token table word); a post
    scores COORD for each unit it covers, so 医保缴费 ranks posts about paying
    (缴费, 缴纳 ...) medical insurance (医保, 医疗保险 ...) above posts about either."""
    expansions: dict[str, list[str]] = {}
    out: list[PlanGroup] = []
    units = _Units()
    for alts, req in zip(groups, required, strict=True):
        word = alts[0].word
        if req:  # strict: the terms as typed gate it; their tokens score it
            clauses = []
            for t in alts:
                u = units.new()
                if t.phrase:
                    clauses.append(Clause(t.tokens, TYPED_W, "typed", unit=u))
                else:
                    clauses += [Clause((tok,), TYPED_W, "typed", unit=u) for tok in t.tokens]
            out.append(PlanGroup(list(alts), _dedup(clauses), True, word))
            continue
        clauses: list[Clause] = []  # type: ignore[no-redef]
        for t in alts:
            if t.split:  # the 2+2 halves of the compound before: parts of its unit
                u = units.last()
                clauses += [Clause((tok,), PART_W, "part", unit=u) for tok in t.tokens]
                continue
            clauses += _word_clauses(t, tokenize, synonyms, units, expansions, recall)
        clauses = _dedup(clauses)
        out.append(PlanGroup([c.term for c in clauses], clauses, False, word))
    n_opt = sum(1 for g in out if not g.required)
    min_match = 1 if recall or n_opt <= 2 else n_opt - 1
    near: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    if not recall:  # recall mode sorts by time
        words = list(dict.fromkeys(alts[0].tokens for alts in groups))[:MAX_PROX_WORDS]
        near = [(a, b) for i, a in enumerate(words) for b in words[i + 1 :]]
    return Plan(out, min_match, expansions, recall=recall, near=near)


class _Units:
    def __init__(self) -> None:
        self.n = 0

    def new(self) -> int:
        self.n += 1
        return self.n - 1

    def last(self) -> int:
        return max(0, self.n - 1)


def _word_clauses(
    t: Term,
    tokenize: Tokenize,
    synonyms: Synonyms | None,
    units: _Units,
    expansions: dict[str, list[str]],
    recall: bool,
) -> list[Clause]:
    """A typed word's clauses: tokens, the phrase bonus, dictionary parts, synonyms
    and (recall mode) bigrams, each in the unit of the span of the word it covers."""
    word = t.word.lower()
    # Where each token sits in the word (tokens are lower-cased, punctuation dropped).
    spans: list[tuple[int, int]] = []
    pos = 0
    for tok in t.tokens:
        i = word.find(tok, pos)
        if i < 0:
            i = pos
        spans.append((i, i + len(tok)))
        pos = i + len(tok)
    # Synonym spans: the whole word, else the longest table words inside it.
    syn_spans: list[tuple[int, int, tuple[str, ...]]] = []
    if synonyms is not None:
        syn_spans = _synonym_spans(word, synonyms)
    # Components: a token, merged with the tokens a synonym span or a part covers.
    parent = list(range(len(t.tokens)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    def cover(a: int, b: int) -> list[int]:
        return [k for k, (s, e) in enumerate(spans) if s < b and a < e]

    def merge(ks: list[int]) -> None:
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])

    whole_parts = word_parts(word) if len(t.tokens) > 1 else []
    for a, b, _ in syn_spans:
        merge(cover(a, b))
    for p in whole_parts:
        i = word.find(p)
        merge(cover(i, i + len(p)))
    unit_of: dict[int, int] = {}
    for k in range(len(t.tokens)):
        r = find(k)
        if r not in unit_of:
            unit_of[r] = units.new()

    def unit(a: int, b: int) -> int:
        ks = cover(a, b) or [0]
        return unit_of[find(ks[0])]

    out: list[Clause] = []
    for k, tok in enumerate(t.tokens):
        u = unit_of[find(k)]
        out.append(
            Clause((tok,), TYPED_W if len(tok) > 1 or tok.isascii() else SINGLE_W, "typed", unit=u)
        )
        out += [Clause((p,), PART_W, "part", unit=u) for p in word_parts(tok)]
        if recall:
            out += [Clause((b,), RECALL_W, "recall", unit=u) for b in bigrams(tok)]
    if len(t.tokens) > 1:
        out.append(Clause(t.tokens, BONUS_W, "bonus", unit=unit_of[find(0)]))
    for p in whole_parts:  # 路灯不亮 is cut 路 灯不亮: 路灯 and 不亮 too
        i = word.find(p)
        out.append(Clause((p,), PART_W, "part", unit=unit(i, i + len(p))))
    used = expansions.setdefault(t.word, [])
    for a, b, exp in syn_spans:
        for e in exp:
            toks = tuple(index_tokens(tokenize, e))
            if toks and toks != t.tokens:
                out.append(Clause(toks, SYN_W, "synonym", e, unit=unit(a, b)))
                if e not in used:
                    used.append(e)
    if not used:
        del expansions[t.word]
    return out


def _synonym_spans(word: str, synonyms: Synonyms) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, expansions) of the table words in ``word``: the whole word,
    else the longest ones left to right (公司不交社保 -> 不交社保)."""
    exp = synonyms.expand(word)
    if exp:
        return [(0, len(word), exp)]
    out = []
    i = 0
    while i < len(word):
        for n in range(min(len(word) - i, 8), 1, -1):
            exp = synonyms.expand(word[i : i + n])
            if exp:
                out.append((i, i + n, exp))
                i += n
                break
        else:
            i += 1
    return out


def _dedup(clauses: list[Clause]) -> list[Clause]:
    """One clause per token list, keeping the first unit and the highest weight."""
    best: dict[tuple[str, ...], Clause] = {}
    for c in clauses:
        old = best.get(c.tokens)
        if old is None:
            best[c.tokens] = c
        elif c.weight > old.weight:
            best[c.tokens] = Clause(c.tokens, c.weight, c.kind, c.label, old.unit)
    return list(best.values())


def _example(name: str) -> str:
    return {
        "category": "category:环境保护",
        "tier": "tier:>=II",
        "area": "area:东湖街道",
        "source": "source:hotline",
        "since": "since:2026-11-01",
        "until": "until:2026-11-30",
        "sort": "sort:newest",
    }[name]


def _parse_tier_filter(value: str) -> tuple[int | None, int | None]:
    """'II' -> (exact 3, None); '>=II' -> (None, 3); '>III' -> (None, 3)."""
    m = re.fullmatch(r"(>=|≥|>|=|<=|<|≤)?\s*(.+)", value)
    assert m is not None  # the pattern matches any non-empty value
    op, rest = m.group(1) or "=", m.group(2)
    try:
        sev = parse_tier(rest)
    except ValueError as exc:
        raise QueryError(
            f"等级写法有误 tier:{value!r}，可用 I、II、III、IV 或 1-4 / tier:{value!r}: {exc}"
        ) from None
    if op == "=":
        return sev, None
    if op in (">=", "≥"):
        return None, sev
    if op == ">":
        if sev == 4:
            raise QueryError(
                f"tier:{value!r}：没有比 I 级更严重的等级 / "
                f"tier:{value!r}: nothing is more serious than tier I"
            )
        return None, sev + 1
    t = tier_name(sev)
    raise QueryError(
        f"tier:{value!r}：请写 tier:{t} 或 tier:>={t} / tier:{value!r}: use tier:{t} or tier:>={t}"
    )


def _parse_when(name: str, value: str, tz: tzinfo) -> datetime:
    v = value.replace("/", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v):
            y, mo, d = (int(x) for x in v.split("-"))
            day = date(y, mo, d)
            if name == "until":  # a date means "through that day"
                day += timedelta(days=1)
            return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        dt = datetime.fromisoformat(v)
        return _aware(dt, tz)
    except ValueError:
        raise QueryError(
            f"{name}:{value!r} 不是日期，请写成 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM / "
            f"{name}:{value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    except OverflowError:  # until:9999-12-31 is the day after; since:0001-01-01 in UTC+8
        raise QueryError(f"{name}:{value!r} 超出范围 / {name}:{value!r} is out of range") from None


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00 in UTC+8 is before year 1 in UTC
        raise QueryError(f"{dt.isoformat()} 超出范围 / {dt.isoformat()} is out of range") from None


def _merge(name: str, given: str | int | None, typed: str | int | None) -> str | int | None:
    if given is not None and typed is not None and given != typed:
        raise QueryError(
            f"查询中的 {name}:{typed!r} 与所选的 {name} {given!r} 相矛盾 / "
            f"{name}:{typed!r} in the query conflicts with the selected {name} {given!r}"
        )
    return given if given is not None else typed


def compile_query(
    q: SearchQuery, tokenize: Tokenize, tz: tzinfo, synonyms: Synonyms | None = None
) -> CompiledQuery:
    """Validate ``q`` and merge the filters typed into ``q.text`` with its fields;
    plan ranked matching (with ``synonyms`` unless ``q.expand`` is off)."""
    if not isinstance(q.text, str):
        raise QueryError("查询内容必须是文字 / query text must be a string")
    parsed = parse_text(q.text, tokenize)
    f = parsed.filters

    sev_exact, sev_min = (None, None)
    if "tier" in f:
        sev_exact, sev_min = _parse_tier_filter(f["tier"])
    for name, val in (("severity_min", q.severity_min), ("severity", q.severity)):
        if val is not None and (
            not isinstance(val, int) or isinstance(val, bool) or not 1 <= val <= 4
        ):
            raise QueryError(
                f"{name} 必须是 1..4（4 即 I 级），收到 {val!r} / "
                f"{name} must be 1..4 (4 = tier I), got {val!r}"
            )
    severity = _merge("severity", q.severity, sev_exact)
    severity_min = max((v for v in (q.severity_min, sev_min) if v is not None), default=None)

    since = [_aware(q.since, tz)] if q.since else []
    until = [_aware(q.until, tz)] if q.until else []
    if "since" in f:
        since.append(_parse_when("since", f["since"], tz))
    if "until" in f:
        until.append(_parse_when("until", f["until"], tz))

    recall = bool(getattr(q, "recall", False))
    sort = q.sort
    if recall:
        sort = "newest"  # "everything about X", newest first
    if "sort" in f:
        if f["sort"].lower() not in _SORTS:
            raise QueryError(
                f"sort:{f['sort']!r}：请写 sort:newest（最新）或 sort:relevance（相关度） / "
                f"sort:{f['sort']!r}: use sort:newest or sort:relevance"
            )
        sort = _SORTS[f["sort"].lower()]  # type: ignore[assignment]
    if sort not in ("relevance", "newest"):
        raise QueryError(
            f"排序只能是 relevance 或 newest，收到 {sort!r} / "
            f"sort must be 'relevance' or 'newest', got {sort!r}"
        )
    if q.histogram not in (None, "day", "week"):
        raise QueryError(
            f"分布图只能按 day 或 week，收到 {q.histogram!r} / "
            f"histogram must be 'day', 'week' or None, got {q.histogram!r}"
        )
    if not isinstance(q.limit, int) or not 1 <= q.limit <= MAX_LIMIT:
        raise QueryError(
            f"条数必须是 1..{MAX_LIMIT}，收到 {q.limit!r} / limit must be 1..{MAX_LIMIT}, got {q.limit!r}"
        )
    if not isinstance(q.offset, int) or not 0 <= q.offset <= MAX_OFFSET:
        raise QueryError(
            f"起始位置必须是 0..{MAX_OFFSET}，收到 {q.offset!r} / "
            f"offset must be 0..{MAX_OFFSET}, got {q.offset!r}"
        )

    return CompiledQuery(
        groups=parsed.groups,
        excluded=parsed.excluded,
        category=_merge("category", q.category, f.get("category")),  # type: ignore[arg-type]
        severity_min=severity_min,
        severity=severity,  # type: ignore[arg-type]
        area=_merge("area", q.area, f.get("area")),  # type: ignore[arg-type]
        source=_merge("source", q.source, f.get("source")),  # type: ignore[arg-type]
        since=max(since) if since else None,
        until=min(until) if until else None,
        sort=sort,
        limit=q.limit,
        offset=q.offset,
        facets=bool(q.facets),
        histogram=q.histogram,
        plan=build_plan(
            parsed.groups,
            parsed.required,
            tokenize,
            synonyms if getattr(q, "expand", True) else None,
            recall=recall,
        ),
        recall=recall,
    )


def fill_histogram(
    counts: dict[date, int], interval: str, tz: tzinfo
) -> list[tuple[datetime, int]]:
    """Bucket-start dates -> [(local midnight, count)] with empty buckets filled."""
    if not counts:
        return []
    step = timedelta(days=7 if interval == "week" else 1)
    day, last = min(counts), max(counts)
    out: list[tuple[datetime, int]] = []
    while day <= last:
        out.append((datetime(day.year, day.month, day.day, tzinfo=tz), counts.get(day, 0)))
        day += step
    return out


__all__ = [
    "FACET_FIELDS",
    "MAX_TERMS",
    "CompiledQuery",
    "ParsedText",
    "FULL_MATCH_MIN",
    "PROX_BONUS",
    "PROX_SLOP",
    "Clause",
    "Plan",
    "PlanGroup",
    "Term",
    "build_plan",
    "compile_query",
    "fill_histogram",
    "parse_text",
]
