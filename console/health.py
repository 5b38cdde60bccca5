"""Health, readiness and Prometheus metrics, answered before the login check.

``/healthz``: the process is alive (no dependency touched). ``/readyz``: the
store answers, its migrations are at head, the index answers and a model is
active; 503 with a JSON body naming what fails. ``/metrics``: Prometheus text,
computed from the store so every worker gives the same figures; loopback
clients may read it, others need ``Authorization: Bearer <ops.metrics_token>``.

This is an outer ASGI middleware rather than routes so a load balancer's probe
never waits on the session lookup the auth middleware does for every route, and
so /readyz still answers (503) when the store is down. Every response carries
``X-Yuqing-Worker`` (the serving process id) to show which worker answered.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from console.host import Host

WORKER_HEADER = "x-yuqing-worker"
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: Request, token: str | None) -> bool:
    """Loopback clients, or whoever sends the configured metrics token."""
    if _loopback(request.client.host if request.client else None):
        return True
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return bool(
        token and scheme.lower() == "bearer" and secrets.compare_digest(sent.strip(), token)
    )


class OpsMiddleware:
    def __init__(self, app: ASGIApp, yuqing: Host) -> None:
        self.app = app
        self.yuqing = yuqing
        self.pid = str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in OPS_PATHS and scope["method"] in ("GET", "HEAD"):
            response = await self._answer(Request(scope))
            response.headers[WORKER_HEADER] = self.pid
            await response(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[WORKER_HEADER] = self.pid
            await send(message)

        await self.app(scope, receive, tagged)

    async def _answer(self, request: Request) -> Response:
        path = request.url.path
        if path == "/healthz":
            return JSONResponse({"status": "ok"})  # the pid is in the worker header
        if path == "/readyz":
            ok, body = await run_in_threadpool(self.yuqing.readiness)
            return JSONResponse(body, status_code=200 if ok else 503)
        token = self.yuqing.config.settings.ops.metrics_token
        if not metrics_allowed(request, token):
            return JSONResponse(
                {"detail": "metrics: loopback only, or send the ops.metrics_token as Bearer"},
                status_code=403,
            )
        from prometheus_client import CONTENT_TYPE_LATEST

        data = await run_in_threadpool(self.yuqing.metrics)
        return Response(data, media_type=CONTENT_TYPE_LATEST)
