"""`yuqing users ...` and the first admin of `yuqing init`, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from console.web import create_app
from runtime.app import App
from runtime.cli import cli
from yuqing.settings import load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"YUQING_VAR_DIR": str(tmp_path), "YUQING_CONFIG": str(CONFIG_DIR)}

    def go(*args: str, input: str | None = None, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), input=input, env={**env, **(extra or {})})

    go.env = env  # type: ignore[attr-defined]
    return go


def _client(env: dict[str, str]) -> tuple[App, TestClient]:
    app = App(load_config(CONFIG_DIR, env))
    return app, TestClient(create_app(app))


def test_users_add_list_passwd_disable(run) -> None:  # type: ignore[no-untyped-def]
    r = run("users", "add", "li", "--role", "responder", "--team", "hexi", "--password-stdin",
            input="first password\n")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = run("users", "add", "wang", "--role", "analyst", "--generate")
    assert r.exit_code == 0 and "password: " in r.output
    r = run("users", "list", "--json")
    users = {u["username"]: u for u in json.loads(r.output)["users"]}
    assert users["li"]["role"] == "responder" and users["li"]["team"] == "hexi"
    assert "password" not in json.dumps(users) and "argon2" not in r.output

    app, c = _client(run.env)
    try:
        ok = c.post("/login", data={"username": "li", "password": "first password"})
        assert ok.status_code == 200 and "yuqing_session" in c.cookies
        assert (
            run("users", "passwd", "li", "--password-stdin", input="second password\n").exit_code
            == 0
        )
        assert c.get("/api/v1/me").status_code == 401  # the new password ended the session
        c2 = TestClient(c.app)
        assert (
            c2.post("/login", data={"username": "li", "password": "first password"}).status_code
            == 401
        )
        assert (
            c2.post("/login", data={"username": "li", "password": "second password"}).status_code
            == 200
        )

        tok = run("users", "token", "li", "--name", "e2e").output.strip()
        assert tok.startswith("yq_")
        bearer = {"Authorization": f"Bearer {tok}"}
        assert TestClient(c.app).get("/api/v1/me", headers=bearer).json()["username"] == "li"
        assert run("users", "disable", "li").exit_code == 0
        assert TestClient(c.app).get("/api/v1/me", headers=bearer).status_code == 401
        assert "(disabled)" in run("users", "list").output
    finally:
        app.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "responder"], "needs a team"),
        (["--role", "responder", "--team", "nowhere"], "unknown team"),
        (["--role", "wizard"], "wizard"),
    ],
)
def test_users_add_bad_input_exits_2(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    r = run("users", "add", "zhao", *args, "--password-stdin", input="long enough pw\n")
    assert r.exit_code == 2 and message in r.output


def test_duplicate_user_and_short_password(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "add", "a", "--role", "analyst", "--generate").exit_code == 0
    r = run("users", "add", "a", "--role", "analyst", "--generate")
    assert r.exit_code == 2 and "exists" in r.output
    r = run("users", "add", "b", "--role", "analyst", "--password-stdin", input="short\n")
    assert r.exit_code == 2 and "too short" in r.output
    assert run("users", "passwd", "ghost", "--generate").exit_code == 2


def test_first_admin_from_env_and_config(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from console import accounts

    env = {**run.env, "YUQING_ADMIN_PASSWORD": "admin password 1"}
    config = load_config(CONFIG_DIR, env)
    assert config.settings.console.admin_password == "admin password 1"
    app = App(config)
    try:
        with app.store.session() as s:
            assert accounts.ensure_first_admin(s, config, app.now()) == ("admin", None)
        with app.store.session() as s:
            assert accounts.ensure_first_admin(s, config, app.now()) is None  # once only
        c = TestClient(create_app(app))
        r = c.post("/login", data={"username": "admin", "password": "admin password 1"})
        assert r.status_code == 200 and "yuqing_session" in c.cookies
    finally:
        app.close()


def test_first_admin_generated_password_is_returned_once(run) -> None:  # type: ignore[no-untyped-def]
    from console import accounts

    config = load_config(CONFIG_DIR, run.env)
    app = App(config)
    try:
        with app.store.session() as s:
            user, password = accounts.ensure_first_admin(s, config, app.now())  # type: ignore[misc]
        assert user == "admin" and password and len(password) >= 12
        with app.store.session() as s:
            assert accounts.authenticate(s, config, "admin", password, "cli", app.now())
    finally:
        app.close()


def test_init_keeps_the_first_admin_password_in_a_private_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Not on the terminal, where the log scrolls it away: var/secrets/admin-password,
    readable by its owner only; the output says where and how to change it."""
    import stat

    r = run("init")
    assert r.exit_code == 0, r.output
    secret = tmp_path / "secrets" / "admin-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    user, password = secret.read_text("utf-8").split()
    assert user == "admin" and password not in r.output
    assert str(secret) in r.output and "yuqing users passwd admin" in r.output
    app, c = _client(run.env)
    try:
        ok = c.post("/login", data={"username": "admin", "password": password},
                    follow_redirects=False)  # fmt: skip
        assert ok.status_code == 303
    finally:
        app.close()
    assert "admin-password" not in run("init").output  # once only
