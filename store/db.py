"""Engine, sessions and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from yuqing.settings import DatabasePoolSettings

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger("yuqing.store")
T = TypeVar("T")
# How long a write waits for an unreachable database (a restart, a failover) before
# giving up: long enough for a PostgreSQL restart, short enough to surface an outage.
WRITE_PATIENCE_S = 300.0


def transient(exc: BaseException) -> bool:
    """A lost connection or a database that is not answering: worth retrying.
    (SQLite's "database is locked" is an OperationalError too; waiting helps there.)"""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says why."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the console read while the crawler writes; busy_timeout waits out short locks.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def pool_options(pool: DatabasePoolSettings | None) -> dict[str, Any]:
    """create_engine keywords for a server database's connection pool."""
    if pool is None:
        from yuqing.settings import DatabasePoolSettings

        pool = DatabasePoolSettings.model_validate({})
    opts: dict[str, Any] = {
        "pool_size": pool.pool_size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.pool_timeout.total_seconds(),
        "pool_recycle": int(pool.pool_recycle.total_seconds()),
        "pool_pre_ping": pool.pool_pre_ping,
    }
    if pool.idle_in_transaction_timeout is not None:
        ms = int(pool.idle_in_transaction_timeout.total_seconds() * 1000)
        opts["connect_args"] = {"options": f"-c idle_in_transaction_session_timeout={ms}"}
    return opts


def make_engine(url: str, pool: DatabasePoolSettings | None = None) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"数据库地址无效：{url!r} / database URL is not valid: {url!r}") from exc
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, **pool_options(pool))


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


_REASONS_ZH = [  # the driver's reason (English) as staff would say it
    ("connection refused", "连接被拒绝（数据库没有运行，或地址、端口不对）"),
    ("password authentication failed", "用户名或口令不对"),
    ("does not exist", "数据库或用户不存在"),
    ("timeout", "连接超时"),
    ("timed out", "连接超时"),
    ("could not translate host name", "找不到该主机名"),
]


def _reason_zh(reason: str) -> str:
    low = reason.lower()
    for needle, zh in _REASONS_ZH:
        if needle in low:
            return zh
    return "请检查数据库是否在运行、地址和口令是否正确"


class Store:
    """One database: opens the engine, migrates it, hands out sessions."""

    def __init__(
        self, url: str, *, migrate: bool = True, pool: DatabasePoolSettings | None = None
    ) -> None:
        self.url = url
        self.engine = make_engine(url, pool)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        from alembic import command

        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            reason = " ".join(str(exc.orig).split())  # drivers add hint lines; keep one
            raise StoreError(
                f"连不上数据库 {self.safe_url}：{_reason_zh(reason)} / "
                f"cannot reach the database {self.safe_url}: {reason}"
            ) from exc
        # Stages add their tables on their own migration branches; apply them all.
        command.upgrade(_alembic_config(self.engine), "heads")

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as s, s.begin():
            yield s

    def write(
        self, fn: Callable[[Session], T], *, what: str = "write", patience: float | None = None
    ) -> T:
        """Run ``fn(session)`` in a transaction; while the database is unreachable,
        retry with backoff (0.5 s doubling to 10 s) for up to ``patience`` seconds,
        logging once when the outage starts and once when it ends. ``fn`` must be
        safe to run again (the store's writes are idempotent upserts)."""
        patience = WRITE_PATIENCE_S if patience is None else patience
        started = time.monotonic()
        delay = 0.5
        failures = 0
        while True:
            try:
                with self.session() as s:
                    result = fn(s)
            except DBAPIError as exc:
                waited = time.monotonic() - started
                if not transient(exc) or waited + delay > patience:
                    raise
                failures += 1
                if failures == 1:
                    reason = " ".join(str(exc.orig).split())[:300]
                    log.warning(
                        "store %s unreachable during %s (%s); retrying for up to %.0fs",
                        self.safe_url,
                        what,
                        reason,
                        patience,
                    )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if failures:
                log.warning(
                    "store reachable again: %s done after %.1fs and %d retries",
                    what,
                    time.monotonic() - started,
                    failures,
                )
            return result

    def close(self) -> None:
        self.engine.dispose()
