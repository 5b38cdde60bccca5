"""The 态势 overview: page /overview and JSON /api/v1/overview (analysis/overview.py),
filterable by period, area, category and source; a responder sees only their grids."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBearer

from analysis import overview as ov
from console.accounts import Principal
from console.deps import Who, csrf_protect, get_yuqing
from console.host import Host
from console.pages import error_page, render
from reports import charts
from reports import figures as stats

Yuqing = Annotated[Host, Depends(get_yuqing)]

api = APIRouter(
    prefix="/api/v1",
    tags=["overview"],
    dependencies=[Depends(csrf_protect), Depends(HTTPBearer(auto_error=False))],
)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

DEFAULT_DAYS = 7
MAX_SPAN = timedelta(days=366)
NEGATIVE_TITLES = {
    "model": "负面占比（情感模型估计，%）",
    "tier": "负面占比（以 I–III 级帖子占比代替，%）",
}


def overview_filters(
    since: str = "", until: str = "", area: str = "", category: str = "", source: str = ""
) -> dict[str, str]:
    """The overview's filters as query parameters: one definition for page and API."""
    return {"since": since, "until": until, "area": area, "category": category, "source": source}


Filters = Annotated[dict[str, str], Depends(overview_filters)]


def build(yq: Host, who: Principal, f: dict[str, str]) -> dict[str, Any]:
    """The figures (stats.StatsInputError on a bad date or an unknown area)."""
    tz = yq.config.settings.timezone
    since, until = stats.period(yq.now(), tz, DEFAULT_DAYS, f["since"] or None, f["until"] or None)
    if until <= since:
        raise stats.StatsInputError("结束日期早于开始日期")
    if until - since > MAX_SPAN:
        raise stats.StatsInputError(f"统计区间最长 {MAX_SPAN.days} 天")
    if since.year < 1970:  # the terms' baseline reaches back five periods
        raise stats.StatsInputError("开始日期早于 1970 年")
    if f["area"] and f["area"] not in yq.config.areas.all():
        raise stats.StatsInputError(f"未知属地：{f['area']}")
    q = ov.OverviewQuery(
        since=since,
        until=until,
        area=f["area"] or None,
        category=f["category"] or None,
        source=f["source"] or None,
        areas=who.scope.areas,
        teams=who.scope.teams,
    )
    with yq.store.session() as s:
        return ov.overview(s, q, yq.config.areas, tz)


def _pct(n: int, total: int) -> float | None:
    return round(100 * n / total, 1) if total else None


def _tree(nodes: list[dict[str, Any]]) -> tuple[charts.TreeNode, ...]:
    out = []
    for n in nodes:
        kids = _tree(n["children"])
        if kids and (n["posts"] or n["alerts"]):  # what is placed at the area itself
            own = charts.TreeNode("（本级）", n["posts"], n["alerts"])
            kids = (own, *kids)
        if n["posts_total"] or n["alerts_total"]:
            out.append(charts.TreeNode(n["name"], n["posts_total"], n["alerts_total"],
                                       children=kids))  # fmt: skip
    return tuple(out)


def overview_charts(o: dict[str, Any]) -> dict[str, charts.Chart]:
    vol = o["volume"]["series"]
    p = o["period"]
    cur_name = f"本期（{p['since'][5:10]} 起）"
    prev_name = f"上期（{p['prev_since'][5:10]} 起）"
    labels = [r["label"] for r in vol]
    per = "每小时" if p["bucket"] == "hour" else "每日"
    rising = o["rising"]
    hot = o["terms"]["hot"]
    return {
        "volume": charts.Chart(
            "volume", f"信息量走势（{per}帖子数，本期对上期）", "line", labels,
            [(cur_name, [r["posts"] for r in vol]), (prev_name, [r["prev_posts"] for r in vol])],
            unit=" 条", label_name="时间", value_name="帖子（条）",
            empty="该条件下本期与上期都没有帖子。",
            note="上期为紧接本期之前、等长的一段时间；第 i 点与上期第 i 点对齐。",
        ),
        "negative": charts.Chart(
            "negative", NEGATIVE_TITLES[o["negative_signal"]["kind"]], "line", labels,
            [(cur_name, [_pct(r["negative"], r["negative_base"]) for r in vol]),
             (prev_name, [_pct(r["prev_negative"], r["prev_negative_base"]) for r in vol])],
            unit="%", label_name="时间", value_name="%", max_value=100,
            empty="该条件下没有帖子，无法计算占比。", note=o["negative_signal"]["note"],
        ),
        "rising": charts.Chart(
            "rising", "上升事件（按增长排序：本期帖子对上期）", "hbar",
            [r["title"][:24] for r in rising],
            [("本期帖子", [r["posts"] for r in rising]),
             ("上期帖子", [r["prev_posts"] for r in rising])],
            unit=" 条", label_name="事件", value_name="帖子（条）",
            empty="本期没有帖子增多的事件（至少 2 条帖子）。",
            note="排序依据为平滑增长比 (本期+1)/(上期+1)，不是规模。",
        ),
        "terms": charts.Chart(
            "terms", "热词（本期对自身基线）", "hbar", [r["term"] for r in hot],
            [("本期帖子", [r["posts"] for r in hot]),
             ("基线（前四期平均）", [r["baseline"] for r in hot])],
            unit=" 条", label_name="词", value_name="帖子（条）",
            empty="没有明显高于自身基线的词。",
            note=f"热度比 = (本期+{ov.TERM_SMOOTHING:g})/(基线+{ov.TERM_SMOOTHING:g}) ≥ "
            f"{ov.HOT_RATIO:g}；词来自事件的关键词。",
        ),
        "grids": charts.Chart(
            "grids", "各网格本期信息量与当前未办结告警", "treemap", label_name="区域",
            tree=_tree(o["grids"]), empty="该条件下各网格都没有帖子和未办结告警。",
            note="面积为本期帖子数；红色：有未办结告警，蓝色：没有。点击区域可下钻。",
        ),
    }  # fmt: skip


@api.get("/overview", summary="态势: volume vs the previous period, rising events, terms, grids")
def overview_api(yq: Yuqing, who: Who, f: Filters) -> dict[str, Any]:
    try:
        return build(yq, who, f)
    except stats.StatsInputError as exc:
        raise HTTPException(400, str(exc)) from None


@pages.get("/overview", response_class=HTMLResponse)
def overview_page(request: Request, yq: Yuqing, who: Who, f: Filters) -> HTMLResponse:
    try:
        o = build(yq, who, f)
    except stats.StatsInputError as exc:
        return error_page(request, 400, str(exc))
    areas = yq.config.areas.all()
    visible = [a for a in areas if who.scope.areas is None or a in who.scope.areas]
    return render(
        request,
        "overview.html",
        {
            "o": o,
            "f": f,
            "charts": overview_charts(o),
            "qs": urlencode({k: v for k, v in f.items() if v}),
            "area_list": visible,
            "categories": yq.config.taxonomy.category_names(),
            "source_list": [s.name for s in yq.config.sources.sources],
        },
    )
