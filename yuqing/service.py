"""`yuqing run`: the scheduler, the stages and the console in one process."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from yuqing.app import App
from yuqing.pipeline import crawl_in_child, drain_index, evaluate_alerts, stop_children

log = logging.getLogger("yuqing.service")


class Service:
    def __init__(self, app: App) -> None:
        self.app = app
        self._tick_lock = threading.Lock()
        self.scheduler: Any = None

    def sources(self) -> list[str]:
        """Enabled sources; demo sources only when the demo site runs."""
        return [
            s.name
            for s in self.app.config.sources.sources
            if s.enabled and s.kind != "file" and (not s.demo or self.app.demo_url)
        ]

    def crawl(self, source: str) -> None:
        try:
            outcome = crawl_in_child(self.app, source)
            log.info("crawled %s: %s", source, outcome.stats if outcome.ok else outcome.error)
        except Exception:  # a crawl must never stop the scheduler
            log.exception("crawl of %s crashed", source)
        self.tick()

    def tick(self) -> None:
        """Index what is queued and evaluate alert rules on new posts."""
        if not self._tick_lock.acquire(blocking=False):
            return  # another tick is running; it will see the new rows
        try:
            run = drain_index(self.app)
            if run.indexed or run.failed:
                log.info("indexed %d posts (%d failed)", run.indexed, run.failed)
            stats = evaluate_alerts(self.app)
            if stats and (stats.opened or stats.grown):
                log.info("alerts: %d opened, %d grown", stats.opened, stats.grown)
        except Exception:
            log.exception("pipeline tick failed")
        finally:
            self._tick_lock.release()

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(
            timezone=self.app.config.settings.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        now = self.app.now()
        for i, name in enumerate(self.sources()):
            src = self.app.config.source(name)
            sched.add_job(
                self.crawl,
                "interval",
                args=[name],
                id=f"crawl:{name}",
                seconds=src.interval.total_seconds(),
                next_run_time=now + timedelta(seconds=1 + 2 * i),
                jitter=min(30, int(src.interval.total_seconds() // 10)),
            )
        sched.add_job(
            self.tick,
            "interval",
            id="pipeline:tick",
            seconds=self.app.config.settings.scheduler.pipeline_interval.total_seconds(),
            next_run_time=now + timedelta(seconds=1),
        )
        sched.start()
        self.scheduler = sched

    def stop(self) -> None:
        stop_children()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
