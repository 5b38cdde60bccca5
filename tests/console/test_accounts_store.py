"""Account functions on SQLite and PostgreSQL (db_url): hashing, limits, sessions, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from console import accounts
from store.console_models import ApiToken, ConsoleSession, LoginAttempt
from store.db import Store
from store.models import User
from yuqing.settings import load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PW = "a long password"


@pytest.fixture
def env(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(CONFIG_DIR, {"YUQING_VAR_DIR": str(tmp_path)})
    store = Store(db_url)
    with store.session() as s:
        accounts.add_user(s, config, "li", PW, "responder", NOW, team_id="donghu")
    yield store, config
    store.close()


def test_password_is_argon2_and_verifies(env) -> None:  # type: ignore[no-untyped-def]
    store, config = env
    with store.session() as s:
        user = s.scalars(select(User)).one()
        assert user.password_hash.startswith("$argon2id$") and PW not in user.password_hash
        assert accounts.authenticate(s, config, "li", PW, "1.2.3.4", NOW) is not None
        assert accounts.authenticate(s, config, "li", "nope nope", "1.2.3.4", NOW) is None


def test_rate_limit_per_user_and_ip(env) -> None:  # type: ignore[no-untyped-def]
    store, config = env
    for i in range(5):
        with store.session() as s:
            assert (
                accounts.authenticate(s, config, "li", "bad", "1.2.3.4", NOW + timedelta(seconds=i))
                is None
            )
    with store.session() as s, pytest.raises(accounts.LoginRefused):
        accounts.authenticate(s, config, "li", PW, "1.2.3.4", NOW + timedelta(minutes=1))
    with store.session() as s:  # another address is not locked out
        assert accounts.authenticate(s, config, "li", PW, "5.6.7.8", NOW + timedelta(minutes=1))
    with store.session() as s:  # the window passes
        later = NOW + timedelta(minutes=20)
        assert accounts.authenticate(s, config, "li", PW, "1.2.3.4", later) is not None
        # old failures are pruned on success
        assert s.scalars(select(LoginAttempt).where(~LoginAttempt.ok)).all() == []


def test_sessions_and_tokens_store_only_hashes(env) -> None:  # type: ignore[no-untyped-def]
    store, config = env
    with store.session() as s:
        user = s.scalars(select(User)).one()
        cookie, csrf = accounts.open_session(s, config, user, NOW, "1.2.3.4")
        token = accounts.create_token(s, "li", NOW, name="robot")
    with store.session() as s:
        assert s.scalars(select(ConsoleSession.token_hash)).one() == accounts.hash_secret(cookie)
        assert s.scalars(select(ApiToken.token_hash)).one() == accounts.hash_secret(token)
        p = accounts.principal_from_session(s, config, cookie, NOW + timedelta(hours=1))
        assert p is not None and p.csrf_token == csrf and p.via == "session"
        assert p.scope.teams == frozenset({"donghu", "donghu-hubin", "donghu-xincun"})
        assert {"东湖街道", "湖滨社区", "东湖新村社区"} <= (p.scope.areas or frozenset())
        assert accounts.principal_from_session(s, config, cookie, NOW + timedelta(hours=13)) is None
        t = accounts.principal_from_token(s, config, token, NOW)
        assert t is not None and t.username == "li" and t.via == "token"
        assert accounts.principal_from_token(s, config, token + "x", NOW) is None
    with store.session() as s:
        accounts.set_password(s, "li", "another long one", NOW)
    with store.session() as s:
        assert accounts.principal_from_session(s, config, cookie, NOW) is None
        assert accounts.principal_from_token(s, config, token, NOW) is not None  # tokens stay
        accounts.set_disabled(s, "li", True, NOW)
    with store.session() as s:
        assert accounts.principal_from_token(s, config, token, NOW) is None
