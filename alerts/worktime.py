"""Working time: deadlines of tier III-IV count only a team's working hours, and
their notifications wait for them (quiet hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from yuqing.settings import AppConfig, WorkingTime

DAY = timedelta(days=1)


class WorkCalendar:
    """One team's working days and hours in the deployment's time zone."""

    def __init__(self, wt: WorkingTime, tz: str) -> None:
        self.wt = wt
        self.zone = ZoneInfo(tz)
        self.start = time.fromisoformat(wt.start)
        self.end = time.fromisoformat(wt.end)
        self._holidays = set(wt.holidays)
        self._workdays = set(wt.workdays)

    @property
    def day_length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def is_working_day(self, d: date) -> bool:
        if d in self._workdays:
            return True
        return d.isoweekday() in self.wt.days and d not in self._holidays

    def _span(self, d: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(d, self.start, self.zone).astimezone(UTC),
            datetime.combine(d, self.end, self.zone).astimezone(UTC),
        )

    def is_working(self, at: datetime) -> bool:
        d = at.astimezone(self.zone).date()
        if not self.is_working_day(d):
            return False
        s, e = self._span(d)
        return s <= at < e

    def next_working(self, at: datetime) -> datetime:
        """``at`` if it is working time, else the start of the next working period."""
        d = at.astimezone(self.zone).date()
        for _ in range(400):
            if self.is_working_day(d):
                s, e = self._span(d)
                if at < e:
                    return max(at, s)
            d += DAY
        raise ValueError("no working day within 400 days: check working_time")

    def add(self, at: datetime, duration: timedelta) -> datetime:
        """``at`` plus ``duration`` of working time; whole days count as working days."""
        days, rest = divmod(duration, DAY)
        remaining = days * self.day_length + rest
        cur = self.next_working(at)
        for _ in range(4000):
            _, end = self._span(cur.astimezone(self.zone).date())
            if cur + remaining <= end:
                return cur + remaining
            remaining -= end - cur
            cur = self.next_working(end)
        raise ValueError("working-time deadline out of range")


def team_calendar(config: AppConfig, team_id: str) -> WorkCalendar:
    team = config.teams.by_id().get(team_id)
    wt = (team.working_time if team else None) or config.alerts.working_time
    return WorkCalendar(wt, config.settings.timezone)


def add_window(
    config: AppConfig, team_id: str, tier: int, at: datetime, window: timedelta
) -> datetime:
    """``at + window`` on the tier's clock: wall-clock for I-II, working time for III-IV
    (or as alerts.yaml says)."""
    if config.alerts.tiers[tier].working_time:
        return team_calendar(config, team_id).add(at, window)
    return at + window


def deadlines(
    config: AppConfig, team_id: str, tier: int, at: datetime
) -> tuple[datetime, datetime]:
    """(acknowledge by, respond by) for an alert of ``tier`` opened at ``at``."""
    tp = config.alerts.tiers[tier]
    return (
        add_window(config, team_id, tier, at, tp.acknowledge),
        add_window(config, team_id, tier, at, tp.respond),
    )
