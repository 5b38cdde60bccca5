"""Has the store changed since? A cheap answer per request, for the console's caches.

:class:`StoreVersion` returns a token that differs whenever anything was committed
to the database since the last token, by any connection of any process (the
scheduler, a CLI command, another ``serve`` worker). Caches keep what they computed
with the token read *before* computing it, and reuse it only while the token is the
same, so a new or changed alert shows at once. The token is coarse (any commit,
not only alerts), which costs hits, never correctness.

- SQLite: ``PRAGMA data_version`` on a connection of our own that never writes
  (the value changes when another connection commits).
- PostgreSQL: the text of ``pg_current_snapshot()``. It changes whenever a
  transaction that holds a transaction id ends (commit or abort), and only then, so
  an equal snapshot means the data any query can see is the same.
- Anything else (``:memory:``, other engines): None, meaning "do not cache".
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger("yuqing.console")
V = TypeVar("V")


class StoreVersion:
    """``current()``: a token that changes when a database's data does, or None."""

    def __init__(self, url: str, opened: Callable[[], Engine | Any]) -> None:
        """``url``: the database's URL; ``opened``: opens it when first needed (the store
        may be away when the console starts) and returns its Engine (PostgreSQL). The
        embedded search index is a SQLite file too: its URL and its opener do."""
        self._opened = opened
        self._lock = threading.Lock()
        self._conn: Any = None
        self._asked_at: int = -1  # when the last ask began
        self._answer: str | None = None  # and its answer
        self.kind: str | None = None
        try:
            url_ = make_url(url)
        except ArgumentError:
            return
        if url_.get_backend_name() == "sqlite" and url_.database not in (None, "", ":memory:"):
            self._path = url_.database
            self.kind = "sqlite"
        elif url_.get_backend_name() == "postgresql":
            self.kind = "postgresql"

    def _connect(self) -> Any:
        engine = self._opened()  # opens (and migrates) the database first
        if self.kind == "sqlite":
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA query_only=ON")  # this connection must never write
            return conn
        raw = engine.raw_connection()
        driver: Any = raw.driver_connection
        raw.detach()  # ours for good: the pool would ping and reset it on every checkout
        driver.rollback()  # the pool's ping may have opened a transaction
        driver.autocommit = True  # each ask is its own transaction, so a fresh snapshot
        return driver

    def _ask(self) -> str:
        if self.kind == "sqlite":
            return str(self._conn.execute("PRAGMA data_version").fetchone()[0])
        return str(self._conn.execute("SELECT pg_current_snapshot()::text").fetchone()[0])

    def current(self) -> str | None:
        """The token now; None when it cannot be known (then nothing is reused)."""
        if self.kind is None:
            return None
        arrived = time.monotonic_ns()
        with self._lock:
            # Callers that queued behind an answer asked after they arrived share it: it
            # was read after their arrival, so it holds every commit made before it.
            if self._asked_at >= arrived:
                return self._answer
            self._asked_at, self._answer = time.monotonic_ns(), None
            try:
                if self._conn is None:
                    self._conn = self._connect()
                self._answer = self._ask()
            except Exception as exc:  # a lost connection: answer "unknown", reconnect next time
                log.debug("store version unavailable: %s", exc)
                self._drop()
            return self._answer

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


class VersionedCache(Generic[V]):
    """A small LRU of values, each valid only under the store version it was made at."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, tuple[str, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: str | None) -> V | None:
        if version is None:
            return None
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != version:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, version: str | None, value: V) -> None:
        if version is None:
            return
        with self._lock:
            self._items[key] = (version, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
