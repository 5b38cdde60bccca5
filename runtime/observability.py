"""Structured logs, readiness checks and Prometheus metrics for every process.

Metrics are computed from the store when scraped: the store is the one truth
shared by every serve worker, the scheduler and its standby, so any worker
answers the same figures and nothing needs Prometheus' multiprocess files.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from prometheus_client.registry import Collector

    from index.base import SearchBackend
    from store.db import Store
    from yuqing.settings import AppConfig


class Observed(Protocol):
    """What the checks and the metrics read (``runtime.app.App``)."""

    config: AppConfig

    @property
    def store(self) -> Store: ...

    @property
    def index(self) -> SearchBackend: ...

    def now(self) -> datetime: ...

    def loaded_model(self) -> Any:
        """The classifier this process holds in memory, or None."""
        ...


# ------------------------------------------------------------------------ logs

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "yuqing_log_context", default=None
)
# Attributes every LogRecord has; anything else was passed with extra= and is context.
_STANDARD = frozenset(
    set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
    | {"message", "asctime", "taskName", "color_message"}
)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Fields (job, source, alert_id, ...) added to every JSON log line logged inside."""
    merged = {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then context."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception as exc:  # a log call whose arguments do not fit its format
            # logging would print "--- Logging error ---" and a traceback as plain text.
            message = f"{record.msg!s} (arguments {record.args!r} did not fit: {exc})"
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        out.update(_context.get() or {})
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    """The root handler on stderr, in plain text (default) or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become records too: one format per line
    _route_uncaught_exceptions()
    # Alembic narrates every start-up migration check at INFO: keep its warnings only.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # uvicorn's own loggers propagate to ours, so its lines share the format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True


def _route_uncaught_exceptions() -> None:
    """Python prints a dying thread's traceback, an exception ignored in a finaliser and
    an uncaught one straight to stderr as plain text; a collector reading JSON lines
    would choke on them. Send them through the root logger instead, in its format."""
    import threading

    crash = logging.getLogger("yuqing.uncaught")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        crash.error(
            "uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
        )

    def unraisable_hook(u: Any) -> None:
        what = u.err_msg or "Exception ignored in"
        crash.warning("%s: %r", what, u.object, exc_info=(u.exc_type, u.exc_value, u.exc_traceback))

    def main_hook(exc_type: Any, exc: Any, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        crash.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    # Only over Python's own defaults: a test runner's hooks stay in charge of its process.
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = thread_hook
    if sys.unraisablehook is sys.__unraisablehook__:
        sys.unraisablehook = unraisable_hook
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = main_hook


# ------------------------------------------------------------------- readiness


def _store_check(app: Observed) -> str:
    from sqlalchemy import text

    with app.store.engine.connect() as c:
        c.execute(text("SELECT 1"))
    return "reachable"


def _migrations_check(app: Observed) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from store.db import MIGRATIONS

    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    with app.store.engine.connect() as c:
        current = set(MigrationContext.configure(c).get_current_heads())
    if current != heads:
        missing = ", ".join(sorted(heads - current)) or "-"
        raise RuntimeError(
            f"database at {sorted(current)}, code expects {sorted(heads)}: {missing}"
        )
    return "at head"


def _index_check(app: Observed) -> str:
    if not app.index.ping():
        raise RuntimeError(f"{app.config.settings.index.backend} index does not answer")
    return app.config.settings.index.backend


def _model_version(app: Observed) -> str:
    from classifier.bootstrap import active_version

    loaded = app.loaded_model()  # a process that classifies has it in memory
    if loaded is not None:
        return str(loaded.version)
    name = active_version(app.config.model_dir)
    if name is None or not (app.config.model_dir / name).is_dir():
        raise RuntimeError(f"no active model in {app.config.model_dir}")
    return name


def _model_check(app: Observed) -> str:
    from classifier.provenance import SYNTHETIC_EN, is_synthetic

    name = _model_version(app)
    # a demo model answers ready, and says what it is
    return f"{name} ({SYNTHETIC_EN})" if is_synthetic(app.config.model_dir / name) else name


CHECKS = {
    "store": _store_check,
    "migrations": _migrations_check,
    "index": _index_check,
    "model": _model_check,
}


def readiness(app: Observed) -> tuple[bool, dict[str, Any]]:
    """Every dependency checked; the body names each check and why one fails."""
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = {"ok": True, "detail": check(app)}
        except Exception as exc:  # a readiness probe reports, it never raises
            reason = " ".join(str(exc).split())[:500] or type(exc).__name__
            checks[name] = {"ok": False, "detail": f"{type(exc).__name__}: {reason}"}
    failing = [n for n, c in checks.items() if not c["ok"]]
    body = {"status": "ready" if not failing else "not ready", "failing": failing, "checks": checks}
    return not failing, body


# --------------------------------------------------------------------- metrics


class StoreCollector:
    """Figures read from the store at each scrape (same answer from every process)."""

    def __init__(self, app: Observed) -> None:
        self.app = app

    def describe(self) -> list[Any]:
        return []  # computed on scrape; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        up = GaugeMetricFamily("yuqing_store_up", "1 when the store answered this scrape")
        try:
            figures = self._read()
        except Exception as exc:  # an unreachable store is a figure, not a 500
            logging.getLogger("yuqing.metrics").warning("metrics: store unreachable: %s", exc)
            up.add_metric([], 0)
            yield up
            yield from self._model()
            return
        up.add_metric([], 1)
        yield up

        c = CounterMetricFamily(
            "yuqing_posts_stored", "Posts in the store (rate() of it is the ingest rate)"
        )
        c.add_metric([], figures["posts"])
        yield c
        yield GaugeMetricFamily(
            "yuqing_posts_fetched_last_hour",
            "Posts first stored in the last hour",
            value=figures["posts_last_hour"],
        )
        yield GaugeMetricFamily(
            "yuqing_index_outbox_backlog",
            "Posts waiting to reach the index",
            value=figures["index_backlog"],
        )
        yield GaugeMetricFamily(
            "yuqing_index_outbox_oldest_seconds",
            "Age of the oldest post waiting for the index",
            value=figures["index_oldest"],
        )
        g = GaugeMetricFamily(
            "yuqing_notification_outbox", "Notification outbox rows by status", labels=["status"]
        )
        for status, n in sorted(figures["notifications"].items()):
            g.add_metric([status], n)
        yield g
        yield GaugeMetricFamily(
            "yuqing_notification_outbox_due",
            "Pending notifications already due (the backlog)",
            value=figures["notifications_due"],
        )
        yield GaugeMetricFamily(
            "yuqing_notification_outbox_oldest_due_seconds",
            "How long the longest-waiting due notification has been due",
            value=figures["notifications_oldest"],
        )
        yield CounterMetricFamily(
            "yuqing_notification_failed_attempts",
            "Failed delivery attempts over all notifications",
            value=figures["failed_attempts"],
        )
        g = GaugeMetricFamily(
            "yuqing_alerts", "Alerts by status and tier", labels=["status", "tier"]
        )
        for (status, tier), n in sorted(figures["alerts"].items()):
            g.add_metric([status, tier], n)
        yield g
        g = GaugeMetricFamily(
            "yuqing_dead_letters",
            "Dead letters (bad input kept for inspection)",
            labels=["stage", "resolved"],
        )
        for (stage, resolved), n in sorted(figures["dead_letters"].items()):
            g.add_metric([stage, resolved], n)
        yield g
        g = GaugeMetricFamily(
            "yuqing_scheduler_lease_seconds",
            "Seconds left on the scheduler lease (negative: expired), by holder",
            labels=["holder"],
        )
        for holder, left in figures["leases"]:
            g.add_metric([holder], left)
        yield g
        yield from self._model()

    def _model(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        g = GaugeMetricFamily(
            "yuqing_model_info", "The classifier version in use", labels=["version"]
        )
        with contextlib.suppress(Exception):  # no model yet: empty; /readyz says why
            g.add_metric([_model_version(self.app)], 1)
        yield g

    def _read(self) -> dict[str, Any]:
        from sqlalchemy import func, select

        from store.alerting_models import NotificationOutbox, SchedulerLock
        from store.models import Alert, DeadLetterRow, IndexOutbox, Post
        from yuqing.contracts import tier_name

        now = self.app.now()
        with self.app.store.session() as s:
            posts = s.scalar(select(func.count()).select_from(Post)) or 0
            recent = (
                s.scalar(
                    select(func.count())
                    .select_from(Post)
                    .where(Post.fetched_at >= now - timedelta(hours=1))
                )
                or 0
            )
            index_backlog = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
            index_oldest = s.scalar(select(func.min(IndexOutbox.enqueued_at)))
            notifications = dict(
                s.execute(
                    select(NotificationOutbox.status, func.count()).group_by(
                        NotificationOutbox.status
                    )
                ).all()
            )
            for status in ("pending", "sent", "failed"):
                notifications.setdefault(status, 0)
            due = (
                s.scalar(
                    select(func.count())
                    .select_from(NotificationOutbox)
                    .where(
                        NotificationOutbox.status == "pending",
                        NotificationOutbox.next_attempt_at <= now,
                    )
                )
                or 0
            )
            oldest_due = s.scalar(
                select(func.min(NotificationOutbox.next_attempt_at)).where(
                    NotificationOutbox.status == "pending",
                    NotificationOutbox.next_attempt_at <= now,
                )
            )
            attempts = s.scalar(select(func.coalesce(func.sum(NotificationOutbox.attempts), 0)))
            failed_attempts = int(attempts or 0) - int(notifications.get("sent", 0))
            alerts = {
                (str(status), tier_name(int(tier))): n
                for status, tier, n in s.execute(
                    select(Alert.status, Alert.tier, func.count()).group_by(
                        Alert.status, Alert.tier
                    )
                ).all()
            }
            dead = {
                (str(stage), "true" if resolved else "false"): n
                for stage, resolved, n in s.execute(
                    select(DeadLetterRow.stage, DeadLetterRow.resolved, func.count()).group_by(
                        DeadLetterRow.stage, DeadLetterRow.resolved
                    )
                ).all()
            }
            leases = [
                (row.holder, (row.expires_at - now).total_seconds())
                for row in s.scalars(select(SchedulerLock))
            ]
        return {
            "posts": posts,
            "posts_last_hour": recent,
            "index_backlog": index_backlog,
            "index_oldest": _age(now, index_oldest),
            "notifications_oldest": _age(now, oldest_due),
            "notifications": notifications,
            "notifications_due": due,
            "failed_attempts": max(failed_attempts, 0),
            "alerts": alerts,
            "dead_letters": dead,
            "leases": leases,
        }


def _age(now: datetime, since: datetime | None) -> float:
    """Seconds since ``since`` (0 when nothing waits)."""
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite hands back naive UTC
        since = since.replace(tzinfo=UTC)
    return max((now - since).total_seconds(), 0.0)


def metrics_registry(app: Observed) -> Any:
    """A registry holding only the store figures (no per-process collectors, whose
    values would differ by whichever worker answered the scrape)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    collector: Collector = StoreCollector(app)  # type: ignore[assignment]
    registry.register(collector)
    return registry


def render_metrics(registry: Any) -> bytes:
    from prometheus_client import generate_latest

    return bytes(generate_latest(registry))
