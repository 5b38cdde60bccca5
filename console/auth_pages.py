"""Login and logout pages: the only form an anonymous visitor may post."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console import accounts
from console.deps import (
    SESSION_COOKIE,
    client_ip,
    csrf_protect,
    forget_credential,
    get_yuqing,
    optional_principal,
)
from console.host import Host
from console.pages import render

router = APIRouter(include_in_schema=False)
Yuqing = Annotated[Host, Depends(get_yuqing)]


def _safe_next(target: str) -> str:
    r"""Only a local path: no open redirect to another site after login. Browsers drop
    tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil" and
    "/\evil" would leave the site: any of those, or a scheme, and it is the inbox."""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not any(c in target for c in "\\\t\r\n")
        and ":" not in target.split("?", 1)[0]
        and all(ord(c) >= 0x20 for c in target)
    ):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_form(request: Request, next: str = "/") -> Response:
    if optional_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_model=None)
def login(
    request: Request,
    yq: Yuqing,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    ip = client_ip(request)
    ctx = {"next": _safe_next(next), "username": username}
    try:
        with yq.store.session() as s:
            user = accounts.authenticate(s, yq.config, username, password, ip, yq.now())
            if user is not None:
                token, _csrf = accounts.open_session(s, yq.config, user, yq.now(), ip)
    except accounts.LoginRefused as exc:
        return render(request, "login.html", {**ctx, "error": str(exc)}, 429)
    if user is None:
        return render(request, "login.html", {**ctx, "error": "用户名或密码错误"}, 401)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    cs = yq.config.settings.console
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(cs.session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cs.secure_cookies or request.url.scheme == "https",
        path="/",
    )
    return resp


@router.post("/logout", response_model=None, dependencies=[Depends(csrf_protect)])
def logout(request: Request, yq: Yuqing) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with yq.store.session() as s:
            accounts.close_session(s, cookie)
        forget_credential(request, "session", cookie)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
