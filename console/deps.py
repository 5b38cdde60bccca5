"""Who is asking, and may they: the auth middleware, CSRF and role checks.

Every request is authenticated in :class:`AuthMiddleware` before routing, so a
route added later is closed by default; only :data:`PUBLIC_PATHS` and static
files answer anonymous requests. Browsers carry a session cookie (server-side
session, HttpOnly, SameSite=Lax) and must echo its CSRF token on every state
change; machines send ``Authorization: Bearer <token>`` and need no CSRF token
(a browser never adds that header by itself).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from console import accounts
from console.accounts import Principal
from console.freshness import StoreVersion, VersionedCache
from console.host import Host
from console.problems import json_error

SESSION_COOKIE = "yuqing_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_yuqing(request: Request) -> Host:
    app: Host = request.app.state.yuqing
    return app


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _credential(request: Request) -> tuple[str, str] | None:
    """("token" or "session", the secret's hash) of what the request carries."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return "token", accounts.hash_secret(credential.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    return ("session", accounts.hash_secret(cookie)) if cookie else None


def _lookup(yq: Host, kind: str, secret_hash: str) -> tuple[Principal, datetime] | None:
    with yq.store.session() as s:
        return accounts.resolve_hashed(s, yq.config, kind, secret_hash, yq.now())


def auth_cache(request: Request) -> VersionedCache[tuple[Principal, datetime]]:
    cache: VersionedCache[tuple[Principal, datetime]] = request.app.state.auth_cache
    return cache


def store_versions(request: Request) -> StoreVersion:
    versions: StoreVersion = request.app.state.store_version
    return versions


def response_cache(request: Request) -> VersionedCache[Any]:
    """Response bodies (and the inbox's data) kept under the version they were made at."""
    cache: VersionedCache[Any] = request.app.state.responses
    return cache


def index_versions(request: Request) -> StoreVersion:
    """The embedded search index's version (a cluster's: always None)."""
    versions: StoreVersion = request.app.state.index_version
    return versions


def request_version(request: Request) -> str | None:
    """The store version read before this request's first query (None: do not cache)."""
    v: str | None = getattr(request.state, "store_version", None)
    return v


def forget_credential(request: Request, kind: str, secret: str) -> None:
    """Drop a credential from this process's cache at once (logout); other processes
    see the store change and drop theirs on their next request."""
    auth_cache(request).pop((kind, accounts.hash_secret(secret)))


def _resolve(request: Request) -> tuple[Principal | None, str | None]:
    """Who is asking, and the store version read before finding out.

    A principal found in the store is kept in memory under the store version it was
    read at and reused while that version holds: a logout, a password, role or team
    change, a disabled user or a revoked token is a commit, which changes the version,
    so every worker looks the credential up again on its next request. A session is
    also reused no longer than it lasts, and a token no longer than its last-use stamp
    is fresh (the slow path stamps it, as without the cache).
    """
    yq = get_yuqing(request)
    version = store_versions(request).current()
    cred = _credential(request)
    if cred is None:
        return None, version
    cache = auth_cache(request)
    hit = cache.get(cred, version)
    if hit is not None and yq.now() < hit[1]:
        return hit[0], version
    found = _lookup(yq, *cred)
    if found is None:
        return None, version
    cache.put(cred, version, found)
    return found[0], version


def _resolve_cached(request: Request) -> tuple[Principal | None, str | None]:
    """The cached principal alone (no store query), or None."""
    version = store_versions(request).current()
    cred = _credential(request)
    hit = auth_cache(request).get(cred, version) if cred is not None else None
    if hit is not None and get_yuqing(request).now() < hit[1]:
        return hit[0], version
    return None, version


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _cross_origin(request: Request) -> bool:
    """An unsafe request whose Origin names another host (login CSRF, old browsers)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc != request.headers.get("host", "")


class AuthMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware): reads headers only, never the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = await self._check(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, request: Request) -> Response | None:
        if request.method not in SAFE_METHODS and _cross_origin(request):
            return json_error(403, "cross-origin request refused")
        path = request.url.path
        principal, version = None, None
        if not path.startswith(PUBLIC_PREFIXES) and path != "/healthz":  # no DB for those
            if store_versions(request).kind == "sqlite":
                # a local file read of microseconds: a cache hit needs no thread
                principal, version = _resolve_cached(request)
            if principal is None:
                principal, version = await run_in_threadpool(_resolve, request)
        request.state.principal = principal  # lives in the scope: routes see it
        request.state.store_version = version
        if principal is None and not is_public(path):
            if request.method in ("GET", "HEAD") and not _wants_json(request):
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            return json_error(
                401,
                "authentication required: log in or send Authorization: Bearer",
                {"WWW-Authenticate": "Bearer"},
            )
        return None


def optional_principal(request: Request) -> Principal | None:
    p: Principal | None = getattr(request.state, "principal", None)
    return p


def current_principal(request: Request) -> Principal:
    p = optional_principal(request)
    if p is None:  # only reachable if the middleware is missing
        raise HTTPException(401, "authentication required")
    return p


def current_actor(request: Request) -> str:
    """The acting user's name, as written to responses and the audit log."""
    p = optional_principal(request)
    return p.username if p is not None else "anonymous"


async def csrf_protect(request: Request) -> None:
    """State changes from a browser session must carry the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    p = optional_principal(request)
    if p is None or p.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # FastAPI reuses the parsed form for Form() params
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not p.csrf_token or not secrets.compare_digest(sent, p.csrf_token):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")


def require(permission: str) -> Callable[[Request], Principal]:
    """A dependency refusing (403) users whose role lacks ``permission``."""

    def check(request: Request) -> Principal:
        p = current_principal(request)
        if not p.can(permission):
            raise HTTPException(403, f"your role ({p.role}) may not do this ({permission})")
        return p

    return check


def may_read_raw(yq: Host, who: Principal | None) -> bool:
    """Whether ``who``'s role may read posts' unmasked text (console.raw_text_roles)."""
    return who is not None and who.role in yq.config.settings.console.raw_text_roles


def require_raw_reader(request: Request) -> Principal:
    """A dependency refusing (403) users whose role may not read unmasked text."""
    p = current_principal(request)
    if not may_read_raw(get_yuqing(request), p):
        raise HTTPException(403, f"your role ({p.role}) may not read unmasked text")
    return p


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

Who = Annotated[Principal, Depends(current_principal)]
