"""The query language people type, parsed into a backend-neutral form.

    东湖 污水            both words (each segmented by jieba; all tokens required)
    "污水 直排"          an exact phrase (“中文引号” work too)
    -噪音                exclude a word or -"a phrase"
    污水 OR 废水         either (OR binds tighter than the implicit AND)
    category:环境保护 tier:>=II area:东湖街道 source:demo-board
    since:2026-11-01 until:2026-11-30 sort:newest

Anything else is literal text: operators of other engines (``NEAR(``, ``*``,
``^``, ``title:``, ``AND``) are never passed through, because backends only
receive token lists, never a query string of their own syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from index.base import FACET_FIELDS, QueryError, SearchQuery, Tokenize
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
    """A word (all tokens required, anywhere) or a phrase (tokens adjacent, in order)."""

    tokens: tuple[str, ...]
    phrase: bool = False


@dataclass(slots=True)
class ParsedText:
    groups: list[list[Term]] = field(default_factory=list)  # AND of ORs
    excluded: list[Term] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)  # canonical field -> raw value


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

    @property
    def has_terms(self) -> bool:
        return bool(self.groups)

    def highlight_terms(self) -> set[str]:
        return {t for g in self.groups for term in g for t in term.tokens}


def _clean(text: str) -> str:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
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


def _lex(s: str) -> list[tuple[str, str, bool]]:
    """-> [(kind, value, negated)] with kind word | phrase | or | filter:<field>."""
    out: list[tuple[str, str, bool]] = []
    i, n = 0, len(s)
    while i < n:
        if s[i].isspace():
            i += 1
            continue
        neg = False
        if s[i] in "-－" and i + 1 < n and not s[i + 1].isspace():
            neg, i = True, i + 1
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
            if neg:
                raise QueryError(f"-{m.group(1)}: excluding by a field is not supported")
            out.append((f"filter:{name}", value.strip(), False))
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
            out.append(("or", word, False))
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
    pending_or = False
    junk: list[str] = []
    n_terms = n_tokens = 0
    for kind, value, neg in _lex(s):
        if kind == "or":
            pending_or = bool(parsed.groups)
            continue
        if kind.startswith("filter:"):
            name = kind.removeprefix("filter:")
            if not value:
                raise QueryError(f"{name}: needs a value, e.g. {_example(name)}")
            old = parsed.filters.get(name)
            if old is not None and old != value:
                raise QueryError(f"{name} is given twice ({old} and {value}); give it once")
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
            raise QueryError(f"too many search terms (more than {MAX_TERMS}); use fewer words")
        if n_tokens > MAX_TOKENS:
            raise QueryError(f"query has too many words (more than {MAX_TOKENS}); shorten it")
        term = Term(tokens, phrase=kind == "phrase" and len(tokens) > 1)
        if neg:
            parsed.excluded.append(term)
            pending_or = False
            continue
        alts = [term]
        if kind != "phrase":  # quotes mean exactly this
            split = split_compounds(tokens)
            if split != tokens:
                alts.append(Term(split))
        if pending_or:
            parsed.groups[-1].extend(alts)
        else:
            parsed.groups.append(alts)
        pending_or = False
    if junk and not parsed.groups and not parsed.excluded and not parsed.filters:
        shown = " ".join(junk)[:40]
        raise QueryError(f"nothing to search for in {shown!r}: use words, not only symbols")
    return parsed


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
        raise QueryError(f"tier:{value}: {exc}") from None
    if op == "=":
        return sev, None
    if op in (">=", "≥"):
        return None, sev
    if op == ">":
        if sev == 4:
            raise QueryError(f"tier:{value}: nothing is more serious than tier I")
        return None, sev + 1
    raise QueryError(f"tier:{value}: use tier:{tier_name(sev)} or tier:>={tier_name(sev)}")


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
            f"{name}:{value} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    except OverflowError:  # until:9999-12-31 is the day after; since:0001-01-01 in UTC+8
        raise QueryError(f"{name}:{value} is out of range") from None


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00 in UTC+8 is before year 1 in UTC
        raise QueryError(f"{dt.isoformat()} is out of range") from None


def _merge(name: str, given: str | int | None, typed: str | int | None) -> str | int | None:
    if given is not None and typed is not None and given != typed:
        raise QueryError(f"{name}:{typed} in the query conflicts with the selected {name} {given}")
    return given if given is not None else typed


def compile_query(q: SearchQuery, tokenize: Tokenize, tz: tzinfo) -> CompiledQuery:
    """Validate ``q`` and merge the filters typed into ``q.text`` with its fields."""
    if not isinstance(q.text, str):
        raise QueryError("query text must be a string")
    parsed = parse_text(q.text, tokenize)
    f = parsed.filters

    sev_exact, sev_min = (None, None)
    if "tier" in f:
        sev_exact, sev_min = _parse_tier_filter(f["tier"])
    for name, val in (("severity_min", q.severity_min), ("severity", q.severity)):
        if val is not None and (
            not isinstance(val, int) or isinstance(val, bool) or not 1 <= val <= 4
        ):
            raise QueryError(f"{name} must be 1..4 (4 = tier I), got {val!r}")
    severity = _merge("severity", q.severity, sev_exact)
    severity_min = max((v for v in (q.severity_min, sev_min) if v is not None), default=None)

    since = [_aware(q.since, tz)] if q.since else []
    until = [_aware(q.until, tz)] if q.until else []
    if "since" in f:
        since.append(_parse_when("since", f["since"], tz))
    if "until" in f:
        until.append(_parse_when("until", f["until"], tz))

    sort = q.sort
    if "sort" in f:
        if f["sort"].lower() not in _SORTS:
            raise QueryError(f"sort:{f['sort']}: use sort:newest or sort:relevance")
        sort = _SORTS[f["sort"].lower()]  # type: ignore[assignment]
    if sort not in ("relevance", "newest"):
        raise QueryError(f"sort must be 'relevance' or 'newest', got {sort!r}")
    if q.histogram not in (None, "day", "week"):
        raise QueryError(f"histogram must be 'day', 'week' or None, got {q.histogram!r}")
    if not isinstance(q.limit, int) or not 1 <= q.limit <= MAX_LIMIT:
        raise QueryError(f"limit must be 1..{MAX_LIMIT}, got {q.limit!r}")
    if not isinstance(q.offset, int) or not 0 <= q.offset <= MAX_OFFSET:
        raise QueryError(f"offset must be 0..{MAX_OFFSET}, got {q.offset!r}")

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
    "Term",
    "compile_query",
    "fill_histogram",
    "parse_text",
]
