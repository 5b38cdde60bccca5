"""The notification outbox fills while the SMTP server is down; when it returns,
every due notification goes out exactly once.

Real processes and servers: `yuqing run` (the scheduler delivering the outbox
every second) with a scaled clock (30x, through YUQING_CLOCK, so the outbox's
15 s .. 10 min backoff passes in seconds), `yuqing import` raising the alerts,
and aiosmtpd on loopback, stopped and started again on the same port.
Deadlines are set long and reminders off, so the only notifications due are the
alerts' openings: one e-mail per tier I-III alert.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faults_kit import (
    YUQING,
    MailSink,
    fault_seconds,
    free_port,
    hotline_rows,
    mail_alerts,
    run_yuqing,
    seed_model,
    wait_until,
    write_config,
    write_jsonl,
    yuqing_env,
)
from sqlalchemy import select

from runtime.app import App
from store.alerting_models import NotificationOutbox
from store.models import Alert
from yuqing.clock import ScaledClock
from yuqing.settings import load_config

# Friday 10:00 in Asia/Shanghai: working hours, so tier III is due at once as well.
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SPEED = 30.0


def _outbox(app: App) -> list[NotificationOutbox]:
    with app.store.session() as s:
        return list(s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)))


@pytest.mark.slow
def test_smtp_down_outbox_fills_then_each_sent_once(tmp_path: Path, trained_models: Path) -> None:
    """SQLite: the outbox on PostgreSQL is exercised by the PostgreSQL outage test."""
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    down_s = fault_seconds("YUQING_FAULT_SMTP_DOWN_S", 15)
    smtp = MailSink()  # port reserved, server not started: connections are refused
    config = write_config(
        tmp_path / "config",
        settings={"scheduler": {"pipeline_interval": "1s"}},
        alerts=mail_alerts(smtp.url),
        team_channels={},  # every team on the default channel: mail
    )
    var = tmp_path / "var"
    seed_model(var, trained_models)
    clock = ScaledClock(START, SPEED)
    env = yuqing_env(config, var, db_url, YUQING_CLOCK=clock.spec())
    app = App(load_config(config, env))
    service = subprocess.Popen(
        [YUQING, "run", "--port", str(free_port())],
        env={**env, "YUQING_ADMIN_PASSWORD": "fault-admin-password"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    down_since = time.monotonic()
    try:
        first = write_jsonl(tmp_path / "a.jsonl", hotline_rows(40))
        r = run_yuqing(["import", str(first), "--source", "hotline", "--json"], env)
        assert r.returncode == 0, r.stderr[-2000:]

        # the service keeps trying and failing: attempts counted, errors kept, nothing dropped
        wait_until(
            "failed delivery attempts",
            lambda: (rows := _outbox(app)) and all(x.attempts >= 2 for x in rows),
            120,
            0.5,
        )
        # more alerts while SMTP is still down: the outbox fills
        second = write_jsonl(tmp_path / "b.jsonl", hotline_rows(40, start=40))
        r = run_yuqing(["import", str(second), "--source", "hotline", "--json"], env)
        assert r.returncode == 0, r.stderr[-2000:]
        listed = run_yuqing(["alerts", "outbox", "--json"], env)
        assert listed.returncode == 0 and "ConnectionRefusedError" in listed.stdout
        time.sleep(max(0.0, down_since + down_s - time.monotonic()))
        rows = _outbox(app)
        assert rows and all(x.status == "pending" for x in rows)
        assert all(x.last_error and "Refused" in x.last_error for x in rows if x.attempts)
        assert not smtp.messages
        queued = len(rows)

        smtp.start()
        wait_until(
            "every notification sent",
            lambda: all(x.status == "sent" for x in _outbox(app)),
            180,
            0.5,
        )
        time.sleep(3)  # a few more outbox runs: nothing may go out again
    finally:
        service.send_signal(signal.SIGINT)
        try:
            out, _ = service.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            out, _ = service.communicate()
        smtp.stop()

    assert service.returncode == 0, out[-3000:]
    assert "notification via mail failed" in out  # the outage is in the service's log
    rows = _outbox(app)
    with app.store.session() as s:
        due = {a.id for a in s.scalars(select(Alert).where(Alert.tier >= 2))}
    app.close()
    assert len(rows) == queued == len(due) > 0
    assert {x.alert_id for x in rows} == due
    assert all(x.status == "sent" and x.attempts >= 2 for x in rows[: len(rows) // 2])
    # one e-mail per due notification: counted per alert from the messages received
    received = Counter(int(m) for t in smtp.texts() for m in re.findall(r"告警编号：#(\d+)", t))
    assert received == Counter({a: 1 for a in due}), received
    assert len(smtp.messages) == len(rows)
