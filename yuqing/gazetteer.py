"""Jurisdiction (属地): place a post in the smallest area its text names.

How a post is placed (README, Configuration):

1. **Mentions.** The title and the body are scanned for surface forms, leftmost-longest
   and without overlaps. Forms are each area's name and configured aliases (strong), and
   forms derived from the name the way residents write it (generated here, so a gazetteer
   built from official division data needs no hand-written aliases): 某某村委会 and
   某某镇人民政府 (strong), and the bare stem 某某 of 某某村 / 某某社区 / 某某镇 / 某某街道
   (weak). A bare stem directly followed by a road word (路, 大街, 巷…) names a road, not
   the area; followed by a level word (镇, 乡, 社区, 小区, 村…) it keeps only candidates of
   that level. A stem followed by a level word that matches no area may be a misspelling:
   one character off, by the same pinyin (拼音输入法 typos), is accepted as weak evidence.
2. **Collisions.** A form shared by several areas (刘庄村 in two townships, 白塔 for 白塔乡
   and its seat 白塔村) is settled by the other unambiguous places in the text (and the
   post's source area): each candidate is scored by the depth of its lowest common
   ancestor with them, so a village named beside its township, or beside a neighbouring
   village, beats a same-named village elsewhere. Unsettled, it stays at the level that is
   certain: the candidates' lowest common ancestor. A bare stem that is also a common
   word (新村, 中心, 东风, 团结, 东街…) counts only with such support.
3. **One area.** An area named together with one of its ancestors wins (the most
   specific). Several unrelated areas go to the one the title names, if it names exactly
   one, else to their lowest common ancestor. With no place named, the post keeps its
   source's area, which also wins when the text names only an area containing it.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from yuqing.settings import AreasFile

_DEPTH = {"county": 0, "street": 1, "township": 1, "community": 2, "village": 2, "grid": 3}

STRONG, WEAK = 2, 1

# Endings of official names -> the written variants that mean the same area (strong).
_VARIANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "street": {"街道": ("街道办事处", "街道办", "街办", "办事处")},
    "township": {"镇": ("镇人民政府", "镇政府"), "乡": ("乡人民政府", "乡政府")},
    "community": {"社区": ("社区居委会", "社区居民委员会", "居委会", "居民委员会")},
    "village": {"村": ("村委会", "村民委员会")},
    "county": {"县": ("县人民政府", "县政府"), "区": ("区人民政府",), "市": ("市人民政府",)},
}
# A level word right after a bare stem: the stem names an area of that level.
_LEVEL_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("街道", frozenset({"street"})),
    ("街办", frozenset({"street"})),
    ("社区", frozenset({"community"})),
    ("居委", frozenset({"community"})),
    ("小区", frozenset({"community", "village"})),
    ("村", frozenset({"village", "community"})),
    ("镇", frozenset({"township"})),
    ("乡", frozenset({"township"})),
    ("县", frozenset({"county"})),
)
# A road word right after a bare stem: a road named after the area, anywhere in the county.
_ROAD = re.compile(r"^(?:路(?!口)|大道|大街|街(?!道|办)|巷|胡同|弄)")
# Stems made of a direction or position and a generic place word read as ordinary words
# (东街, 北关, 新村, 前营) far more often than as one particular community or village.
_POSITIONAL = re.compile(r"^[东西南北中前后新老]{1,2}[街关门村庄城区场营楼寨屯集店桥湖河山岗园]$")
_ROAD_END = re.compile(r"(?:路|大道|大街|巷|胡同)$")
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True, slots=True)
class Placement:
    area: str | None
    matched: str | None  # the span(s) of text that placed it, kept as the reason
    reason: str = ""  # how: "named", "title", "common parent", "source", ...


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    form: str
    in_title: bool
    cands: dict[str, int]  # area -> strength of this form for it
    doubtful: bool  # a bare common word: counts only with support


@functools.cache
def _jieba_words() -> dict[str, tuple[int, str]]:
    """jieba's bundled dictionary (word -> (frequency, part of speech)), or {} without it.

    Read as a word list only; the segmenter is not loaded."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "dict.txt"
    out: dict[str, tuple[int, str]] = {}
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and len(parts[0]) <= 4:
                    out[parts[0]] = (int(parts[1]), parts[2])
    except OSError:
        return {}
    return out


def common_word(stem: str) -> bool:
    """True when a bare stem is an everyday word or a generic positional name.

    An ordinary word (not a place name) with frequency >= 100 in jieba's dictionary,
    a well-known place name elsewhere (frequency >= 1000), or a positional name."""
    if _POSITIONAL.match(stem):
        return True
    freq, tag = _jieba_words().get(stem, (0, ""))
    return freq >= 1000 or (freq >= 100 and not tag.startswith("ns"))


