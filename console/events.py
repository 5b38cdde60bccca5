"""Events: the page for one matter across its sources, the list, staff's merge and
split, and the 事件专报 (HTML, PDF). API under /api/v1/events."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from alerts.errors import AlertNotFound
from analysis import linking
from analysis.detail import event_detail, event_summaries
from console.accounts import Principal
from console.deps import Who, csrf_protect, get_yuqing, require
from console.host import Host
from console.pages import error_page, render
from reports import charts, event_report

Yuqing = Annotated[Host, Depends(get_yuqing)]
# analysts read across sources and decide what is one matter
Editor = Annotated[Principal, Depends(require("search"))]

api = APIRouter(
    prefix="/api/v1",
    tags=["events"],
    dependencies=[Depends(csrf_protect), Depends(HTTPBearer(auto_error=False))],
)
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _detail(yq: Host, who: Principal, event_id: int) -> dict[str, Any]:
    with yq.store.session() as s:
        return event_detail(
            s,
            event_id,
            yq.now(),
            teams=who.scope.teams,
            areas=who.scope.areas,
            timezone=yq.config.settings.timezone,
        )


@api.get("/events", summary="Events, those with two or more posts first, newest activity first")
def list_events(yq: Yuqing, who: Editor, q: str = "", limit: int = 50) -> list[dict[str, Any]]:
    with yq.store.session() as s:
        return event_summaries(s, limit=max(1, min(limit, 500)), q=q)


@api.get("/events/{event_id}", summary="One matter: timeline, spread, alerts, responses, effect")
def get_event(event_id: int, yq: Yuqing, who: Who) -> dict[str, Any]:
    try:
        return _detail(yq, who, event_id)
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None


class MergeBody(BaseModel):
    into: int


class SplitBody(BaseModel):
    post_ids: list[int]


@api.post("/events/{event_id}/merge", summary="Merge this event into another (audited)")
def merge_event(event_id: int, body: MergeBody, yq: Yuqing, who: Editor) -> dict[str, Any]:
    try:
        with yq.store.session() as s:
            into = linking.merge(s, event_id, body.into, who.username, yq.now())
    except linking.EventError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"event_id": into}


@api.post("/events/{event_id}/split", summary="Split posts off into a new event (audited)")
def split_event(event_id: int, body: SplitBody, yq: Yuqing, who: Editor) -> dict[str, Any]:
    try:
        with yq.store.session() as s:
            new = linking.split(s, event_id, body.post_ids, who.username, yq.now())
    except linking.EventError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"event_id": new}


@pages.get("/events", response_class=HTMLResponse)
def events_page(request: Request, yq: Yuqing, who: Editor, q: str = "") -> HTMLResponse:
    with yq.store.session() as s:
        events = event_summaries(s, limit=100, q=q)
    return render(request, "events.html", {"events": events, "q": q})


@pages.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request, event_id: int, yq: Yuqing, who: Who, done: str = ""
) -> HTMLResponse:
    try:
        e = _detail(yq, who, event_id)
    except AlertNotFound:
        return error_page(request, 404, f"未找到事件 {event_id}")
    return render(
        request,
        "event_detail.html",
        {
            "e": e,
            "done": done,
            "can_edit": who.can("search"),
            "spread": spread_chart(e, yq.config.settings.timezone),
        },
    )


def _local(iso: str, timezone: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def spread_chart(e: dict[str, Any], timezone: str) -> charts.Chart:
    """New posts per day from the first to the last, days without posts as 0."""
    days = {d["day"]: d["posts"] for d in e["spread"]}
    labels: list[str] = []
    if days:
        day, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
        while day <= last and len(labels) < 366:
            labels.append(day.isoformat())
            day += timedelta(days=1)
    reply = e["effect"].get("first_reply")
    return charts.Chart(
        "spread", "传播曲线（每日新帖）", "bar", labels,
        [("新帖", [days.get(d, 0) for d in labels])],
        unit=" 条", label_name="日期", value_name="帖子（条）", empty="本事件没有可见的帖子。",
        note=f"首次回复：{_local(reply, timezone)}" if reply else "尚未回复。",
    )  # fmt: skip


@pages.post("/events/{event_id}/merge", response_model=None)
def merge_form(
    request: Request, event_id: int, yq: Yuqing, who: Editor, into: Annotated[int, Form()]
) -> Response:
    try:
        with yq.store.session() as s:
            target = linking.merge(s, event_id, into, who.username, yq.now())
    except linking.EventError as exc:
        return error_page(request, 400, str(exc))
    return RedirectResponse(f"/events/{target}?done=merge", status_code=303)


@pages.post("/events/{event_id}/split", response_model=None)
def split_form(
    request: Request,
    event_id: int,
    yq: Yuqing,
    who: Editor,
    post_ids: Annotated[list[int], Form()],
) -> Response:
    try:
        with yq.store.session() as s:
            new = linking.split(s, event_id, post_ids, who.username, yq.now())
    except linking.EventError as exc:
        return error_page(request, 400, str(exc))
    return RedirectResponse(f"/events/{new}?done=split", status_code=303)


@pages.get("/events/{event_id}/report.{fmt}", response_model=None)
def event_report_page(request: Request, event_id: int, fmt: str, yq: Yuqing, who: Who) -> Response:
    try:
        e = _detail(yq, who, event_id)
    except AlertNotFound:
        return error_page(request, 404, f"未找到事件 {event_id}")
    if fmt == "pdf":
        return Response(
            event_report.render_pdf(e, yq.now()),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="event-{e["id"]}.pdf"'},
        )
    if fmt == "html":
        return HTMLResponse(event_report.render_html(e, yq.now()))
    return error_page(request, 404, "事件专报只有 html 与 pdf 两种格式")
