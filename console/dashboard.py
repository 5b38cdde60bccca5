"""The supervisor dashboard: page, JSON under /api/v1/stats, CSV and XLSX export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from console.accounts import Principal
from console.deps import csrf_protect, get_yuqing, require
from console.host import Host
from console.pages import error_page, render
from reports import charts
from reports import figures as stats
from yuqing.contracts import parse_tier

Yuqing = Annotated[Host, Depends(get_yuqing)]
Supervisor = Annotated[Principal, Depends(require("dashboard"))]

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(csrf_protect)])


Filters = dict[str, str]


def dashboard_filters(
    by: str = "team",
    since: str = "",
    until: str = "",
    team: str = "",
    tier: str = "",
    category: str = "",
    area: str = "",
) -> Filters:
    """The dashboard's filters as query parameters: one definition for page, export and API."""
    return {
        "by": by, "since": since, "until": until, "team": team, "tier": tier,
        "category": category, "area": area,
    }  # fmt: skip


DashboardFilters = Annotated[Filters, Depends(dashboard_filters)]


def _query(yq: Host, who: Principal, f: Filters) -> stats.StatsQuery:
    try:
        severity = parse_tier(f["tier"]) if f["tier"] else None
    except ValueError as exc:
        raise stats.StatsInputError(str(exc)) from None
    start, end = stats.period(
        yq.now(), yq.config.settings.timezone, 7, f["since"] or None, f["until"] or None
    )
    return stats.StatsQuery(
        since=start,
        until=end,
        by=f["by"] or "team",
        team=f["team"] or None,
        tier=severity,
        category=f["category"] or None,
        area=f["area"] or None,
        teams=who.scope.teams,
    )


def _run(yq: Host, q: stats.StatsQuery) -> stats.Dashboard:
    with yq.store.session() as s:
        return stats.dashboard(
            s, q, yq.now(), yq.config.settings.console.efficiency, yq.config.settings.timezone
        )


def build(yq: Host, who: Principal, f: Filters) -> stats.Dashboard:
    return _run(yq, _query(yq, who, f))


def dashboard_charts(d: stats.Dashboard) -> list[charts.Chart]:
    """The three charts of the groups' figures (the table below carries them all)."""
    labels = [g.label for g in d.groups]
    by = stats.DIMENSIONS.get(d.query.by, "")
    empty = "该区间没有告警。"
    return [
        charts.Chart(
            "times", "确认与办结用时（中位数，分钟）", "hbar", labels,
            [("确认用时中位数", [_round(g.tta_median) for g in d.groups]),
             ("办结用时中位数", [_round(g.ttr_median) for g in d.groups])],
            unit=" 分钟", label_name=by, value_name="分钟", empty=empty,
            note="没有已确认（或已办结）告警的分组显示为空缺，而不是 0。",
        ),
        charts.Chart(
            "on_time", "按时率（%）", "hbar", labels,
            [("按时确认", [_pct(g.ack_on_time) for g in d.groups]),
             ("按时回复", [_pct(g.respond_on_time) for g in d.groups])],
            unit="%", label_name=by, value_name="%", max_value=100, empty=empty,
            note="按时率的分母见下表；没有分母的分组显示为空缺。",
        ),
        charts.Chart(
            "backlog", "积压与超时（条）", "hbar", labels,
            [("积压", [g.backlog for g in d.groups]), ("超时", [g.overdue for g in d.groups])],
            unit=" 条", label_name=by, value_name="条", empty=empty,
        ),
    ]  # fmt: skip


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _pct(v: float | None) -> float | None:
    return None if v is None else round(v * 100, 1)


@pages.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, yq: Yuqing, who: Supervisor, f: DashboardFilters
) -> HTMLResponse:
    try:
        d = build(yq, who, f)
    except stats.StatsInputError as exc:
        return error_page(request, 400, str(exc))
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in f.items() if v})
    return render(
        request,
        "dashboard.html",
        {
            "d": d,
            "f": f,
            "qs": qs,
            "charts": dashboard_charts(d),
            "dimensions": stats.DIMENSIONS,
            "activity_labels": stats.ACTIVITY_LABELS_ZH,
            "categories": yq.config.taxonomy.category_names(),
            "team_list": [(t.id, t.name) for t in yq.config.teams.teams],
            "tz": yq.config.settings.timezone,
        },
    )


def _export(yq: Host, who: Principal, fmt: str, f: Filters) -> Response:
    try:
        d = build(yq, who, f)
    except stats.StatsInputError as exc:
        raise HTTPException(400, str(exc)) from None
    name = f"yuqing-stats-{d.query.by}-{d.query.since:%Y%m%d}-{d.query.until:%Y%m%d}"
    if fmt == "csv":
        return Response(
            stats.to_csv(d),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        stats.to_xlsx(d),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@pages.get("/dashboard/export.{fmt}")
def dashboard_export(yq: Yuqing, who: Supervisor, fmt: str, f: DashboardFilters) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, "export as csv or xlsx")
    return _export(yq, who, fmt, f)


@api.get("/stats", summary="Response-time figures by team, tier, category, area, day or week")
def stats_api(yq: Yuqing, who: Supervisor, f: DashboardFilters) -> dict[str, Any]:
    try:
        return build(yq, who, f).as_dict()
    except stats.StatsInputError as exc:
        raise HTTPException(400, str(exc)) from None
