"""Jurisdiction (属地): place a post in the smallest area its text names."""

from __future__ import annotations

from dataclasses import dataclass

from yuqing.settings import AreasFile

_DEPTH = {"county": 0, "street": 1, "township": 1, "community": 2, "village": 2, "grid": 3}


@dataclass(frozen=True, slots=True)
class Placement:
    area: str | None
    matched: str | None  # the span of text that placed it, kept as the reason


class Gazetteer:
    def __init__(self, areas: AreasFile) -> None:
        self._parents: dict[str, str | None] = {}
        self._depth: dict[str, int] = {}
        self._names: list[tuple[str, str]] = []  # (surface form, area name)
        for name, (area, parent) in areas.all().items():
            self._parents[name] = parent
            self._depth[name] = _DEPTH[area.level]
            for form in (area.name, *area.aliases):
                self._names.append((form, name))
        # Longer surface forms first so 东湖新村 beats 东湖.
        self._names.sort(key=lambda p: -len(p[0]))

    def place(self, text: str, default: str | None = None) -> Placement:
        best: tuple[int, int, str, str] | None = None  # (depth, len, area, form)
        taken: list[tuple[int, int]] = []
        for form, name in self._names:
            start = text.find(form)
            while start != -1:
                end = start + len(form)
                if not any(s <= start and end <= e for s, e in taken):
                    taken.append((start, end))
                    cand = (self._depth[name], len(form), name, form)
                    if best is None or cand[:2] > best[:2]:
                        best = cand
                    break
                start = text.find(form, start + 1)
        if best is None:
            return Placement(default, None)
        return Placement(best[2], best[3])

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
