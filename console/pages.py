"""Server-rendered pages: inbox, alert, search, post."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from alerts import lifecycle, views
from alerts.errors import AlertNotFound, InvalidInput, TransitionError
from alerts.status import ACTION_LABELS_ZH, ACTIONS
from console import problems
from console.accounts import Principal
from console.deps import (
    NO_STORE,
    Who,
    csrf_protect,
    current_actor,
    get_yuqing,
    may_read_raw,
    optional_principal,
    request_version,
    require,
    require_raw_reader,
    response_cache,
)
from console.host import Host
from console.searching import (
    MAX_OFFSET,
    SearchParams,
    SearchUnavailable,
    empty_filter,
    flag,
    parse_severity,
    run_search,
)
from index.base import QueryError, SearchResult
from yuqing.contracts import parse_tier

# Authentication happens in console.deps.AuthMiddleware before any route runs.
router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

Yuqing = Annotated[Host, Depends(get_yuqing)]
Actor = Annotated[Principal, Depends(require("act"))]
Searcher = Annotated[Principal, Depends(require("search"))]
RawReader = Annotated[Principal, Depends(require_raw_reader)]
PAGE_SIZE = 20
INBOX_PAGE = 50  # alerts per inbox page; 更多 leads to the next
MAX_INBOX_PAGE = 1000  # past any real inbox: keeps the offset a small number
STATUS_FILTERS: dict[str, str] = {
    "": "待办（未办结）",
    "open": "待确认",
    "acknowledged": "已确认",
    "responded": "已回复",
    "resolved": "已办结",
    "dismissed": "研判排除/归档",
    "all": "全部",
}


def _templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def unread_count(request: Request, who: Principal | None) -> int | None:
    """待确认 alerts in the user's scope: the count in the nav and the page title."""
    if who is None:
        return None
    yq: Host = request.app.state.yuqing
    with yq.store.session() as s:
        return views.count_alerts(s, status="open", teams=who.scope.teams)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    context.setdefault("actor", current_actor(request))
    me = optional_principal(request)
    context.setdefault("me", me)
    yq: Host = request.app.state.yuqing
    context.setdefault("server_now", yq.now().isoformat())  # countdowns count from it
    if "unread" not in context:
        try:
            context["unread"] = unread_count(request, me)
        except Exception:  # an error page must render even when the store does not answer
            context["unread"] = None
    return _templates(request).TemplateResponse(request, name, context, status_code=status_code)


WARN_FRACTION = 0.25  # a countdown turns amber with this share of its window left


def countdown(deadline: datetime | None, start: datetime | None, now: datetime) -> dict[str, Any]:
    """A deadline as people read it: 剩 X 分 / 已超时 X 分, and ok, warn (a quarter of
    the window left) or late. The page's script keeps counting from the server's now."""
    if deadline is None:
        return {"state": "none", "text": "", "warn_at": None}
    window = (deadline - start).total_seconds() if start is not None else 0.0
    warn_at = deadline - (deadline - start) * WARN_FRACTION if window > 0 and start else deadline
    left = (deadline - now).total_seconds()
    state = "late" if left < 0 else ("warn" if now >= warn_at else "ok")
    return {"state": state, "text": countdown_text(left), "warn_at": warn_at.isoformat()}


