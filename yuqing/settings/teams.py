"""The teams.yaml models: response teams, their areas, working time and escalation chain."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from yuqing.settings.base import Name, _Model


class WorkingTime(_Model):
    """When a team works: tier III-IV deadlines count only this time, and their
    notifications wait for it (quiet hours). Weekdays are ISO (1 = Monday)."""

    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    start: str = Field("08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: list[date] = Field(default_factory=list)  # days off that are weekdays
    workdays: list[date] = Field(default_factory=list)  # make-up days (调休) on weekends

    @model_validator(mode="after")
    def _span(self) -> WorkingTime:
        if not self.days or any(d < 1 or d > 7 for d in self.days):
            raise ValueError(
                "days 须为 1（周一）到 7（周日）的数字 / "
                "days must be ISO weekdays 1 (Monday) .. 7 (Sunday)"
            )
        if self.end <= self.start:
            raise ValueError(
                f"下班时间 end {self.end} 须晚于上班时间 start {self.start} / "
                f"end {self.end} must be after start {self.start}"
            )
        return self


class Team(_Model):
    id: Name
    name: str
    level: Literal["grid", "community", "street", "township", "county"]
    areas: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)  # empty: every category
    parent: str | None = None  # next level up the escalation chain
    channels: list[str] = Field(default_factory=list)
    working_time: WorkingTime | None = None  # default: alerts.yaml working_time


class TeamsFile(_Model):
    triage_team: str  # unroutable posts, and the duty desk where no duty_desks entry covers
    teams: list[Team] = Field(min_length=1)
    # The duty desk (值班/舆情专员) of a county or street: area -> team. A tier I-II alert
    # that rests on the machine alone goes to the desk covering its area first (研判).
    duty_desks: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refs(self) -> TeamsFile:
        ids = [t.id for t in self.teams]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"责任单位 id 重复：{sorted(dup)} / duplicate team ids: {sorted(dup)}")
        if self.triage_team not in ids:
            raise ValueError(
                f"triage_team {self.triage_team!r} 不是已配置的责任单位 / "
                f"triage_team {self.triage_team!r} is not a team"
            )
        for area, desk in self.duty_desks.items():
            if desk not in ids:
                raise ValueError(
                    f"duty_desks.{area}：{desk!r} 不是已配置的责任单位 / "
                    f"duty_desks.{area}: {desk!r} is not a team"
                )
        for t in self.teams:
            if t.parent is not None and t.parent not in ids:
                raise ValueError(
                    f"责任单位 {t.id!r} 的上级 {t.parent!r} 不是已配置的责任单位 / "
                    f"team {t.id!r}: parent {t.parent!r} is not a team"
                )
        # the escalation chain must end (no cycles)
        parents = {t.id: t.parent for t in self.teams}
        for t in self.teams:
            seen, cur = set(), t.id
            while cur is not None:
                if cur in seen:
                    raise ValueError(
                        f"责任单位 {t.id!r} 的升级链绕回了自己 / "
                        f"team {t.id!r}: escalation chain loops"
                    )
                seen.add(cur)
                cur = parents[cur]
        return self

    def by_id(self) -> dict[str, Team]:
        return {t.id: t for t in self.teams}
