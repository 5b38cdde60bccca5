"""The taxonomy.yaml models: issue categories and the severity rubric with its lexicons."""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
)

from yuqing.settings.base import Severity, _Model


class Category(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(default_factory=list)


class ContextTerm(_Model):
    """A severity term that counts only in context ("老人" only near harm or danger)."""

    term: str = Field(min_length=1)
    near: list[str] = Field(default_factory=list)  # one must occur within `window` chars
    not_near: list[str] = Field(default_factory=list)  # any within `window` cancels it
    except_in: list[str] = Field(default_factory=list)  # phrases holding the term that don't count
    window: int = Field(default=25, ge=1, le=200)


class SeverityTier(_Model):
    label: str
    description: str = ""
    terms: list[str] = Field(default_factory=list)  # any one of these suggests the tier
    contextual: list[ContextTerm] = Field(default_factory=list)


class TaxonomyFile(_Model):
    categories: list[Category] = Field(min_length=1)
    uncertain_label: str = "待分拣"
    severity: dict[Severity, SeverityTier]

    @field_validator("severity")
    @classmethod
    def _all_tiers(cls, v: dict[int, SeverityTier]) -> dict[int, SeverityTier]:
        missing = {1, 2, 3, 4} - set(v)
        if missing:
            from yuqing.contracts import tier_name

            names = [tier_name(s) for s in sorted(missing)]
            raise ValueError(f"缺少等级：{'、'.join(names)} / missing tiers: {', '.join(names)}")
        return v

    @field_validator("categories")
    @classmethod
    def _unique(cls, v: list[Category]) -> list[Category]:
        names = [c.name for c in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"类别重复：{sorted(dup)} / duplicate categories: {sorted(dup)}")
        return v

    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]
