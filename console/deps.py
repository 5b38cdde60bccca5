"""Request-scoped dependencies: the one place to swap in accounts and roles later."""

from __future__ import annotations

from fastapi import Request

from yuqing.app import App


def get_yuqing(request: Request) -> App:
    app: App = request.app.state.yuqing
    return app


def current_actor(request: Request) -> str:
    """Who is acting. Until logins exist every console user is "console";
    replace this one function (or override it in ``app.dependency_overrides``)."""
    return "console"
