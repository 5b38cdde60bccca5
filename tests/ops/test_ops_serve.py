"""`yuqing serve --workers 2`: two real worker processes behind one port share
logins, sessions and CSRF tokens through the store; the ops endpoints answer."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from ops_kit import Proc, free_port, install_models, make_env, trained_models, wait_for, yq
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow
__all__ = ["trained_models"]  # the fixture, used by name

PASSWORD = "serve-test-password-1"


def _fresh(base: str) -> httpx.Client:
    # A new connection per request: the kernel hands each to whichever worker accepts.
    return httpx.Client(base_url=base, timeout=20, headers={"Connection": "close"})


def _spread(base: str, cookies: dict[str, str], want: int, tries: int = 400) -> dict[str, int]:
    """GET /api/v1/me until ``want`` distinct workers answered; pid -> status."""
    seen: dict[str, int] = {}
    for _ in range(tries):
        with _fresh(base) as c:
            r = c.get("/api/v1/me", cookies=cookies)
        pid = r.headers["x-yuqing-worker"]
        if pid in seen:
            assert seen[pid] == r.status_code, (pid, r.status_code, r.text)
        seen[pid] = r.status_code
        if r.status_code == 200:
            assert r.json()["username"] == "ops", r.text
        if len(seen) >= want:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered {tries} requests")


@pytest.mark.timeout(300)
def test_login_holds_across_workers(tmp_path: Path, db_url: str, trained_models: Path) -> None:
    env = make_env(tmp_path, db_url)
    install_models(trained_models, tmp_path / "var")
    added = yq(
        env, "users", "add", "ops", "--role", "supervisor", "--password-stdin", stdin=PASSWORD
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = Proc(env, ["serve", "--workers", "2", "--port", str(port)], tmp_path / "serve.log")
    try:

        def up() -> bool:
            serve.alive()
            try:
                with _fresh(base) as c:
                    return c.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 120, "the console to answer")
        with _fresh(base) as c:
            r = c.post("/login", data={"username": "ops", "password": PASSWORD})
            assert r.status_code == 303, r.text
            login_worker = r.headers["x-yuqing-worker"]
            cookies = {"yuqing_session": r.cookies["yuqing_session"]}

        seen = _spread(base, cookies, want=2)
        assert set(seen.values()) == {200}, seen
        assert set(seen) - {login_worker}  # a worker that did not log us in knew the session

        # A worker killed outright is replaced (uvicorn's supervisor), and the
        # replacement, which never saw the login, knows the session too.
        victim = sorted(seen)[0]
        os.kill(int(victim), signal.SIGKILL)

        def replacement() -> int | None:
            try:
                with _fresh(base) as c:
                    r = c.get("/api/v1/me", cookies=cookies)
            except httpx.TransportError:
                return None
            assert r.headers["x-yuqing-worker"] != victim
            return r.status_code if r.headers["x-yuqing-worker"] not in seen else None

        assert wait_for(replacement, 120, "a replacement worker", every=0.2) == 200

        # CSRF: the session's token is checked by whichever worker gets the POST.
        with _fresh(base) as c:
            me = c.get("/api/v1/me", cookies=cookies).json()
            refused = c.post("/logout", cookies=cookies)
        assert refused.status_code == 403
        with _fresh(base) as c:
            out = c.post("/logout", cookies=cookies, headers={"x-csrf-token": me["csrf_token"]})
        assert out.status_code == 303
        after = _spread(base, cookies, want=2)
        assert set(after.values()) == {401}, after  # logged out on every worker

        # The ops endpoints, from loopback, on any worker.
        with _fresh(base) as c:
            ready = c.get("/readyz")
            metrics = c.get("/metrics")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        assert metrics.status_code == 200
        names = {f.name for f in text_string_to_metric_families(metrics.text)}
        assert {"yuqing_store_up", "yuqing_posts_stored", "yuqing_model_info"} <= names
    finally:
        code = serve.stop()
    assert code == 0, serve.text()[-3000:]
    assert "stopped" in serve.text()
