"""研判队列: the duty desk's page and API (the decisions live in alerts/triage.py).

The page lists what waits for the desk (tier I-II alerts resting on the machine
alone, with a countdown to fail-open), the second looks (复核: posts graded below II
that the model could not rule out) and the backlog of posts found long after they
were published. It refreshes itself (static/triage.js polls the fragment
``/triage/queue`` every few seconds and keeps a form someone is typing in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from alerts import triage, views
from alerts.status import Status
from console.accounts import Principal
from console.deps import csrf_protect, get_yuqing, require
from console.host import Host
from yuqing.contracts import parse_tier

Yuqing = Annotated[Host, Depends(get_yuqing)]
Actor = Annotated[Principal, Depends(require("act"))]

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
api = APIRouter(prefix="/api/v1", tags=["api"], dependencies=[Depends(csrf_protect)])
DONE_ZH = {
    "confirm": "已确认并派发",
    "retier": "已改级/改派并派发",
    "dismiss": "已排除",
    "archive": "已归档",
}


def _queue(s: Session, who: Principal, now: datetime) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"triage": [], "review": [], "backlog": []}
    for a in triage.queue(s, teams=who.scope.teams):
        d = views.alert_as_dict(a)
        d["desk_name"] = a.desk_team_id
        left = (a.triage_deadline - now).total_seconds() if a.triage_deadline else None
        d["seconds_left"] = None if left is None else int(left)
        d["held"] = a.status == Status.BACKLOG
        out["review" if a.triage == triage.REVIEW else a.status].append(d)
    return out


def _context(yq: Host, who: Principal) -> dict[str, Any]:
    with yq.store.session() as s:
        q = _queue(s, who, yq.now())
        teams = views.team_choices(s)
    return {"queue": q, "all_teams": teams, "now": yq.now().isoformat()}


@pages.get("/triage", response_class=HTMLResponse)
def triage_page(
    request: Request, yq: Yuqing, who: Actor, done: str = "", error: str = ""
) -> Response:
    from console.pages import render
    from console.problems import explain

    ctx = _context(yq, who)
    ctx.update(done=DONE_ZH.get(done), error=explain(409, error[:300])[1] if error else None)
    return render(request, "triage.html", ctx)


@pages.get("/triage/queue", response_class=HTMLResponse)
def triage_fragment(request: Request, yq: Yuqing, who: Actor) -> Response:
    """The queue alone, for the page's live refresh."""
    from console.pages import render

    ctx = _context(yq, who)
    page = render(request, "_triage_queue.html", ctx)
    page.headers["X-Server-Now"] = ctx["now"]  # the countdowns follow the server's clock
    return page


def _decide(yq: Host, fn: Callable[[Session, datetime], Any]) -> str | None:
    """Run a decision; the error text for the page, or None."""
    try:
        with yq.store.session() as s:
            fn(s, yq.now())
    except LookupError:
        return "未找到该告警或无权研判"
    except triage.TriageError as exc:
        return str(exc)
    return None


def _back(action: str, error: str | None) -> RedirectResponse:
    from urllib.parse import quote

    if error:
        return RedirectResponse(f"/triage?error={quote(error)}", status_code=303)
    return RedirectResponse(f"/triage?done={action}", status_code=303)


@pages.post("/triage/{alert_id}/confirm", response_model=None)
def confirm_form(
    alert_id: int, yq: Yuqing, actor: Actor, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    err = _decide(
        yq,
        lambda s, now: triage.confirm(
            s, yq.config, alert_id, actor.username, now, note, teams=actor.scope.teams
        ),
    )
    return _back("confirm", err)


@pages.post("/triage/{alert_id}/retier", response_model=None)
def retier_form(
    alert_id: int,
    yq: Yuqing,
    actor: Actor,
    tier: Annotated[str, Form(max_length=10)] = "",
    team: Annotated[str, Form(max_length=80)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        severity = parse_tier(tier) if tier else None
    except ValueError as exc:
        return _back("retier", str(exc))
    err = _decide(
        yq,
        lambda s, now: triage.retier(
            s,
            yq.config,
            alert_id,
            actor.username,
            now,
            tier=severity,
            team_id=team or None,
            note=note,
            teams=actor.scope.teams,
        ),  # fmt: skip
    )
    return _back("retier", err)


@pages.post("/triage/{alert_id}/dismiss", response_model=None)
def dismiss_form(
    alert_id: int, yq: Yuqing, actor: Actor, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    err = _decide(
        yq,
        lambda s, now: triage.dismiss(
            s, yq.config, alert_id, actor.username, now, reason, teams=actor.scope.teams
        ),
    )
    return _back("dismiss", err)


@pages.post("/triage/{alert_id}/archive", response_model=None)
def archive_form(
    alert_id: int, yq: Yuqing, actor: Actor, note: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    err = _decide(
        yq,
        lambda s, now: triage.archive(
            s, alert_id, actor.username, now, note, teams=actor.scope.teams
        ),
    )
    return _back("archive", err)


# ----------------------------------------------------------------------- API


class TriageBody(BaseModel):
    tier: str | None = Field(default=None, max_length=10, description="I..IV or 1..4 (retier)")
    team: str | None = Field(default=None, max_length=80, description="owning team id (retier)")
    reason: str | None = Field(default=None, max_length=2000, description="why (dismiss)")
    note: str | None = Field(default=None, max_length=2000)


@api.get("/triage", summary="研判: what waits for the caller's duty desk, and the backlog")
def triage_queue(yq: Yuqing, who: Actor) -> dict[str, Any]:
    with yq.store.session() as s:
        return _queue(s, who, yq.now())


@api.post(
    "/alerts/{alert_id}/triage/{decision}",
    summary="研判 decision: confirm, retier, dismiss (a false alarm) or archive (backlog)",
)
def decide(
    alert_id: int, decision: str, yq: Yuqing, actor: Actor, body: TriageBody | None = None
) -> dict[str, Any]:
    b = body or TriageBody()
    note = b.note or ""
    teams = actor.scope.teams
    try:
        severity = parse_tier(b.tier) if b.tier else None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        with yq.store.session() as s:
            now = yq.now()
            if decision == "confirm":
                a = triage.confirm(s, yq.config, alert_id, actor.username, now, note, teams=teams)
            elif decision == "retier":
                a = triage.retier(
                    s, yq.config, alert_id, actor.username, now, tier=severity,
                    team_id=b.team, note=note, teams=teams,
                )  # fmt: skip
            elif decision == "dismiss":
                a = triage.dismiss(
                    s, yq.config, alert_id, actor.username, now, b.reason or "", teams=teams
                )
            elif decision == "archive":
                a = triage.archive(s, alert_id, actor.username, now, note, teams=teams)
            else:
                raise HTTPException(404, f"unknown decision {decision!r}")
            return views.alert_as_dict(a)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except triage.TriageInputError as exc:
        raise HTTPException(400, str(exc)) from None
    except triage.TriageError as exc:
        raise HTTPException(409, str(exc)) from None
