"""PostgreSQL stops (``pg_ctl stop -m fast``) while posts are being stored, indexed
and alerted on, and starts again: every process survives, nothing is lost or doubled.

A private cluster (initdb on a free loopback port, as the ``postgres`` user when
we are root) so the machine's shared server is never stopped. Real processes:
`yuqing run` (ticks index the outbox and evaluate rules every second, the
outbox is delivered every second to aiosmtpd) and `yuqing import` of 400
records, which waits the outage out (Store.write retries with backoff, logging
when the outage starts and ends). The outage lasts YUQING_FAULT_PG_DOWN_S
seconds: 30 under ``make faults``, 10 in ``make test``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faults_kit import (
    YUQING,
    MailSink,
    PgCluster,
    count_posts,
    fault_seconds,
    free_port,
    hotline_rows,
    last_json,
    mail_alerts,
    seed_model,
    tally,
    wait_until,
    wait_while_progressing,
    write_config,
    write_jsonl,
    yuqing_env,
)
from sqlalchemy import func, select

from runtime.app import App
from store.alerting_models import NotificationOutbox
from store.models import Alert, IndexOutbox, Post
from yuqing.clock import ScaledClock
from yuqing.settings import load_config

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in Asia/Shanghai
N_ROWS = 400
# a notification superseded before it went out (an alert raised meanwhile) is cancelled
SETTLED = ("sent", "cancelled")


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    try:
        c = PgCluster()
        c.init()
        c.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run a private PostgreSQL cluster here: {exc}")
    yield c
    c.destroy()


def _unsent(app: App) -> list[tuple[object, ...]]:
    with app.store.session() as s:
        rows = s.scalars(
            select(NotificationOutbox).where(NotificationOutbox.status.not_in(SETTLED))
        ).all()
        return [
            (r.id, r.kind, r.tier, r.team_id, r.status, r.attempts, r.batchable,
             r.next_attempt_at.isoformat(), r.last_error)
            for r in rows
        ]  # fmt: skip


def _unsettled(app: App) -> tuple[int, int, int, int]:
    """(posts to index, to evaluate, notifications unsent, sent): all but the last 0
    when everything stored is indexed, evaluated and notified."""
    with app.store.session() as s:
        backlog = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
        fresh = (
            s.scalar(select(func.count()).select_from(Post).where(Post.evaluated.is_(False))) or 0
        )
        unsent, sent = (
            s.scalar(
                select(func.count())
                .select_from(NotificationOutbox)
                .where(NotificationOutbox.status.not_in(SETTLED))
            )
            or 0,
            s.scalar(
                select(func.count())
                .select_from(NotificationOutbox)
                .where(NotificationOutbox.status == "sent")
            )
            or 0,
        )
    return backlog, fresh, unsent, sent


@pytest.mark.slow
@pytest.mark.postgres
# A private cluster's initdb, 400 records imported across the outage (30 s under `make
# faults`), then every alert e-mailed: several minutes on a busy 2-core machine. Each
# wait below has its own deadline and names what it waited for.
@pytest.mark.timeout(900)
def test_postgres_stopped_mid_ingest(
    cluster: PgCluster, tmp_path: Path, trained_models: Path
) -> None:
    down_s = fault_seconds("YUQING_FAULT_PG_DOWN_S", 10)
    db_url = cluster.create_db("yuqing")
    smtp = MailSink().start()
    config = write_config(
        tmp_path / "config",
        settings={"scheduler": {"pipeline_interval": "1s"}},
        alerts=mail_alerts(smtp.url),
        team_channels={},
    )
    var = tmp_path / "var"
    seed_model(var, trained_models)
    env = yuqing_env(config, var, db_url, YUQING_CLOCK=ScaledClock(START, 1.0).spec())
    app = App(load_config(config, env))
    app.store  # noqa: B018 (migrated before the processes start)
    service_log = (tmp_path / "service.log").open("w+")
    service = subprocess.Popen(
        [YUQING, "run", "--port", str(free_port())],
        env={**env, "YUQING_ADMIN_PASSWORD": "fault-admin-password"},
        stdout=service_log,
        stderr=subprocess.STDOUT,
    )
    export = write_jsonl(tmp_path / "12345.jsonl", hotline_rows(N_ROWS))
    ingest = subprocess.Popen(
        [YUQING, "import", str(export), "--source", "hotline", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until("posts being stored", lambda: count_posts(db_url) > 30, 300, 0.1)
        cluster.stop("fast")
        time.sleep(down_s)
        cluster.start()
        out, err = ingest.communicate(timeout=600)
        assert ingest.returncode == 0, err[-3000:]
        result = last_json(out)
        assert (result["accepted"], result["new"], result["rejected"]) == (N_ROWS, N_ROWS, 0)
        assert re.search(r"unreachable during storing \d+ posts of hotline", err), err[-3000:]
        assert "store reachable again" in err
        # as long as the service keeps working through it (slowly on a busy machine)
        try:
            wait_while_progressing(
                "the service to index, evaluate and notify",
                lambda: _unsettled(app),
                lambda counts: counts[:3] == (0, 0, 0),
                stall=120,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; unsent: {_unsent(app)}") from None
        time.sleep(3)  # more outbox runs: nothing may go out again
        assert service.poll() is None, "yuqing run died during the outage"
    finally:
        if ingest.poll() is None:
            ingest.kill()
            ingest.communicate()
        service.send_signal(signal.SIGINT)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        smtp.stop()
    service_log.seek(0)
    log = service_log.read()
    assert service.returncode == 0, log[-3000:]

    try:
        t = tally(app)
        t.assert_once({f"id:hotline:GD{i:06d}" for i in range(N_ROWS)}, "hotline")
        with app.store.session() as s:
            due = {a.id for a in s.scalars(select(Alert).where(Alert.tier >= 2))}
            rows = list(s.scalars(select(NotificationOutbox)))
    finally:
        app.close()
    # every alert due was notified; an alert raised after its first e-mail has a second
    # notification (the raise): each notification e-mailed exactly once, none doubled
    sent = Counter(r.alert_id for r in rows if r.status == "sent")
    assert due and set(sent) == due
    received = Counter(int(m) for t in smtp.texts() for m in re.findall(r"告警编号：#(\d+)", t))
    assert received == sent
