"""Monitoring schemes (监测方案, analysis/schemes.py) in the console: the list with a form
to save one, each scheme's page (daily matches as a chart, its latest posts), and the
JSON API. Analysts and above save schemes; a user sees their own and their team's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import schemes
from console.accounts import Principal
from console.deps import csrf_protect, get_yuqing, require
from console.host import Host
from console.pages import error_page, render
from reports import charts
from store.scheme_models import Scheme
from yuqing.contracts import parse_tier

Yuqing = Annotated[Host, Depends(get_yuqing)]
Analyst = Annotated[Principal, Depends(require("search"))]
api = APIRouter(
    prefix="/api/v1",
    tags=["schemes"],
    dependencies=[Depends(csrf_protect), Depends(HTTPBearer(auto_error=False))],
)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
DAYS = 30


class SchemeBody(BaseModel):
    name: str = Field(max_length=80)
    must: list[str] = Field(default_factory=list)
    any_of: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    field: str = "all"
    sources: list[str] = Field(default_factory=list)
    areas: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    alert_tier: str | None = None  # III or IV
    channels: list[str] = Field(default_factory=list)
    team_id: str | None = None
    note: str | None = Field(default=None, max_length=500)


def _spec(body: SchemeBody) -> schemes.SchemeSpec:
    try:
        severity = parse_tier(body.alert_tier) if body.alert_tier else None
    except ValueError:
        raise schemes.SchemeError(f"告警级别只能是 III 或 IV，收到 {body.alert_tier!r}") from None
    return schemes.SchemeSpec(
        name=body.name,
        must=body.must,
        any_of=body.any_of,
        exclude=body.exclude,
        field=body.field,
        sources=body.sources,
        areas=body.areas,
        categories=body.categories,
        alert_severity=severity,
        channels=body.channels,
        team_id=body.team_id,
        note=body.note,
    )


def _teams(who: Principal) -> list[str] | None:
    if who.scope.teams is None:
        return None
    return sorted(who.scope.teams | ({who.team_id} if who.team_id else set()))


def _mine(s: Session, who: Principal, scheme_id: int) -> Scheme:
    row = s.get(Scheme, scheme_id)
    visible = row is not None and (
        who.scope.teams is None
        or row.owner == who.username
        or (row.team_id is not None and row.team_id in (_teams(who) or []))
    )
    if row is None or not visible:
        raise HTTPException(404, "没有这个监测方案")
    return row


def _save(yq: Host, who: Principal, spec: schemes.SchemeSpec) -> int:
    with yq.store.session() as s:
        existing = s.scalars(select(Scheme).where(Scheme.name == spec.name.strip())).first()
        if existing is not None and existing.owner != who.username and who.scope.teams is not None:
            raise schemes.SchemeError(
                f"方案「{spec.name}」已由 {existing.owner} 建立，请换一个名称"
            )
        return schemes.save(s, yq.config, spec, who.username, yq.now()).id


def _listing(yq: Host, who: Principal) -> list[dict[str, Any]]:
    now = yq.now()
    with yq.store.session() as s:
        rows = schemes.visible(s, user=who.username, teams=_teams(who))
        counts = schemes.hit_counts(s, now - timedelta(days=7), now + timedelta(seconds=1))
        return [{**schemes.as_dict(r), "hits_7d": counts.get(r.id, 0)} for r in rows]


def _detail(yq: Host, who: Principal, scheme_id: int) -> dict[str, Any]:
    now = yq.now()
    zone = ZoneInfo(yq.config.settings.timezone)
    with yq.store.session() as s:
        row = _mine(s, who, scheme_id)
        doc = schemes.as_dict(row)
        doc["daily"] = schemes.volume(s, row.id, now - timedelta(days=DAYS - 1), now, zone)
        doc["posts"] = schemes.recent_posts(s, row.id, limit=50)
    return doc


@api.get("/schemes", summary="监测方案: the schemes this user sees, with 7-day matches")
def list_api(yq: Yuqing, who: Analyst) -> list[dict[str, Any]]:
    return _listing(yq, who)


@api.post("/schemes", status_code=201, summary="Save a scheme (a name already used: replaced)")
def save_api(body: SchemeBody, yq: Yuqing, who: Analyst) -> dict[str, Any]:
    try:
        scheme_id = _save(yq, who, _spec(body))
    except schemes.SchemeError as exc:
        raise HTTPException(400, str(exc)) from None
    return _detail(yq, who, scheme_id)


@api.get("/schemes/{scheme_id}", summary="One scheme: daily matches and latest posts")
def detail_api(scheme_id: int, yq: Yuqing, who: Analyst) -> dict[str, Any]:
    return _detail(yq, who, scheme_id)


@api.delete("/schemes/{scheme_id}", status_code=204, response_model=None)
def delete_api(scheme_id: int, yq: Yuqing, who: Analyst) -> Response:
    _remove(yq, who, scheme_id)
    return Response(status_code=204)


def _remove(yq: Host, who: Principal, scheme_id: int) -> None:
    with yq.store.session() as s:
        row = _mine(s, who, scheme_id)
        if row.owner != who.username and who.scope.teams is not None:
            raise HTTPException(403, "只有方案的建立者可以删除它")
        schemes.remove(s, row.name)


def _chart(doc: dict[str, Any]) -> charts.Chart:
    daily = doc["daily"]
    return charts.Chart(
        "scheme-volume", f"「{doc['name']}」每日命中（近 {DAYS} 天）", "bar",
        [d for d, _ in daily], [("命中帖子", [n for _, n in daily])],
        unit=" 条", label_name="日期", value_name="帖子（条）",
        empty="近期没有帖子命中这个方案。",
        note="按帖子发布日期（无发布时间时按采集时间）计，本地时区。",
    )  # fmt: skip


def _form_context(yq: Host) -> dict[str, Any]:
    c = yq.config
    return {
        "area_list": c.areas.all(),
        "categories": c.taxonomy.category_names(),
        "source_list": [s.name for s in c.sources.sources],
        "channel_list": sorted(c.alerts.channels),
        "team_list": [(t.id, t.name) for t in c.teams.teams],
        "fields": schemes.FIELD_LABELS_ZH,
    }


@pages.get("/schemes", response_class=HTMLResponse)
def list_page(request: Request, yq: Yuqing, who: Analyst) -> HTMLResponse:
    return render(request, "schemes.html", {"rows": _listing(yq, who), **_form_context(yq)})


@pages.post("/schemes", response_model=None)
def save_form(
    request: Request,
    yq: Yuqing,
    who: Analyst,
    name: Annotated[str, Form()],
    must: Annotated[str, Form()] = "",
    any_of: Annotated[str, Form()] = "",
    exclude: Annotated[str, Form()] = "",
    field: Annotated[str, Form()] = "all",
    sources: Annotated[list[str] | None, Form()] = None,
    areas: Annotated[list[str] | None, Form()] = None,
    categories: Annotated[list[str] | None, Form()] = None,
    alert_tier: Annotated[str, Form()] = "",
    channels: Annotated[list[str] | None, Form()] = None,
    team_id: Annotated[str, Form()] = "",
) -> Response:
    body = SchemeBody(
        name=name[:80],
        must=schemes.words(must),
        any_of=schemes.words(any_of),
        exclude=schemes.words(exclude),
        field=field,
        sources=sources or [],
        areas=areas or [],
        categories=categories or [],
        alert_tier=alert_tier or None,
        channels=channels or [],
        team_id=team_id or None,
    )
    try:
        scheme_id = _save(yq, who, _spec(body))
    except schemes.SchemeError as exc:
        return error_page(request, 400, str(exc))
    return RedirectResponse(f"/schemes/{scheme_id}?done=saved", status_code=303)


@pages.get("/schemes/{scheme_id}", response_class=HTMLResponse)
def detail_page(request: Request, scheme_id: int, yq: Yuqing, who: Analyst) -> HTMLResponse:
    doc = _detail(yq, who, scheme_id)
    return render(
        request,
        "scheme.html",
        {"s": doc, "chart": _chart(doc), "done": request.query_params.get("done"),
         "fields": schemes.FIELD_LABELS_ZH},
    )  # fmt: skip


@pages.post("/schemes/{scheme_id}/delete", response_model=None)
def delete_form(scheme_id: int, yq: Yuqing, who: Analyst) -> Response:
    _remove(yq, who, scheme_id)
    return RedirectResponse("/schemes?done=removed", status_code=303)
