"""The scheduler's job store (the database) fails in the middle of a wake-up.

APScheduler 3 catches an error of the first job-store read of a wake-up only; one
from ``get_next_run_time`` (or ``update_job``) ended its thread, and `yuqing run` then
ran no job again while looking alive: what hung the PostgreSQL outage test when the
outage began inside a wake-up. The service's scheduler retries the wake-up instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from faults_kit import wait_until
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from runtime.service import outage_proof_scheduler


def test_scheduler_survives_its_job_store_failing_mid_wake_up(tmp_path: Path) -> None:
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    store = SQLAlchemyJobStore(engine=engine)
    real = store.get_next_run_time
    failures = {"left": 3}

    def refused() -> Any:  # the database stops answering between two reads
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT next_run_time", {}, ConnectionRefusedError())
        return real()

    store.get_next_run_time = refused  # type: ignore[method-assign]
    ran: list[str] = []
    sched = outage_proof_scheduler()(jobstores={"default": store}, jobstore_retry_interval=0.2)
    sched.add_listener(lambda event: ran.append(event.job_id), EVENT_JOB_EXECUTED)
    sched.start()
    try:
        sched.add_job(time.sleep, "interval", args=[0], seconds=0.2, id="tick")
        wait_until(
            "jobs running again after the job store failed",
            lambda: failures["left"] == 0 and len(ran) >= 3,
            60,
        )
        assert sched._thread.is_alive()
    finally:
        sched.shutdown(wait=False)
        engine.dispose()
