"""Brief routes: the reports page, HTML and PDF downloads, JSON under /api/v1/reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from console.accounts import Principal
from console.deps import csrf_protect, get_yuqing, require
from console.host import Host
from console.pages import error_page, render
from reports import briefs as reports

Yuqing = Annotated[Host, Depends(get_yuqing)]
Reader = Annotated[Principal, Depends(require("reports"))]

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(csrf_protect)])


def make_brief(yq: Host, kind: str, day: date, who: Principal | None = None) -> reports.Brief:
    with yq.store.session() as s:
        return reports.build_brief(
            s, yq.config, kind, day, yq.now(), teams=who.scope.teams if who else None
        )


def _day(yq: Host, value: str) -> date:
    return reports.parse_day(value, yq.now(), yq.config.settings.timezone)


@pages.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, yq: Yuqing, who: Reader, kind: str = "daily", date: str = ""
) -> HTMLResponse:
    try:
        day = _day(yq, date)
        b = make_brief(yq, kind, day, who)
    except reports.BriefInputError as exc:
        return error_page(request, 400, str(exc))
    return render(
        request,
        "reports.html",
        {
            "b": b,
            "kind": kind,
            "day": day.isoformat(),
            "kinds": reports.KINDS,
            "summary": reports.summary_lines(b),
        },
    )


@pages.get("/reports/{kind}.{fmt}", response_model=None)
def brief_file(
    request: Request, yq: Yuqing, who: Reader, kind: str, fmt: str, date: str = ""
) -> Response:
    if fmt not in ("html", "pdf"):
        raise HTTPException(404, "a brief is html or pdf")
    try:
        day = _day(yq, date)
        b = make_brief(yq, kind, day, who)
    except reports.BriefInputError as exc:
        raise HTTPException(400, str(exc)) from None
    if fmt == "html":
        return HTMLResponse(reports.render_html(b))
    name = f"yuqing-{kind}-{day.isoformat()}.pdf"
    return Response(
        reports.render_pdf(b, yq.config.settings.console.brief_font),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@api.get("/reports/{kind}", summary="A daily or weekly brief's figures as JSON")
def brief_json(yq: Yuqing, who: Reader, kind: str, date: str = "") -> dict[str, Any]:
    try:
        return make_brief(yq, kind, _day(yq, date), who).as_dict()
    except reports.BriefInputError as exc:
        raise HTTPException(400, str(exc)) from None
