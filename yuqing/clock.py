"""Injected time, so deadlines and escalation are testable without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ScaledClock:
    """Time that runs ``factor`` times faster than the wall clock from ``start``:
    soak runs live a day in half an hour. Processes given the same :meth:`spec`
    (the crawl children, through ``settings.clock``) read the same time."""

    def __init__(self, start: datetime, factor: float, epoch: float | None = None) -> None:
        import time

        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware datetime")
        if factor <= 0:
            raise ValueError(f"ScaledClock factor must be positive, got {factor}")
        self.start = start
        self.factor = float(factor)
        self.epoch = time.time() if epoch is None else float(epoch)

    def now(self) -> datetime:
        import time

        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.factor)

    def spec(self) -> str:
        return f"scaled:{self.start.isoformat()};{self.factor!r};{self.epoch!r}"


def clock_from_spec(spec: str | None) -> Clock:
    """``None``/``system`` or a :meth:`ScaledClock.spec` string -> a clock.
    Raises ValueError naming what is wrong."""
    if not spec or spec == "system":
        return SystemClock()
    kind, _, rest = spec.partition(":")
    parts = rest.split(";")
    if kind != "scaled" or len(parts) != 3:
        raise ValueError(f"clock {spec!r}: use 'system' or 'scaled:<start ISO>;<factor>;<epoch>'")
    try:
        return ScaledClock(datetime.fromisoformat(parts[0]), float(parts[1]), float(parts[2]))
    except ValueError as exc:
        raise ValueError(f"clock {spec!r}: {exc}") from None