def _everyday(word: str) -> bool:
    freq, tag = _jieba_words().get(word, (0, ""))
    return freq >= 100 and not tag.startswith("ns")


@functools.cache
def _readings(ch: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


class Gazetteer:
    def __init__(self, areas: AreasFile, *, common: Callable[[str], bool] = common_word) -> None:
        self._parents: dict[str, str | None] = {}
        self._depth: dict[str, int] = {}
        self._level: dict[str, str] = {}
        self._forms: dict[str, dict[str, int]] = {}  # surface form -> {area: strength}
        self._bare: dict[str, bool] = {}  # weak-only form -> is it a common word
        # misspelling index: (stem without char i, i, reading of char i) -> areas
        self._fuzzy: dict[tuple[str, int, str], set[str]] = {}
        for name, (area, parent) in areas.all().items():
            self._parents[name] = parent
            self._depth[name] = _DEPTH[area.level]
            self._level[name] = area.level
            for written in (area.name, *area.aliases):
                self._add(written, name, STRONG)
                for ending, variants in _VARIANTS.get(area.level, {}).items():
                    if not written.endswith(ending):
                        continue
                    stem = written[: -len(ending)]
                    for v in variants:
                        self._add(stem + v, name, STRONG)
                    # 文昌路社区 -> 文昌路 would name the road, not the community
                    if len(stem) >= 2 and not _ROAD_END.search(stem):
                        self._add(stem, name, WEAK)
                        self._index_fuzzy(stem, name)
        for form, cands in self._forms.items():
            if max(cands.values()) == WEAK:
                self._bare[form] = common(form)
        # per first character, the lengths of the forms it starts, longest first
        starts: dict[str, set[int]] = {}
        for form in self._forms:
            starts.setdefault(form[0], set()).add(len(form))
        self._starts = {ch: sorted(ls, reverse=True) for ch, ls in starts.items()}
        self._up = {a: tuple(self.ancestors(a)) for a in self._parents}

    def _add(self, form: str, area: str, strength: int) -> None:
        cands = self._forms.setdefault(form, {})
        cands[area] = max(cands.get(area, 0), strength)

    def _index_fuzzy(self, stem: str, area: str) -> None:
        for i, ch in enumerate(stem):
            for r in _readings(ch):
                self._fuzzy.setdefault((stem[:i] + "?" + stem[i + 1 :], i, r), set()).add(area)

    # ------------------------------------------------------------------ scanning

    def _scan(self, text: str, in_title: bool) -> list[_Mention]:
        out: list[_Mention] = []
        i, n = 0, len(text)
        while i < n:
            for length in self._starts.get(text[i], ()):
                if i + length > n:
                    continue
                form = text[i : i + length]
                cands = self._forms.get(form)
                if cands is None:
                    continue
                m = self._mention(text, i, form, cands, in_title)
                if m is not None:
                    out.append(m)
                    i = m.end
                    break
            else:
                i += 1
        return self._misspelt(text, out, in_title)

    def _mention(
        self, text: str, i: int, form: str, cands: dict[str, int], in_title: bool
    ) -> _Mention | None:
        end = i + len(form)
        if form not in self._bare:
            return _Mention(i, end, form, in_title, dict(cands), False)
        after = text[end : end + 3]
        if _ROAD.match(after):
            return None  # 渔沃路: a road named after the area
        for word, levels in _LEVEL_WORDS:
            if after.startswith(word):
                fit = {a: s for a, s in cands.items() if self._level[a] in levels}
                # 张集镇 where only 张集村 exists: another county's township, not ours
                return _Mention(i, end, form, in_title, fit, False) if fit else None
        # 大岗位, 新庄稼: the stem's last character starts an everyday word, so it may
        # not be the place at all
        split = _everyday(text[end - 1 : end + 1])
        return _Mention(i, end, form, in_title, dict(cands), self._bare[form] or split)

    def _misspelt(self, text: str, found: list[_Mention], in_title: bool) -> list[_Mention]:
        """Stems one character off a known stem (same pinyin) before a level word."""
        # a stem before a level word outweighs a bare stem it overlaps (东明急镇: not 东明)
        covered = [(m.start, m.end) for m in found if m.form not in self._bare]
        extra: list[_Mention] = []
        for word, levels in _LEVEL_WORDS:
            for hit in re.finditer(re.escape(word), text):
                p = hit.start()
                for length in (4, 3, 2):
                    s = p - length
                    if s < 0 or any(a < hit.end() and s < b for a, b in covered):
                        continue
                    stem = text[s:p]
                    if not _CJK.match(stem) or self._known(stem, levels):
                        continue
                    areas = self._near(stem, levels)
                    if areas:
                        m = _Mention(s, p, stem, in_title, dict.fromkeys(areas, WEAK), False)
                        extra.append(m)
                        covered.append((s, hit.end()))
                        break
        if extra:
            found = [
                m for m in found if not any(m.start < x.end + 2 and x.start < m.end for x in extra)
            ]
        return sorted(found + extra, key=lambda m: m.start)

    def _known(self, stem: str, levels: frozenset[str]) -> bool:
        return any(self._level[a] in levels for a in self._forms.get(stem, ()))

    def _near(self, stem: str, levels: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for i, ch in enumerate(stem):
            for r in _readings(ch):
                for a in self._fuzzy.get((stem[:i] + "?" + stem[i + 1 :], i, r), ()):
                    if self._level[a] in levels:
                        out.add(a)
        return out

    # ------------------------------------------------------------------ placing

    def place(self, text: str, default: str | None = None, title: str | None = None) -> Placement:
        """The area the post is about. ``title`` (when given apart from ``text``) decides
        between two unrelated places the post names; ``default`` is the source's area."""
        mentions = (self._scan(title, True) if title else []) + self._scan(text, False)
        # places named without doubt (and the source's area) settle the doubtful ones
        anchors = [
            (i, next(iter(m.cands)))
            for i, m in enumerate(mentions)
            if len(m.cands) == 1 and not m.doubtful
        ]
        if default in self._parents:
            anchors.append((-1, default))
        resolved: list[tuple[str, _Mention]] = []
        for i, m in enumerate(mentions):
            scored: dict[str, tuple[int, int]] = {}
            for c, strength in m.cands.items():
                support = max((self._lca_depth(c, a) for j, a in anchors if j != i), default=0)
                scored[c] = (max(support, 0), strength)
            best = max(scored.values())
            if m.doubtful and best[0] == 0:
                continue  # a common word with no place beside it
            area = self.common_ancestor([c for c, s in scored.items() if s == best])
            if area is not None:
                resolved.append((area, m))
        if not resolved:
            return Placement(default, None, "source" if default else "")
        named = {a for a, _ in resolved}
        leaves = [a for a in named if not any(a != b and a in self._up[b] for b in named)]
        if len(leaves) == 1:
            area, reason, shown = leaves[0], "named", {leaves[0]}
        else:
            in_title = {a for a, m in resolved if m.in_title and a in leaves}
            if len(in_title) == 1:
                area, reason, shown = next(iter(in_title)), "title", in_title
            else:
                area, reason, shown = self.common_ancestor(leaves), "common parent", set(leaves)
        if area is None or (default in self._parents and area in self._up[default][1:]):
            return Placement(default, None, "source")
        spans = dict.fromkeys(m.form for a, m in resolved if a in shown)
        return Placement(area, "、".join(spans), reason)

    def _lca_depth(self, a: str, b: str) -> int:
        up = self._up[a]
        for x in self._up[b]:
            if x in up:
                return self._depth[x]
        return -1

    def common_ancestor(self, areas: list[str]) -> str | None:
        """The lowest area containing all of ``areas`` (itself when there is one)."""
        if not areas:
            return None
        common = list(self._up.get(areas[0], ()))
        for other in areas[1:]:
            common = [a for a in common if a in self._up.get(other, ())]
        return common[0] if common else None

    def depth(self, area: str | None) -> int | None:
        """0 for the county, 1 for a street or township, 2 for a community or village."""
        return self._depth.get(area) if area is not None else None

    def ancestors(self, area: str | None) -> list[str]:
        """The area itself, then each level up to the county."""
        out: list[str] = []
        while area is not None and area in self._parents:
            out.append(area)
            area = self._parents[area]
        return out

    def __contains__(self, area: str) -> bool:
        return area in self._parents


def subtree(areas: AreasFile, names: Iterable[str]) -> frozenset[str]:
    """The areas and every area inside them (areas.yaml)."""
    children: dict[str | None, list[str]] = {}
    for name, (_area, parent) in areas.all().items():
        children.setdefault(parent, []).append(name)
    out: set[str] = set()
    todo = list(names)
    while todo:
        cur = todo.pop()
        if cur in out:
            continue
        out.add(cur)
        todo.extend(children.get(cur, []))
    return frozenset(out)
