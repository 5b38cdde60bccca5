"""The JSON API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from dataclasses import astuple
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from alerts import lifecycle, views
from alerts.errors import AlertNotFound, InvalidInput, TransitionError
from console.accounts import Principal
from console.deps import (
    NO_STORE,
    Who,
    csrf_protect,
    get_yuqing,
    index_versions,
    request_version,
    require,
    require_raw_reader,
    response_cache,
)
from console.host import Host
from console.searching import (
    SearchParams,
    SearchUnavailable,
    empty_filter,
    parse_severity,
    parse_when,
    run_search,
)
from index.base import QueryError, SearchHit
from yuqing.contracts import parse_tier, tier_name

# Authentication happens in console.deps.AuthMiddleware before any route runs.
# HTTPBearer only documents the scheme in the OpenAPI schema (the middleware enforces it).
router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    dependencies=[Depends(csrf_protect), Depends(HTTPBearer(auto_error=False))],
)

Yuqing = Annotated[Host, Depends(get_yuqing)]
Actor = Annotated[Principal, Depends(require("act"))]
Searcher = Annotated[Principal, Depends(require("search"))]
RawReader = Annotated[Principal, Depends(require_raw_reader)]


class ActionBody(BaseModel):
    text: str | None = Field(default=None, max_length=lifecycle.MAX_TEXT)
    channel: str | None = Field(default=None, max_length=lifecycle.MAX_CHANNEL)


@router.get("/me", summary="The caller: user, role, team and scope")
def me(who: Who) -> dict[str, Any]:
    return {
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role,
        "team": who.team_id,
        "teams": None if who.scope.teams is None else sorted(who.scope.teams),
        "via": who.via,
        "csrf_token": who.csrf_token,
    }


@router.get(
    "/alerts",
    summary="Alerts by nearest pending deadline (within the caller's scope)",
    response_model=None,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def list_alerts(
    request: Request,
    yq: Yuqing,
    who: Who,
    status: Annotated[
        str | None, Query(description="open, acknowledged, responded, resolved, all or a,b")
    ] = None,
    team: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    # The answer depends on the caller's scope and the query alone (no clock), so it is
    # kept per scope under the store version read before the request's first query
    # (console.freshness): any commit since, a new or changed alert, recomputes it.
    version = request_version(request)
    cache = response_cache(request)
    key = ("alerts", who.scope.teams, status, team or None, limit)
    body = cache.get(key, version)
    if body is None:

        def compute() -> bytes:
            with yq.store.session() as s:
                alerts = views.alerts_as_dicts(
                    s, status=status, team=team or None, limit=limit, teams=who.scope.teams
                )
            return bytes(JSONResponse({"alerts": alerts}).body)

        try:
            body = await run_in_threadpool(compute)
        except InvalidInput as exc:
            raise HTTPException(400, str(exc)) from None
        cache.put(key, version, body)
    return Response(body, media_type="application/json")


@router.get("/alerts/{alert_id}", summary="One alert with its posts and responses")
def get_alert(alert_id: int, yq: Yuqing, who: Who) -> dict[str, Any]:
    try:
        with yq.store.session() as s:
            return views.alert_detail(
                s, alert_id, teams=who.scope.teams, tz=yq.config.settings.timezone
            )
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _act(
    yq: Host, alert_id: int, action: str, actor: Principal, body: ActionBody | None
) -> dict[str, Any]:
    body = body or ActionBody()
    windows = {t: p.respond for t, p in yq.config.alerts.tiers.items()}
    try:
        with yq.store.session() as s:
            lifecycle.apply_action(
                s,
                alert_id,
                action,
                actor.username,
                yq.now(),
                text=body.text,
                channel=body.channel,
                respond_windows=windows,
                teams=actor.scope.teams,
            )
            return views.alert_detail(s, alert_id, teams=actor.scope.teams)
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    except InvalidInput as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/alerts/{alert_id}/acknowledge", summary="确认: open -> acknowledged")
def acknowledge(
    alert_id: int, yq: Yuqing, actor: Actor, body: ActionBody | None = None
) -> dict[str, Any]:
    return _act(yq, alert_id, "acknowledge", actor, body)


@router.post("/alerts/{alert_id}/reply", summary="回复: -> responded (text required)")
def reply(
    alert_id: int, yq: Yuqing, actor: Actor, body: ActionBody | None = None
) -> dict[str, Any]:
    return _act(yq, alert_id, "reply", actor, body)


@router.post("/alerts/{alert_id}/resolve", summary="办结: acknowledged/responded -> resolved")
def resolve(
    alert_id: int, yq: Yuqing, actor: Actor, body: ActionBody | None = None
) -> dict[str, Any]:
    return _act(yq, alert_id, "resolve", actor, body)


@router.post("/alerts/{alert_id}/reopen", summary="重新打开: resolved -> acknowledged")
def reopen(
    alert_id: int, yq: Yuqing, actor: Actor, body: ActionBody | None = None
) -> dict[str, Any]:
    return _act(yq, alert_id, "reopen", actor, body)


class NoteBody(BaseModel):
    text: str = Field(max_length=lifecycle.MAX_TEXT)


@router.post("/alerts/{alert_id}/note", summary="备注: add a note in any status (status stays)")
def note(alert_id: int, body: NoteBody, yq: Yuqing, actor: Actor) -> dict[str, Any]:
    return _act(yq, alert_id, lifecycle.NOTE, actor, ActionBody(text=body.text))


class ReassignBody(BaseModel):
    team: str = Field(min_length=1, max_length=80)
    text: str | None = Field(default=None, max_length=lifecycle.MAX_TEXT)


class CorrectBody(BaseModel):
    category: str | None = Field(default=None, max_length=80)
    tier: str | None = Field(default=None, max_length=10, description="I..IV or 1..4")
    text: str | None = Field(default=None, max_length=lifecycle.MAX_TEXT)


@router.post("/alerts/{alert_id}/reassign", summary="转办: hand the alert to another team")
def reassign(alert_id: int, body: ReassignBody, yq: Yuqing, actor: Actor) -> dict[str, Any]:
    try:
        with yq.store.session() as s:
            lifecycle.reassign(
                s, alert_id, actor.username, yq.now(), body.team, body.text,
                config=yq.config, teams=actor.scope.teams,
            )  # fmt: skip
            alert = views.alert_detail(s, alert_id)
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    except InvalidInput as exc:
        raise HTTPException(400, str(exc)) from None
    return alert


@router.post(
    "/alerts/{alert_id}/correct",
    summary="纠正: correct category or tier (recorded for retraining)",
)
def correct(alert_id: int, body: CorrectBody, yq: Yuqing, actor: Actor) -> dict[str, Any]:
    try:
        severity = parse_tier(body.tier) if body.tier else None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        with yq.store.session() as s:
            lifecycle.correct(
                s, alert_id, actor.username, yq.now(), yq.config.taxonomy,
                category=body.category or None, severity=severity, text=body.text,
                config=yq.config, teams=actor.scope.teams,
            )  # fmt: skip
            return views.alert_detail(s, alert_id, teams=actor.scope.teams)
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidInput as exc:
        raise HTTPException(400, str(exc)) from None


def hit_as_dict(h: SearchHit) -> dict[str, Any]:
    return {
        "id": h.id,
        "title": views.mask_post_text(h.title),
        "title_html": h.title_html,
        "snippet": h.snippet,
        "category": h.category,
        "severity": h.severity,
        "tier": tier_name(h.severity) if h.severity in (1, 2, 3, 4) else None,
        "area": h.area,
        "source": h.source,
        "published_at": views.iso(h.published_at),
        "url": h.url,
        "score": h.score,
        "expanded": h.expanded,
    }


@router.get(
    "/search",
    summary="Search posts (query language of index.query)",
    response_model=None,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def search(
    request: Request,
    yq: Yuqing,
    who: Searcher,
    q: Annotated[str, Query(max_length=2000)] = "",
    category: str | None = None,
    severity: Annotated[str | None, Query(description="exact tier: I..IV or 1..4")] = None,
    severity_min: Annotated[str | None, Query(description="this tier or more serious")] = None,
    area: str | None = None,
    source: str | None = None,
    since: Annotated[str | None, Query(description="YYYY-MM-DD or ISO 8601")] = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    expand: Annotated[bool, Query(description="also search config/synonyms.yaml's words")] = True,
    recall: Annotated[bool, Query(description="any one word matches, newest first")] = False,
) -> Response:
    try:
        params = SearchParams(
            q=q,
            category=empty_filter(category),
            severity=parse_severity(severity),
            severity_min=parse_severity(severity_min, "severity_min"),
            area=empty_filter(area),
            source=empty_filter(source),
            since=parse_when(since),
            until=parse_when(until, "until"),
            limit=limit,
            offset=offset,
            expand=expand,
            recall=recall,
        )
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None
    # The answer is the index's alone (every searcher sees every post): kept under the
    # index's version read before searching, so a post indexed since is found at once.
    version = index_versions(request).current()
    cache = response_cache(request)
    key = ("search", astuple(params))
    body = cache.get(key, version)
    if body is None:

        def compute() -> bytes:
            result = run_search(yq, params)
            data = {
                "total": result.total,
                "hits": [hit_as_dict(h) for h in result.hits],
                "facets": result.facets,
                "expansions": result.expansions,  # typed word -> synonyms also searched
                "recall": recall,
                "partial": result.partial,  # few posts had every word: those with some are in
            }
            return bytes(JSONResponse(data).body)

        try:
            body = await run_in_threadpool(compute)
        except QueryError as exc:
            raise HTTPException(400, str(exc)) from None
        except SearchUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        cache.put(key, version, body)
    return Response(body, media_type="application/json")


@router.get("/posts/{post_id}", summary="One post, personal data masked")
def get_post(post_id: int, yq: Yuqing, who: Who) -> dict[str, Any]:
    try:
        with yq.store.session() as s:
            return views.get_post(s, post_id, teams=who.scope.teams, areas=who.scope.areas)
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None


class RawBody(BaseModel):
    reason: str | None = Field(default=None, max_length=views.MAX_REASON)


@router.post(
    "/posts/{post_id}/raw",
    summary="One post's unmasked text (roles in console.raw_text_roles; audited, reason required)",
)
def get_post_raw(
    post_id: int, yq: Yuqing, who: RawReader, response: Response, body: RawBody | None = None
) -> dict[str, Any]:
    response.headers.update(NO_STORE)
    try:
        with yq.store.session() as s:
            return views.read_raw_post(
                s, post_id, yq.privacy, who.username, yq.now(), body.reason if body else None,
                teams=who.scope.teams, areas=who.scope.areas,
            )  # fmt: skip
    except InvalidInput as exc:
        raise HTTPException(400, str(exc), headers=NO_STORE) from None
    except AlertNotFound as exc:
        raise HTTPException(404, str(exc), headers=NO_STORE) from None
    except views.RawTextUnreadable as exc:
        raise HTTPException(500, str(exc), headers=NO_STORE) from None
