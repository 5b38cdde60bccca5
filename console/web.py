"""The console: server-rendered pages for people, a JSON API for programs.

``create_app(host)`` builds the FastAPI app around the running yuqing App (its
config, store, index and clock); nothing here reads config or the environment.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import HTTPException as FastAPIHTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.responses import Response

from alerts import lifecycle
from alerts.status import ACTION_LABELS_ZH, STATUS_LABELS_ZH
from alerts.triage import OUTCOMES_ZH
from console import (
    api,
    auth_pages,
    briefs,
    dashboard,
    events,
    health,
    models_admin,
    overview,
    pages,
    problems,
    schemes,
    searching,
    triage,
)
from console.deps import CSRF_FIELD, AuthMiddleware, require
from console.freshness import StoreVersion, VersionedCache
from console.host import Host
from yuqing.contracts import TIER_COLOURS, TIER_LABELS_ZH, TIER_NAMES

HERE = Path(__file__).parent
_MARK = re.compile(r"</?mark>")


def local_time_filter(tz: ZoneInfo) -> Callable[..., str]:
    def local(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None or value == "":
            return "—"
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dt.astimezone(tz).strftime(fmt)

    return local


def safe_snippet(html: str | None) -> Markup:
    """The backend promises escaped text with <mark> tags; trust nothing more than that."""
    if not html:
        return Markup("")
    if "<" in _MARK.sub("", html):
        return escape(html)
    return Markup(html)


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an href (no javascript: from a crawled page)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


@pass_context
def csrf_field(ctx: Any) -> Markup:
    """The hidden CSRF input every state-changing form carries."""
    me = ctx.get("me")
    token = getattr(me, "csrf_token", None) or ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def build_templates(app: Host) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["local"] = local_time_filter(ZoneInfo(app.config.settings.timezone))
    env.filters["snippet"] = safe_snippet
    env.filters["safe_url"] = safe_url
    env.globals["csrf_field"] = csrf_field
    env.globals.update(
        TIER_NAMES=TIER_NAMES,
        TIER_LABELS_ZH=TIER_LABELS_ZH,
        TIER_COLOURS=TIER_COLOURS,
        STATUS_LABELS_ZH=STATUS_LABELS_ZH,
        ACTION_LABELS_ZH=ACTION_LABELS_ZH,
        REPLY_CHANNELS=lifecycle.REPLY_CHANNELS,
        timezone=app.config.settings.timezone,
        TRIAGE_OUTCOMES_ZH=OUTCOMES_ZH,
        # teams that are a duty desk (研判): their people, and supervisors, get the queue
        DESK_TEAMS=frozenset({app.config.teams.triage_team, *app.config.teams.duty_desks.values()}),
    )
    return templates


def create_app(app: Host) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_web: FastAPI) -> AsyncIterator[None]:
        yield
        _web.state.store_version.close()
        _web.state.index_version.close()

    web = FastAPI(
        lifespan=lifespan,
        title="yuqing console",
        description="舆情监测与应对：告警收件箱、处置、检索。",
        version="1",
        openapi_url="/api/v1/openapi.json",
        # The bundled Swagger/ReDoc pages load from a CDN; consoles run on closed networks.
        docs_url=None,
        redoc_url=None,
    )
    web.state.yuqing = app
    web.state.store_version = StoreVersion(app.config.database_url, lambda: app.store.engine)
    # Search answers from the index alone; the embedded one is a SQLite file whose changes
    # can be told the same way. A cluster's cannot (it refreshes on its own): not cached.
    embedded = app.config.settings.index.backend == "embedded"
    index_url = f"sqlite:///{app.config.index_path}" if embedded else "none://"
    web.state.index_version = StoreVersion(index_url, lambda: app.index)
    web.state.auth_cache = VersionedCache(size=1024)
    web.state.responses = VersionedCache(size=256)  # API bodies and inbox data, per scope
    web.state.templates = build_templates(app)
    web.state.retrainer = models_admin.Retrainer()
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    web.add_middleware(AuthMiddleware)
    # Outermost: /healthz, /readyz, /metrics answer before the login check.
    web.add_middleware(health.OpsMiddleware, yuqing=app)

    @web.exception_handler(HTTPException)
    async def html_errors(request: Request, exc: FastAPIHTTPException) -> Response:
        # Pages answer people with a page; the API and machines get JSON.
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            if exc.status_code in (204, 304):
                return await http_exception_handler(request, exc)
            return problems.json_error(exc.status_code, exc.detail, getattr(exc, "headers", None))
        return pages.error_page(request, exc.status_code, str(exc.detail))

    @web.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own 422 lists English messages: a Chinese sentence and a code on top
        if not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
            "accept", ""
        ):
            return pages.error_page(request, 422, problems.invalid_message(exc.errors()))
        return problems.invalid_request(exc.errors())

    @web.exception_handler(OverflowError)
    async def id_out_of_range(request: Request, exc: OverflowError) -> Response:
        # /api/v1/alerts/9223372036854775808: past the database's integers, names nothing
        return await html_errors(request, FastAPIHTTPException(404, "not found (id out of range)"))

    web.include_router(events.api)  # before api.router: /api/v1/events/{id} is events'
    web.include_router(events.pages)
    web.include_router(api.router)
    web.include_router(dashboard.api)
    web.include_router(overview.api)
    web.include_router(overview.pages)
    web.include_router(schemes.api)
    web.include_router(schemes.pages)
    web.include_router(briefs.api)
    web.include_router(auth_pages.router)
    web.include_router(dashboard.pages)
    web.include_router(briefs.pages)
    web.include_router(models_admin.pages)
    web.include_router(triage.api)
    web.include_router(triage.pages)
    web.include_router(pages.router)
    # Exports of search results: analysts and up, like the search page itself.
    web.include_router(searching.router, dependencies=[Depends(require("search"))])
    return web
