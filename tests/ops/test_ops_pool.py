"""PostgreSQL connection pool settings reach the engine; SQLite is unchanged."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from ops_kit import CONFIG_DIR, edit_yaml, pg_url

__all__ = ["pg_url"]  # the fixture, used by name
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from runtime.app import App
from store.db import make_engine
from yuqing.settings import ConfigError, DatabasePoolSettings, load_config

POOL = {
    "pool_size": 2,
    "max_overflow": 0,
    "pool_timeout": "1s",
    "pool_recycle": "10m",
    "pool_pre_ping": False,
}


def _config(tmp_path: Path, db_url: str, **settings: object):  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg, dirs_exist_ok=True)
    edit_yaml(cfg / "settings.yaml", lambda d: d.update(settings))
    return load_config(cfg, {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "v")})


def test_defaults_are_sane() -> None:
    d = DatabasePoolSettings()
    assert (d.pool_size, d.max_overflow, d.pool_pre_ping) == (5, 10, True)
    assert d.pool_recycle.total_seconds() == 1800 and d.pool_timeout.total_seconds() == 30


def test_bad_pool_setting_names_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, "sqlite://", database_pool={"pool_size": 0})
    assert str(err.value.problems[0]).startswith("settings.yaml: database_pool.pool_size:")
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, "sqlite://", database_pool={"pool_recycle": "soon"})
    assert "database_pool.pool_recycle" in str(err.value)


def test_postgres_engine_takes_the_pool_settings() -> None:
    pool = DatabasePoolSettings.model_validate(POOL)
    engine = make_engine("postgresql://postgres@127.0.0.1:1/none", pool)  # not connected
    p = engine.pool
    assert (p.size(), p._max_overflow, p._timeout, p._recycle, p._pre_ping) == (
        2,
        0,
        1.0,
        600,
        False,
    )
    engine.dispose()


def test_sqlite_ignores_the_pool_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    plain = make_engine(url)
    tuned = make_engine(url, DatabasePoolSettings.model_validate(POOL))
    assert type(tuned.pool) is type(plain.pool)
    assert tuned.pool.size() == plain.pool.size() != 2
    with tuned.connect() as c:  # the SQLite pragmas are still applied
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    plain.dispose()
    tuned.dispose()


@pytest.mark.postgres
def test_pool_limit_holds_on_a_real_server(tmp_path: Path, pg_url: str) -> None:
    app = App(_config(tmp_path, pg_url, database_pool=POOL))
    try:
        engine = app.store.engine
        held = [engine.connect(), engine.connect()]  # the whole pool
        got: list[BaseException] = []

        def third() -> None:
            try:
                engine.connect().close()
            except BaseException as exc:  # noqa: BLE001 - the outcome is the test
                got.append(exc)

        t = threading.Thread(target=third)
        t.start()
        t.join(30)
        assert len(got) == 1 and isinstance(got[0], PoolTimeout), got
        for c in held:
            c.close()
        with engine.connect() as c:  # and a returned connection serves again
            assert c.execute(text("SELECT 1")).scalar() == 1
    finally:
        app.close()


def test_pool_and_ops_settings_are_documented_in_the_bundled_config() -> None:
    from yuqing.settings import OpsSettings

    text_ = (CONFIG_DIR / "settings.yaml").read_text(encoding="utf-8")
    for section, model in (("database_pool", DatabasePoolSettings), ("ops", OpsSettings)):
        assert f"# {section}:" in text_
        for name in model.model_fields:
            assert f"#   {name}:" in text_, f"settings.yaml does not document {section}.{name}"


@pytest.mark.postgres
def test_a_session_left_idle_in_a_transaction_is_ended(tmp_path: Path, pg_url: str) -> None:
    """A process frozen mid-transaction loses its session: its locks go, it cannot
    commit late."""
    from sqlalchemy.exc import DBAPIError

    app = App(_config(tmp_path, pg_url, database_pool={"idle_in_transaction_timeout": "1s"}))
    try:
        engine = app.store.engine
        with engine.connect() as c:
            assert c.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "1s"
        frozen = engine.connect()
        frozen.begin()
        frozen.execute(text("SELECT 1"))
        time.sleep(3)  # idle inside the transaction, well past the 1 s the server allows
        with pytest.raises(DBAPIError):
            frozen.execute(text("SELECT 1"))
        frozen.close()
        with engine.connect() as c:  # the pool hands out a live connection again
            assert c.execute(text("SELECT 1")).scalar() == 1
    finally:
        app.close()
