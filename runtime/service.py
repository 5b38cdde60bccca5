"""`yuqing run`: the scheduler, the stages and the console in one process.

APScheduler 3.x with its SQLAlchemy job store in the store's own database
(table ``scheduler_jobs``): crawls per source on their intervals, the pipeline
tick (index + rule evaluation), the deadline/escalation check, notification
delivery and the tier IV digest. Every job has a stable id, coalesces missed
runs and never overlaps itself (max_instances=1). Only the process holding the
store lock (alerts/lock.py) runs the scheduler; another waits as a standby and
takes over when the lease expires. A job that raises is logged, never fatal.

Two processes may overlap for a moment (the old holder paused or cut off from
the store while the standby takes over). Every job first checks that this
process holds the lease with ``margin`` to spare, and so does every single
notification send, right before it goes out; the margin (a third of the lease)
is longer than a send may take (the channel timeout), so the old holder has
finished writing ``sent`` before the new one can read the row as pending. The
writes jobs make are idempotent besides (unique keys on posts, alerts, outbox
rows, escalation steps): a late write of the old holder fails, it never doubles.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis import schemes
from runtime.app import App
from runtime.jobs import crawl_in_child, drain_index, evaluate_alerts, stop_children
from runtime.observability import log_context

log = logging.getLogger("yuqing.service")

LOCK_NAME = "scheduler"
JOBS_TABLE = "scheduler_jobs"

# The running service: persistent jobs refer to run_job by name, so they find it here.
_current: Service | None = None


class LeaseLost(BaseException):  # noqa: N818 - a signal, not an error
    """This process no longer holds the scheduler lease with margin to spare.

    A BaseException on purpose: notification delivery counts every Exception from
    a channel as a failed attempt and goes on; losing the lease must instead stop
    the delivery at once and record nothing, leaving the rows to the new holder."""


class _FencedChannel:
    """A channel that checks the lease right before each send."""

    def __init__(self, inner: Any, fence: Any) -> None:
        self.inner = inner
        self.fence = fence

    def send(self, message: Any) -> Any:
        self.fence()
        return self.inner.send(message)


def _refused_after_shutdown(record: logging.LogRecord) -> bool:
    """False for APScheduler's submission refused by an executor already shut down."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (isinstance(exc, RuntimeError) and "after shutdown" in str(exc))


def run_job(name: str, *args: Any) -> None:
    """Entry point of every scheduled job (picklable by reference)."""
    svc = _current
    if svc is None:
        log.warning("job %s fired with no service running", name)
        return
    svc.run(name, *args)


def outage_proof_scheduler() -> type[Any]:
    """APScheduler's BackgroundScheduler, its wake-ups surviving a database outage."""
    from apscheduler.schedulers.background import BackgroundScheduler

    class OutageProofScheduler(BackgroundScheduler):  # type: ignore[misc]
        """APScheduler 3 guards only the first job-store read of a wake-up: when the
        database goes away between it and the next (update_job, get_next_run_time),
        the exception ends the scheduler's thread and no job ever runs again
        (agronholm/apscheduler#109, #1083). Here the wake-up is retried instead; a
        tick run twice is harmless (every job is idempotent)."""

        def _process_jobs(self) -> float | None:
            try:
                return super()._process_jobs()  # type: ignore[no-any-return]
            except Exception as exc:
                log.warning(
                    "scheduler: job store unreachable (%s); retrying in %.0f s",
                    " ".join(str(exc).split())[:200],
                    self.jobstore_retry_interval,
                )
                return float(self.jobstore_retry_interval)

    return OutageProofScheduler


