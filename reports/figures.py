"""Supervisor figures: how fast teams answer, how much is late, and the efficiency index.

All figures are over the alerts *opened* in a period, grouped by one dimension
(team, tier, category, area, day or week). Times are minutes. "On time" means
acknowledged by the acknowledge deadline, and first replied to by the respond
deadline; an alert still waiting past its deadline counts as late, one still
waiting within it counts in neither numerator nor denominator.

The governance-efficiency index follows the seed papers: E = Σ αₖ·Aₖ/Tₖ, the
weighted ratio of achieved to target per activity (config console.efficiency).
Each ratio is capped at 1 so one over-achieved activity cannot hide a failing one.

The duty desk (研判) is counted apart: alerts still with the desk or dismissed by it
are no team's work; a team's times count from when the alert reached it
(``routed_at``), and the alerts that reached it because the desk did not decide in
time (fail-open) are shown, so a desk that lets its window lapse is visible.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.status import ACTIVE_STATUSES, Status, pending_deadline
from store.models import Alert, Team
from yuqing.contracts import TIER_LABELS_ZH, TIER_NAMES
from yuqing.settings import EfficiencyTerm

DIMENSIONS: dict[str, str] = {
    "team": "责任单位",
    "tier": "等级",
    "category": "类别",
    "area": "属地",
    "day": "日期",
    "week": "周",
}
ACTIVITY_LABELS_ZH: dict[str, str] = {
    "ack_on_time": "按时确认率",
    "respond_on_time": "按时回复率",
    "resolved": "办结率",
    "responded": "回复率",
}


class StatsInputError(ValueError):
    """A bad dimension or period (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class StatsQuery:
    since: datetime
    until: datetime
    by: str = "team"
    team: str | None = None
    tier: int | None = None
    category: str | None = None
    area: str | None = None
    teams: frozenset[str] | None = None  # the caller's scope

    def __post_init__(self) -> None:
        if self.by not in DIMENSIONS:
            raise StatsInputError(f"unknown dimension {self.by!r}: use {', '.join(DIMENSIONS)}")
        if self.until <= self.since:
            raise StatsInputError("the period must end after it starts")


@dataclass
class _Row:
    opened: datetime
    status: str
    ack_deadline: datetime
    respond_deadline: datetime
    acknowledged_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    pending: datetime | None
    routed: datetime | None = None
    triage: str | None = None


@dataclass
class Group:
    key: str
    label: str
    alerts: int = 0
    acknowledged: int = 0
    responded: int = 0
    resolved: int = 0
    backlog: int = 0
    overdue: int = 0
    tta_median: float | None = None
    tta_p90: float | None = None
    ttr_median: float | None = None
    ttr_p90: float | None = None
    ack_on_time: float | None = None
    respond_on_time: float | None = None
    efficiency: float | None = None
    # the duty desk: decided (confirmed / changed), dismissed, failed open, still waiting
    desk_confirmed: int = 0
    desk_changed: int = 0
    desk_dismissed: int = 0
    desk_failed_open: int = 0
    desk_waiting: int = 0
    desk_archived: int = 0
    why: dict[str, str] = field(default_factory=dict)  # rate -> why it is None
    _tta: list[float] = field(default_factory=list, repr=False)
    _ttr: list[float] = field(default_factory=list, repr=False)
    _ack: list[bool] = field(default_factory=list, repr=False)
    _resp: list[bool] = field(default_factory=list, repr=False)

    def add(self, r: _Row, now: datetime) -> None:
        if not self._desk(r):
            return  # still with the duty desk, or dismissed by it: no team's work
        self.alerts += 1
        start = r.routed or r.opened
        if r.acknowledged_at is not None:
            self.acknowledged += 1
            self._tta.append((r.acknowledged_at - start).total_seconds() / 60)
            self._ack.append(r.acknowledged_at <= r.ack_deadline)
        elif now > r.ack_deadline:
            self._ack.append(False)
        if r.responded_at is not None:
            self.responded += 1
            self._resp.append(r.responded_at <= r.respond_deadline)
        elif now > r.respond_deadline and r.status != Status.RESOLVED:
            self._resp.append(False)
        if r.resolved_at is not None and r.status == Status.RESOLVED:
            self.resolved += 1
            self._ttr.append((r.resolved_at - start).total_seconds() / 60)
        if r.status in ACTIVE_STATUSES:
            self.backlog += 1
            if r.pending is not None and r.pending < now:
                self.overdue += 1

    def _desk(self, r: _Row) -> bool:
        """Count the desk's part; False when the alert never reached a team."""
        if r.status in (Status.TRIAGE, Status.BACKLOG):
            self.desk_waiting += 1
            return False
        if r.status == Status.DISMISSED:
            if r.triage == "archived":
                self.desk_archived += 1
            else:
                self.desk_dismissed += 1
            return False
        if r.triage == "confirmed":
            self.desk_confirmed += 1
        elif r.triage in ("retiered", "reassigned"):
            self.desk_changed += 1
        elif r.triage == "failed_open":
            self.desk_failed_open += 1
        return True

    @property
    def desk_decided(self) -> int:
        return self.desk_confirmed + self.desk_changed + self.desk_dismissed

    def finish(self, terms: Iterable[EfficiencyTerm]) -> None:
        self.tta_median, self.tta_p90 = _pcts(self._tta)
        self.ttr_median, self.ttr_p90 = _pcts(self._ttr)
        self.ack_on_time = _share(self._ack)
        self.respond_on_time = _share(self._resp)
        achieved = self.achieved()
        # E only once every one of its activities has a denominator: a period where no
        # deadline has passed yet shows "—" and why, never an index of what little exists
        missing = [t.activity for t in terms if achieved.get(t.activity) is None]
        self.efficiency = None if missing else efficiency_index(achieved, terms)
        self.why = {k: v for k, v in self.reasons().items() if achieved.get(k) is None}
        if missing:
            self.why["efficiency"] = "尚缺：" + "、".join(
                f"{ACTIVITY_LABELS_ZH.get(a, a)}（{self.why.get(a, '无数据')}）" for a in missing
            )

    def reasons(self) -> dict[str, str]:
        """Why each rate is "—" when it is: its denominator does not exist yet."""
        return {
            "ack_on_time": "尚无告警已确认或已过确认时限",
            "respond_on_time": "尚无告警已回复或已过回复时限",
            "resolved": "该区间没有告警",
            "responded": "该区间没有告警",
        }

    @property
    def ack_base(self) -> int:
        """Alerts whose acknowledge deadline is decided: acknowledged, or passed."""
        return len(self._ack)

    @property
    def respond_base(self) -> int:
        return len(self._resp)

    def achieved(self) -> dict[str, float | None]:
        n = self.alerts
        return {
            "ack_on_time": self.ack_on_time,
            "respond_on_time": self.respond_on_time,
            "resolved": self.resolved / n if n else None,
            "responded": self.responded / n if n else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "alerts": self.alerts,
            "acknowledged": self.acknowledged,
            "responded": self.responded,
            "resolved": self.resolved,
            "backlog": self.backlog,
            "overdue": self.overdue,
            "tta_median_min": _r(self.tta_median),
            "tta_p90_min": _r(self.tta_p90),
            "ttr_median_min": _r(self.ttr_median),
            "ttr_p90_min": _r(self.ttr_p90),
            "ack_on_time": _r(self.ack_on_time, 4),
            "respond_on_time": _r(self.respond_on_time, 4),
            # each rate's denominator, and why a rate (or E) is None when it is
            "ack_base": self.ack_base,
            "respond_base": self.respond_base,
            "efficiency": _r(self.efficiency, 4),
            "why": dict(self.why),
            "desk": {
                "confirmed": self.desk_confirmed,
                "changed": self.desk_changed,
                "dismissed": self.desk_dismissed,
                "failed_open": self.desk_failed_open,
                "waiting": self.desk_waiting,
                "archived": self.desk_archived,
                "failed_open_share": _r(
                    self.desk_failed_open / (self.desk_decided + self.desk_failed_open), 4
                )
                if self.desk_decided + self.desk_failed_open
                else None,
            },
        }


def _r(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(float(v), nd)


def _pcts(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    med, p90 = np.percentile(np.asarray(values), [50, 90])
    return float(med), float(p90)


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def efficiency_index(
    achieved: dict[str, float | None], terms: Iterable[EfficiencyTerm]
) -> float | None:
    """E = Σ αₖ·min(Aₖ/Tₖ, 1), over the activities with a measured Aₖ, reweighted
    so a period without e.g. any deadline passed yet is not punished for it."""
    num = den = 0.0
    for t in terms:
        a = achieved.get(t.activity)
        if a is None:
            continue
        num += t.weight * min(a / t.target, 1.0)
        den += t.weight
    return num / den if den else None


@dataclass
class Dashboard:
    query: StatsQuery
    now: datetime
    total: Group
    groups: list[Group]
    overdue: list[dict[str, Any]]
    terms: tuple[EfficiencyTerm, ...]

    def as_dict(self) -> dict[str, Any]:
        q = self.query
        return {
            "since": q.since.isoformat(),
            "until": q.until.isoformat(),
            "by": q.by,
            "generated_at": self.now.isoformat(),
            "total": self.total.as_dict(),
            "groups": [g.as_dict() for g in self.groups],
            "overdue": self.overdue,
            "efficiency_terms": [
                {"activity": t.activity, "weight": t.weight, "target": t.target} for t in self.terms
            ],
        }


def _group_key(
    alert: Alert, team_name: str, by: str, tz: ZoneInfo
) -> tuple[str, str]:  # (sort key, label)
    if by == "team":
        return alert.team_id, team_name
    if by == "tier":
        return str(5 - alert.tier), f"{TIER_NAMES[alert.tier]} 级 {TIER_LABELS_ZH[alert.tier]}"
    if by == "category":
        return alert.category or "", alert.category or "未分类"
    if by == "area":
        return alert.area or "", alert.area or "未定位"
    local = alert.opened_at.astimezone(tz)
    if by == "day":
        d = local.date().isoformat()
        return d, d
    monday = (local - timedelta(days=local.weekday())).date()
    iso = local.isocalendar()
    return monday.isoformat(), f"{iso.year}-W{iso.week:02d}"


def dashboard(
    session: Session,
    query: StatsQuery,
    now: datetime,
    terms: Collection[EfficiencyTerm],
    timezone: str,
) -> Dashboard:
    tz = ZoneInfo(timezone)
    stmt = (
        select(Alert, Team.name)
        .join(Team, Team.id == Alert.team_id)
        .where(Alert.opened_at >= query.since, Alert.opened_at < query.until)
    )
    if query.team:
        stmt = stmt.where(Alert.team_id == query.team)
    if query.tier:
        stmt = stmt.where(Alert.tier == query.tier)
    if query.category:
        stmt = stmt.where(Alert.category == query.category)
    if query.area:
        stmt = stmt.where(Alert.area == query.area)
    if query.teams is not None:
        stmt = stmt.where(Alert.team_id.in_(sorted(query.teams)))
    terms = tuple(terms)
    total = Group("", "合计")
    groups: dict[str, Group] = {}
    overdue: list[dict[str, Any]] = []
    for alert, team_name in session.execute(stmt):
        row = _Row(
            alert.opened_at,
            alert.status,
            alert.ack_deadline,
            alert.respond_deadline,
            alert.acknowledged_at,
            alert.responded_at,
            alert.resolved_at,
            pending_deadline(alert),
            alert.routed_at,
            alert.triage,
        )
        key, label = _group_key(alert, team_name, query.by, tz)
        groups.setdefault(key, Group(key, label)).add(row, now)
        total.add(row, now)
        if alert.status in ACTIVE_STATUSES and row.pending is not None and row.pending < now:
            overdue.append(
                {
                    "id": alert.id,
                    "tier": TIER_NAMES[alert.tier],
                    "severity": alert.tier,
                    "status": alert.status,
                    "team": alert.team_id,
                    "team_name": team_name,
                    "title": alert.title,
                    "deadline": row.pending.isoformat(),
                    "late_min": round((now - row.pending).total_seconds() / 60, 1),
                }
            )
    for g in groups.values():
        g.finish(terms)
    total.finish(terms)
    overdue.sort(key=lambda a: (-a["severity"], a["deadline"]))
    return Dashboard(query, now, total, [groups[k] for k in sorted(groups)], overdue, terms)


def period(
    now: datetime, timezone: str, days: int = 7, since: str | None = None, until: str | None = None
) -> tuple[datetime, datetime]:
    """[since, until) from YYYY-MM-DD strings in local time, default the last ``days`` days."""
    tz = ZoneInfo(timezone)

    def parse(v: str, name: str) -> datetime:
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            raise StatsInputError(f"{name}: {v!r} is not a date (YYYY-MM-DD)") from None
        return d.replace(tzinfo=tz) if d.tzinfo is None else d

    end = parse(until, "until") + timedelta(days=1) if until else now
    start = parse(since, "since") if since else end - timedelta(days=days)
    return start, end


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "分组"),
    ("alerts", "告警数"),
    ("acknowledged", "已确认"),
    ("responded", "已回复"),
    ("resolved", "已办结"),
    ("backlog", "积压"),
    ("overdue", "超时"),
    ("tta_median_min", "确认用时中位数(分钟)"),
    ("tta_p90_min", "确认用时P90(分钟)"),
    ("ttr_median_min", "办结用时中位数(分钟)"),
    ("ttr_p90_min", "办结用时P90(分钟)"),
    ("ack_on_time", "按时确认率"),
    ("respond_on_time", "按时回复率"),
    ("efficiency", "治理效能指数E"),
)


def cell(v: Any) -> Any:
    """Text that a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def table_rows(d: Dashboard) -> list[list[Any]]:
    """Header + one row per group + the total, for CSV and XLSX."""
    rows: list[list[Any]] = [[zh for _k, zh in CSV_COLUMNS]]
    for g in [*d.groups, d.total]:
        gd = g.as_dict()
        rows.append([cell(gd[k]) for k, _zh in CSV_COLUMNS])
    return rows


def to_csv(d: Dashboard) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(table_rows(d))
    return "\ufeff" + buf.getvalue()  # BOM: Excel on Windows then reads UTF-8 Chinese


def to_xlsx(d: Dashboard) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "响应时效"
    for row in table_rows(d):
        ws.append(row)
    ov = wb.create_sheet("超时清单")
    ov.append(["告警", "等级", "状态", "责任单位", "标题", "时限", "超时(分钟)"])
    for a in d.overdue:
        ov.append(
            [cell(a[k]) for k in ("id", "tier", "status", "team_name", "title", "deadline")]
            + [a["late_min"]]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
