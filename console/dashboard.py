"""The supervisor dashboard: page, JSON under /api/v1/stats, CSV and XLSX export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

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


def dashboard_charts(d: stats.Dashboard) -> list[Markup]:
    labels = [g.label for g in d.groups]
    out = [
        charts.bar_chart(
            "确认与办结用时（中位数，分钟）",
            labels,
            [
                ("确认用时", [g.tta_median for g in d.groups]),
                ("办结用时", [g.ttr_median for g in d.groups]),
            ],
            unit="分",
        ),
        charts.bar_chart(
            "按时率（%）",
            labels,
            [
                ("按时确认", [_pct(g.ack_on_time) for g in d.groups]),
                ("按时回复", [_pct(g.respond_on_time) for g in d.groups]),
            ],
            unit="%",
            max_value=100,
        ),
        charts.bar_chart(
            "积压与超时（条）",
            labels,
            [("积压", [g.backlog for g in d.groups]), ("超时", [g.overdue for g in d.groups])],
        ),
    ]
    return out


def _pct(v: float | None) -> float | None:
    return None if v is None else v * 100


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
