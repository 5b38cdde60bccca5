"""The ground of the settings models: the base model (frozen, no unknown keys) and the
value types every file uses (durations, tiers, names)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from yuqing.contracts import parse_tier

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '5h', '2d', 30 (seconds) -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"不是时长：{value!r} / not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(
                f"不是时长：{value!r}（可写 30s、15m、5h、2d 等）/ "
                f"not a duration: {value!r} (use e.g. 30s, 15m, 5h, 2d)"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(
            f"时长须大于 0，实际是 {value!r} / duration must be positive, got {value!r}"
        )
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # 1e30 seconds, .inf
        raise ValueError(f"时长过长：{value!r} / duration too long: {value!r}") from None


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _tier(value: Any) -> int:
    try:
        return parse_tier(value)
    except ValueError as exc:
        raise ValueError(f"不是等级：{value!r}（可写 I、II、III、IV 或 1-4）/ {exc}") from None


Severity = Annotated[int, BeforeValidator(_tier)]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