def countdown_text(left: float) -> str:
    minutes = int(abs(left) // 60)
    if minutes >= 60 * 24:
        span = f"{minutes // 1440} 天 {minutes % 1440 // 60} 小时"
    elif minutes >= 60:
        span = f"{minutes // 60} 小时 {minutes % 60} 分"
    else:
        span = f"{minutes} 分"
    return f"已超时 {span}" if left < 0 else f"剩 {span}"


def _with_deadline_state(alert: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Adds what the page shows but the JSON leaves to the client: overdue or not, and
    the countdown to the pending deadline."""
    out = dict(alert)
    deadline = datetime.fromisoformat(alert["deadline"]) if alert["deadline"] else None
    out["overdue"] = deadline is not None and deadline < now
    out["deadline_kind"] = {"open": "确认", "resolved": ""}.get(alert["status"], "回复")
    started = alert.get("routed_at") or alert.get("opened_at")
    out["countdown"] = countdown(
        deadline, datetime.fromisoformat(started) if started else None, now
    )
    return out


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """An error as a page, worded in Chinese (console.problems), its code beside it."""
    code, text = problems.explain(status_code, message)
    context = {"message": text, "status": status_code, "code": code}
    return render(request, "error.html", context, status_code)


INBOX_POLL_SECONDS = 5  # how often an open inbox asks for its list again


def _inbox_data(
    yq: Host, who: Principal, team: str, status: str, page: int
) -> tuple[list[dict[str, Any]], int, list[tuple[str, str]], int]:
    """(one page of alerts and one more, total, team choices, unread): the store's part
    of the inbox, which does not depend on the clock."""
    with yq.store.session() as s:
        # one more than a page: whether a next page exists, without counting again
        alerts = views.alerts_as_dicts(
            s,
            status=status or None,
            team=team or None,
            limit=INBOX_PAGE + 1,
            offset=(page - 1) * INBOX_PAGE,
            teams=who.scope.teams,
        )
        total = views.count_alerts(s, status=status or None, team=team or None,
                                   teams=who.scope.teams)  # fmt: skip
        teams = views.team_choices(s, teams=who.scope.teams)
        unread = views.count_alerts(s, status="open", teams=who.scope.teams)
    return alerts, total, teams, unread


def _inbox_context(
    request: Request, yq: Host, who: Principal, team: str, status: str, page: int
) -> dict[str, Any]:
    now = yq.now()
    page = max(1, min(page, MAX_INBOX_PAGE))
    # kept per scope under the store version read before this request's first query
    # (console.freshness): a commit anywhere, a new alert, reads it again; countdowns and
    # the page are made fresh from the clock every time
    version = request_version(request)
    cache = response_cache(request)
    key = ("inbox", who.scope.teams, team, status, page)
    data = cache.get(key, version)
    if data is None:
        data = _inbox_data(yq, who, team, status, page)
        cache.put(key, version, data)
    alerts, total, teams, unread = data
    more = len(alerts) > INBOX_PAGE
    alerts = alerts[:INBOX_PAGE]
    filters = [(k, v) for k, v in (("team", team), ("status", status)) if v]

    def page_url(path: str, n: int) -> str:
        return path + "?" + urlencode(filters + ([("page", str(n))] if n > 1 else []))

    first = (page - 1) * INBOX_PAGE + 1
    return {
        "alerts": [_with_deadline_state(a, now) for a in alerts],
        "teams": teams,
        "team": team,
        "status": status,
        "status_filters": STATUS_FILTERS,
        "page": page,
        "page_size": INBOX_PAGE,
        "total": total,
        "shown_from": first if alerts else 0,
        "shown_to": first + len(alerts) - 1 if alerts else 0,
        "next_url": page_url("/", page + 1) if more else None,
        "prev_url": page_url("/", page - 1) if page > 1 else None,
        "unread": unread,
        "server_now": now.isoformat(),
        "poll_seconds": INBOX_POLL_SECONDS,
        "list_url": page_url("/inbox/list", page),
    }


@router.get("/", response_class=HTMLResponse)
def inbox(
    request: Request, yq: Yuqing, who: Who, team: str = "", status: str = "", page: int = 1
) -> HTMLResponse:
    try:
        context = _inbox_context(request, yq, who, team, status, page)
    except InvalidInput as exc:
        return error_page(request, 400, str(exc))
    return render(request, "inbox.html", context)


@router.get("/inbox/list", response_class=HTMLResponse)
def inbox_list(
    request: Request, yq: Yuqing, who: Who, team: str = "", status: str = "", page: int = 1
) -> HTMLResponse:
    """The inbox's list alone, polled by static/inbox.js; the server's clock rides in a
    header so the page's countdowns follow it, not the browser's."""
    try:
        context = _inbox_context(request, yq, who, team, status, page)
    except InvalidInput as exc:
        return error_page(request, 400, str(exc))
    resp = render(request, "_inbox_list.html", context)
    resp.headers["X-Server-Now"] = context["server_now"]
    resp.headers.update(NO_STORE)
    return resp


def _alert_page(
    request: Request,
    yq: Host,
    alert_id: int,
    who: Principal,
    *,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        with yq.store.session() as s:
            alert = views.alert_detail(
                s, alert_id, teams=who.scope.teams, tz=yq.config.settings.timezone
            )
            all_teams = views.team_choices(s)  # a matter may go to any team
    except AlertNotFound:
        return error_page(request, 404, f"未找到告警 {alert_id}")
    return render(
        request,
        "alert.html",
        {
            "a": _with_deadline_state(alert, yq.now()),
            "all_teams": all_teams,
            "categories": yq.config.taxonomy.category_names(),
            "error": problems.explain(status_code, error)[1] if error else None,
            "done": done if done in ACTION_LABELS_ZH else None,
            "form": form or {},
        },
        status_code,
    )


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    request: Request, alert_id: int, yq: Yuqing, who: Who, done: str = ""
) -> HTMLResponse:
    return _alert_page(request, yq, alert_id, who, done=done)


@router.post("/alerts/{alert_id}/reassign", response_model=None)
def reassign_form(
    request: Request,
    alert_id: int,
    yq: Yuqing,
    actor: Actor,
    team: Annotated[str, Form(max_length=80)] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        with yq.store.session() as s:
            lifecycle.reassign(
                s,
                alert_id,
                actor.username,
                yq.now(),
                team,
                text,
                config=yq.config,
                teams=actor.scope.teams,
            )
    except AlertNotFound:
        return error_page(request, 404, f"未找到告警 {alert_id}")
    except (TransitionError, InvalidInput) as exc:
        return _alert_page(request, yq, alert_id, actor, error=str(exc), status_code=409)
    if actor.scope.teams is not None and team not in actor.scope.teams:
        return RedirectResponse("/?done=reassign", status_code=303)  # out of their hands now
    return RedirectResponse(f"/alerts/{alert_id}?done=reassign", status_code=303)


@router.post("/alerts/{alert_id}/correct", response_model=None)
def correct_form(
    request: Request,
    alert_id: int,
    yq: Yuqing,
    actor: Actor,
    category: Annotated[str, Form(max_length=80)] = "",
    tier: Annotated[str, Form(max_length=10)] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        severity = parse_tier(tier) if tier else None
        with yq.store.session() as s:
            lifecycle.correct(
                s, alert_id, actor.username, yq.now(), yq.config.taxonomy,
                category=category or None, severity=severity, text=text,
                config=yq.config, teams=actor.scope.teams,
            )  # fmt: skip
    except AlertNotFound:
        return error_page(request, 404, f"未找到告警 {alert_id}")
    except (InvalidInput, ValueError) as exc:
        return _alert_page(request, yq, alert_id, actor, error=str(exc), status_code=400)
    return RedirectResponse(f"/alerts/{alert_id}?done=correct", status_code=303)


@router.post("/alerts/{alert_id}/{action}", response_model=None)
def alert_action(
    request: Request,
    alert_id: int,
    action: str,
    yq: Yuqing,
    actor: Actor,
    text: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
) -> Response:
    if action not in ACTIONS and action != lifecycle.NOTE:
        return error_page(request, 404, f"没有“{action}”这个操作")
    windows = {t: p.respond for t, p in yq.config.alerts.tiers.items()}
    try:
        with yq.store.session() as s:
            lifecycle.apply_action(
                s,
                alert_id,
                action,
                actor.username,
                yq.now(),
                text=text,
                channel=channel,
                respond_windows=windows,
                teams=actor.scope.teams,
            )
    except AlertNotFound:
        return error_page(request, 404, f"未找到告警 {alert_id}")
    except TransitionError as exc:
        return _alert_page(request, yq, alert_id, actor, error=str(exc), status_code=409)
    except InvalidInput as exc:
        form = {"action": action, "text": text, "channel": channel}
        return _alert_page(request, yq, alert_id, actor, error=str(exc), status_code=400, form=form)
    # Post/redirect/get: a reload must not repeat the action.
    return RedirectResponse(f"/alerts/{alert_id}?done={action}", status_code=303)


def _search_url(current: dict[str, str], **changes: str | int | None) -> str:
    params = {**current, **{k: ("" if v is None else str(v)) for k, v in changes.items()}}
    if "page" not in changes:
        params.pop("page", None)  # a new filter starts at page 1
    return "/search?" + urlencode({k: v for k, v in params.items() if v})


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    yq: Yuqing,
    who: Searcher,
    q: str = "",
    category: str = "",
    tier: str = "",
    area: str = "",
    source: str = "",
    page: str = "1",
    noexpand: str = "",
    recall: str = "",
) -> HTMLResponse:
    current = {"q": q, "category": category, "tier": tier, "area": area, "source": source,
               "noexpand": noexpand, "recall": recall}  # fmt: skip
    error: str | None = None
    result: SearchResult | None = None
    status_code = 200
    page_no = int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1
    searched = any(current.values())
    if searched:
        try:
            params = SearchParams(
                q=q[:2000],
                category=empty_filter(category),
                severity=parse_severity(tier, "tier"),
                area=empty_filter(area),
                source=empty_filter(source),
                limit=PAGE_SIZE,
                offset=(page_no - 1) * PAGE_SIZE,
                expand=not flag(noexpand),
                recall=flag(recall),
            )
            result = run_search(yq, params)
        except QueryError as exc:
            error, status_code = f"查询有误：{exc}", 400
        except SearchUnavailable as exc:
            error, status_code = str(exc), 503
    pages = max(1, math.ceil(result.total / PAGE_SIZE)) if result else 1
    pages = min(pages, MAX_OFFSET // PAGE_SIZE + 1)  # the backend refuses deeper offsets

    def url(**changes: str | int | None) -> str:
        return _search_url({**current, "page": str(page_no)}, **changes)

    return render(
        request,
        "search.html",
        {
            **current,
            "searched": searched,
            "result": result,
            "error": problems.explain(status_code, error)[1] if error else None,
            "page": page_no,
            "pages": pages,
            "url": url,
            "categories": yq.config.taxonomy.category_names(),
        },
        status_code,
    )


def _post_page(
    request: Request,
    yq: Host,
    post_id: int,
    who: Principal,
    *,
    raw: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        with yq.store.session() as s:
            post = views.get_post(s, post_id, teams=who.scope.teams, areas=who.scope.areas)
            alerts = views.alerts_for_post(s, post_id, teams=who.scope.teams)
    except AlertNotFound:
        return error_page(request, 404, f"未找到帖子 {post_id}")
    context = {
        "p": post,
        "alerts": alerts,
        "raw": raw,
        "raw_error": problems.explain(status_code, error)[1] if error else None,
        "may_read_raw": may_read_raw(yq, who),
    }
    return render(request, "post.html", context, status_code)


@router.get("/posts/{post_id}", response_class=HTMLResponse)
def post_page(request: Request, post_id: int, yq: Yuqing, who: Who) -> HTMLResponse:
    return _post_page(request, yq, post_id, who)


@router.post("/posts/{post_id}/raw", response_class=HTMLResponse)
def post_raw_page(
    request: Request,
    post_id: int,
    yq: Yuqing,
    who: RawReader,
    reason: Annotated[str, Form(max_length=views.MAX_REASON)] = "",
) -> HTMLResponse:
    """查看原文: a POST (never prefetched or cached) that shows and audits the raw text."""
    raw: dict[str, Any] | None = None
    error: str | None = None
    status_code = 200
    try:
        with yq.store.session() as s:
            raw = views.read_raw_post(
                s, post_id, yq.privacy, who.username, yq.now(), reason,
                teams=who.scope.teams, areas=who.scope.areas,
            )  # fmt: skip
    except InvalidInput as exc:
        error, status_code = str(exc), 400
    except AlertNotFound:
        error, status_code = "该帖子没有保存原文（或不在您的范围内）", 404
    except views.RawTextUnreadable as exc:
        error, status_code = str(exc), 500
    page = _post_page(request, yq, post_id, who, raw=raw, error=error, status_code=status_code)
    page.headers.update(NO_STORE)
    return page
