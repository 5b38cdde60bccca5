"""Shared fixtures: the repo's config, a scratch var dir, and the databases to run against."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
PG_ENV = "YUQING_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _english_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI speaks Chinese unless the locale says English (runtime/cli/i18n.py); the
    suite pins English so its assertions on messages hold, and tests/test_cli_i18n.py
    checks the default."""
    monkeypatch.setenv("LANGUAGE", "en")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled config that a test may edit."""
    dst = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, dst)
    return dst


@pytest.fixture
def var_env(tmp_path: Path) -> dict[str, str]:
    return {"YUQING_VAR_DIR": str(tmp_path / "var")}


def _pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"yuqing_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # CI sets the variable and must fail loudly when it is wrong
        pytest.fail(f"{PG_ENV}={base} is unreachable: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on SQLite, and on PostgreSQL when YUQING_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_database()