class Service:
    def __init__(self, app: App, holder: str | None = None) -> None:
        from alerts.lock import StoreLock, new_holder

        self.app = app
        self._tick_lock = threading.Lock()
        self._outbox_lock = threading.Lock()  # one delivery at a time: no double sends
        self.scheduler: Any = None
        self.lock = StoreLock(
            app.store, LOCK_NAME, holder or new_holder(), app.config.alerts.jobs.lock_ttl
        )
        self._stop = threading.Event()
        self._lease_thread: threading.Thread | None = None
        self.errors = 0
        slowest = max((c.timeout for c in app.config.alerts.channels.values()), default=None)
        if slowest is not None and slowest >= self.margin:
            log.warning(
                "alerts.yaml jobs.lock_ttl %ss is short: a send may take %ss (channel timeout) "
                "but must end within a third of the lease; use lock_ttl >= %ss",
                self.lock.ttl.total_seconds(),
                slowest.total_seconds(),
                3 * slowest.total_seconds() + 3,
            )

    # ---------------------------------------------------------------- jobs
    def sources(self) -> list[str]:
        """Enabled sources; demo sources only when the demo site runs."""
        return [
            s.name
            for s in self.app.config.sources.sources
            if s.enabled and s.kind != "file" and (not s.demo or self.app.demo_url)
        ]

    @property
    def margin(self) -> timedelta:
        """Lease time that must be left for this process to start a job or a send."""
        return self.lock.ttl / 3

    def fence(self) -> None:
        """Raise LeaseLost unless this process holds the lease with margin to spare."""
        from store.alerting_models import SchedulerLock

        now = self.app.now()
        with self.app.store.session() as s:
            row = s.get(SchedulerLock, self.lock.name)
            left = (
                row.expires_at - now if row is not None and row.holder == self.lock.holder else None
            )
        if left is None or left < self.margin:
            raise LeaseLost(f"lease {'lost' if left is None else 'about to expire'}")

    def run(self, name: str, *args: Any) -> None:
        """Run one job by name if this process holds the lock; never raise."""
        with log_context(job=name, source=args[0] if name == "crawl" and args else None):
            try:
                self.fence()
                getattr(self, f"job_{name}")(*args)
            except LeaseLost as lost:
                log.info("job %s stopped: %s; the new holder does it", name, lost)
            except Exception:  # a crashing job must never stop the scheduler
                self.errors += 1
                log.exception("job %s failed", name)

    def job_crawl(self, source: str) -> None:
        outcome = crawl_in_child(self.app, source)
        log.info("crawled %s: %s", source, outcome.stats if outcome.ok else outcome.error)
        self.fence()  # a crawl takes minutes: the lease may have passed on meanwhile
        self.tick()

    def job_tick(self) -> None:
        self.tick()

    def job_deadlines(self) -> None:
        from alerts.escalation import check_deadlines

        with self.app.store.session() as s:
            stats = check_deadlines(s, self.app.config, self.app.now())
        if stats.escalated:
            log.warning("alerts: %d escalation steps", stats.escalated)
        if stats.failed_open:
            log.warning(
                "alerts: %d undecided by the duty desk, routed (fail-open)", stats.failed_open
            )

    def job_outbox(self) -> None:
        from alerts.outbox import deliver_due

        if not self._outbox_lock.acquire(blocking=False):
            return  # a delivery is running; it loops until nothing is due
        try:
            stats = deliver_due(
                self.app.store, self.app.config, self.app.clock, channel_factory=self._channel
            )
        except LeaseLost as lost:
            log.info("notification delivery stopped: %s; the new holder sends", lost)
            return
        finally:
            self._outbox_lock.release()
        if stats.sent or stats.failed:
            log.info("notifications: %d sent, %d failed attempts", stats.sent, stats.failed)

    def _channel(self, name: str) -> Any:
        from alerts.channels import DeliveryError, build_channel

        opts = self.app.config.alerts.channels.get(name)
        if opts is None:
            raise DeliveryError(f"channel {name!r} is no longer configured")
        return _FencedChannel(build_channel(name, opts, self.app.clock), self.fence)

    def job_digest(self) -> None:
        from alerts.outbox import enqueue_digests

        with self.app.store.session() as s:
            enqueue_digests(s, self.app.config, self.app.now())

    def job_reports(self) -> None:
        """Yesterday's daily brief, and on Mondays last week's: HTML and PDF in
        <var>/briefs, sent through the brief channels; each once (a missed day is
        done when the job next runs)."""
        from zoneinfo import ZoneInfo

        from reports import briefs as reports

        cfg = self.app.config
        today = self.app.now().astimezone(ZoneInfo(cfg.settings.timezone)).date()
        day = today - timedelta(days=1)  # the last whole local day
        wanted = [("daily", day)] + ([("weekly", day)] if today.isoweekday() == 1 else [])
        for kind, last in wanted:
            if (cfg.var_dir / "briefs" / f"{kind}-{last.isoformat()}.pdf").exists():
                continue
            out = reports.scheduled_brief(self.app, kind, day=last)
            log.info("brief %s %s written, sent to %s", kind, last, out["delivered"] or "nobody")

    def crawl(self, source: str) -> None:
        try:
            self.job_crawl(source)
        except Exception:  # a crawl must never stop the scheduler
            log.exception("crawl of %s crashed", source)

    def tick(self) -> None:
        """Index what is queued and evaluate alert rules on new posts."""
        if not self._tick_lock.acquire(blocking=False):
            return  # another tick is running; it will see the new rows
        try:
            run = drain_index(self.app)
            if run.indexed or run.failed:
                log.info("indexed %d posts (%d failed)", run.indexed, run.failed)
            stats = evaluate_alerts(self.app)
            watched = self.app.store.write(
                lambda s: schemes.run(s, self.app.config, self.app.now()), what="monitoring schemes"
            )
            if watched.hits:
                log.info(
                    "schemes: %d new matches, %d messages queued", watched.hits, watched.messages
                )
            if stats and (stats.opened or stats.grown):
                log.info("alerts: %d opened, %d grown", stats.opened, stats.grown)
                if self.scheduler is not None:
                    self.job_outbox()  # tier I-II go out now, not at the next outbox run
        except Exception:
            log.exception("pipeline tick failed")
        finally:
            self._tick_lock.release()

    # ------------------------------------------------------------ scheduler
    def job_specs(self) -> list[dict[str, Any]]:
        """Every job with its stable id and interval (seconds)."""
        cfg = self.app.config
        jobs = cfg.alerts.jobs
        specs: list[dict[str, Any]] = []
        for i, name in enumerate(self.sources()):
            src = cfg.source(name)
            secs = src.interval.total_seconds()
            specs.append(
                dict(
                    id=f"crawl:{name}",
                    args=["crawl", name],
                    seconds=secs,
                    first=1 + 2 * i,
                    jitter=min(30, int(secs // 10)),
                    cron=src.cron,
                )
            )
        tick = cfg.settings.scheduler.pipeline_interval.total_seconds()
        specs.append(dict(id="pipeline:tick", args=["tick"], seconds=tick, first=1))
        specs.append(
            dict(
                id="alerts:deadlines",
                args=["deadlines"],
                seconds=jobs.deadlines.total_seconds(),
                first=2,
            )
        )
        specs.append(
            dict(id="alerts:outbox", args=["outbox"], seconds=jobs.outbox.total_seconds(), first=2)
        )
        specs.append(
            dict(id="alerts:digest", args=["digest"], seconds=jobs.digest.total_seconds(), first=3)
        )
        if jobs.reports is not None:
            specs.append(
                dict(
                    id="reports:briefs",
                    args=["reports"],
                    seconds=jobs.reports.total_seconds(),
                    first=60,
                )
            )
        return specs

    def _start_scheduler(self) -> None:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        # One line per job run every few seconds drowns the log; keep warnings and errors.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        store = SQLAlchemyJobStore(engine=self.app.store.engine, tablename=JOBS_TABLE)
        sched = outage_proof_scheduler()(
            jobstores={"default": store},
            jobstore_retry_interval=2,
            timezone=self.app.config.settings.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        sched.start(paused=True)
        now = datetime.now(UTC)  # APScheduler runs on real time; jobs read the app's clock
        wanted = set()
        tz = self.app.config.settings.timezone
        for spec in self.job_specs():
            wanted.add(spec["id"])
            if spec.get("cron"):
                # A source on a crontab runs at its times only (e.g. office hours).
                from apscheduler.triggers.cron import CronTrigger

                sched.add_job(
                    run_job,
                    CronTrigger.from_crontab(spec["cron"], timezone=tz),
                    args=spec["args"],
                    id=spec["id"],
                    name=spec["id"],
                    jitter=spec.get("jitter"),
                    replace_existing=True,
                )
                continue
            sched.add_job(
                run_job,
                "interval",
                args=spec["args"],
                id=spec["id"],
                name=spec["id"],
                seconds=spec["seconds"],
                jitter=spec.get("jitter"),
                next_run_time=now + timedelta(seconds=spec["first"]),
                replace_existing=True,
            )
        for job in sched.get_jobs():
            if job.id not in wanted:  # a source removed from the config
                job.remove()
        global _current
        _current = self
        sched.resume()
        self.scheduler = sched
        log.info("scheduler running (%s): %s", self.lock.holder, ", ".join(sorted(wanted)))

    def _stop_scheduler(self, wait: bool = False) -> None:
        global _current
        if self.scheduler is not None:
            # APScheduler 3 runs one more submission pass as it shuts down (and one may
            # be under way), and logs each job due then as "Error submitting job ...
            # cannot schedule new futures after shutdown". Pause first so nothing new
            # starts, and drop exactly those records while shutting down.
            sched = self.scheduler
            sched.pause()
            aps_log = logging.getLogger("apscheduler.scheduler")
            aps_log.addFilter(_refused_after_shutdown)
            try:
                sched.shutdown(wait=wait)
            finally:
                aps_log.removeFilter(_refused_after_shutdown)
            self.scheduler = None
        if _current is self:
            _current = None

    def lease_once(self) -> bool:
        """Renew or take the lock and start or stop the scheduler to match."""
        held = self.lock.acquire(self.app.now())
        if held and self.scheduler is None:
            self._start_scheduler()
        elif not held and self.scheduler is not None:
            log.warning("scheduler lock lost to another process; standing by")
            self._stop_scheduler()
        return held

    def _lease_loop(self) -> None:
        # a third of the lease in the app's time: a scaled clock (soak runs) renews
        # as many times faster as its time runs
        rate = float(getattr(self.app.clock, "factor", 1.0))
        every = max(self.app.config.alerts.jobs.lock_ttl.total_seconds() / 3 / rate, 0.2)
        while not self._stop.wait(every):
            try:
                self.lease_once()
            except Exception:
                log.exception("scheduler lock renewal failed")

    def start(self) -> None:
        if not self.lease_once():
            log.info("another process runs the scheduler; this one stands by")
        self._lease_thread = threading.Thread(target=self._lease_loop, daemon=True)
        self._lease_thread.start()

    def stop(self) -> None:
        self._stop.set()
        stop_children()
        if self._lease_thread is not None:
            self._lease_thread.join(timeout=10)
        self._stop_scheduler(wait=True)
        try:
            self.lock.release()
        except Exception:
            log.exception("could not release the scheduler lock")
