"""The areas.yaml models: the gazetteer's places (county, street/township, community/village)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from yuqing.settings.base import _Model


class Area(_Model):
    name: str = Field(min_length=1)
    level: Literal["county", "street", "township", "community", "village", "grid"]
    aliases: list[str] = Field(default_factory=list)
    children: list[Area] = Field(default_factory=list)

    def walk(self, parent: str | None = None) -> list[tuple[Area, str | None]]:
        out: list[tuple[Area, str | None]] = [(self, parent)]
        for c in self.children:
            out.extend(c.walk(self.name))
        return out


class AreasFile(_Model):
    areas: list[Area] = Field(min_length=1)

    def all(self) -> dict[str, tuple[Area, str | None]]:
        """name -> (area, parent name)."""
        out: dict[str, tuple[Area, str | None]] = {}
        for root in self.areas:
            for a, parent in root.walk():
                out[a.name] = (a, parent)
        return out

    @model_validator(mode="after")
    def _unique(self) -> AreasFile:
        seen: set[str] = set()
        for root in self.areas:
            for a, _ in root.walk():
                if a.name in seen:
                    raise ValueError(f"地名重复：{a.name!r} / duplicate area name {a.name!r}")
                seen.add(a.name)
        return self
