"""Kill the active `yuqing scheduler` mid-day: the hot standby takes over within a
minute and nothing is doubled (real processes, PostgreSQL, a real SMTP server).

Two schedulers share one PostgreSQL database and crawl one demo site whose
clock the test moves: half the posts are published while the first process is
active, the rest after it has been killed with SIGKILL (its crawl child, if one
is running, is left orphaned and keeps writing: the overlap the lease and the
store's unique keys must absorb). Afterwards every source item is stored and
indexed once, every alert is raised once and every due notification was
delivered once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ops_kit import (
    CONFIG_DIR,
    Proc,
    SmtpSink,
    edit_yaml,
    install_models,
    make_env,
    pg_url,
    trained_models,
    wait_for,
)
from sqlalchemy import func, select

from crawler.demo.corpus import demo_corpus
from crawler.demo.site import DemoSite
from store.alerting_models import NotificationOutbox, SchedulerLock
from store.db import Store
from store.models import Alert, AlertPost, IndexOutbox, Post
from yuqing.clock import FrozenClock

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
__all__ = ["pg_url", "trained_models"]  # the fixture, used by name

LEASE = 10  # seconds; jobs.lock_ttl for this test (the default is 60 s)


def _config(tmp_path: Path, smtp: SmtpSink) -> Path:
    import shutil

    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)

    def settings(d: dict) -> None:
        d.setdefault("crawler", {}).update(download_delay=0, autothrottle=False)
        d.setdefault("scheduler", {})["pipeline_interval"] = "2s"
        # A frozen holder's open transaction is ended by the server, as deployed.
        d["database_pool"] = {"idle_in_transaction_timeout": f"{LEASE}s"}

    def alerts(d: dict) -> None:
        d["channels"] = {
            "mail": {
                "kind": "smtp",
                "url": smtp.url,
                "sender": "yuqing@county.example",
                "recipients": ["duty@county.example"],
                "timeout": "2s",
            }
        }
        d.setdefault("notify", {})["default_channels"] = ["mail"]
        # one e-mail per notification: outside working hours tiers III-IV wait and go out
        # combined at the day's start, so a run straddling it (08:30 in Asia/Shanghai)
        # would count fewer e-mails than sent rows (CI: 109 against 144)
        d["notify"]["batch_quiet"] = False
        d["jobs"] = {
            "deadlines": "5s",
            "outbox": "1s",
            "digest": "5m",
            "lock_ttl": f"{LEASE}s",
            "reports": None,
        }
        # the site's clock runs days behind: its posts stand for fresh ones here, not a
        # backfill for the desk's backlog (which pages nobody)
        d["discovery"] = {"max_age": None}

    def teams(d: dict) -> None:
        for t in d["teams"]:
            t["channels"] = ["mail"]

    def sources(d: dict) -> None:
        d["sources"] = [dict(s, interval="10s") for s in d["sources"] if s.get("demo")]

    edit_yaml(cfg / "settings.yaml", settings)
    edit_yaml(cfg / "alerts.yaml", alerts)
    edit_yaml(cfg / "teams.yaml", teams)
    edit_yaml(cfg / "sources.yaml", sources)
    return cfg


def _holder(store: Store) -> tuple[int, datetime] | None:
    with store.session() as s:
        row = s.get(SchedulerLock, "scheduler")
        return (int(row.holder.split(":")[-2]), row.expires_at) if row else None


def _count(store: Store, model: type, *where: object) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _json_lines(proc: Proc) -> list[dict]:
    lines = [line for line in proc.text().splitlines() if line.strip()]
    out, other = [], []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            other.append(line)
    assert not other, f"{len(other)} of {len(lines)} log lines are not JSON: {other[:20]}"
    return out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("fault", ["kill", "pause"])
def test_standby_takes_over_and_nothing_is_doubled(
    tmp_path: Path, pg_url: str, trained_models: Path, fault: str
) -> None:
    """kill: SIGKILL, its crawl child orphaned. pause: SIGSTOP (a frozen VM, a long
    GC pause), then SIGCONT once the standby has taken over: the two overlap, and the
    woken one must notice, stand by, and have sent nothing twice."""
    smtp = SmtpSink().start()
    now = datetime.now(UTC)
    corpus = demo_corpus(now)
    site_clock = FrozenClock(now - timedelta(days=5))  # about half the corpus is out
    site = DemoSite(corpus, clock=site_clock).start()
    env = make_env(tmp_path, pg_url, _config(tmp_path, smtp))
    install_models(trained_models, tmp_path / "var")
    store = Store(pg_url)
    args = ["scheduler", "--demo-url", site.url, "--log-format", "json"]
    first = second = None
    try:
        first = Proc(env, args, tmp_path / "first.log")
        wait_for(
            lambda: first.alive() and (_holder(store) or (0,))[0] == first.pid,
            120,
            "the first scheduler to hold the lease",
        )
        second = Proc(env, args, tmp_path / "second.log")
        wait_for(
            lambda: second.alive() and "standby" in second.text(), 120, "the second to stand by"
        )
        published = sum(1 for p in corpus if p.published_at <= site_clock.now())
        # The first works: crawls, alerts, e-mails.
        wait_for(
            lambda: first.alive() and _count(store, Post) >= published and len(smtp.messages) > 0,
            240,
            "the first scheduler to store the published posts and send e-mail",
        )
        assert (_holder(store) or (0,))[0] == first.pid  # the standby did not interfere
        # Mid-day: the rest of the posts come out; kill the first while it ingests them.
        stored = _count(store, Post)
        site_clock.advance(timedelta(days=6))
        wait_for(lambda: _count(store, Post) > stored, 120, "the next crawl to start storing", 0.1)
        os.kill(first.pid, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
        killed = time.monotonic()
        if fault == "kill":
            first.popen.wait()

        took_over = wait_for(
            lambda: second.alive() and (_holder(store) or (0,))[0] == second.pid,
            90,
            "the standby to take the lease",
            0.2,
        )
        assert took_over
        takeover_s = time.monotonic() - killed
        assert takeover_s < 60, f"standby took {takeover_s:.1f}s"
        if fault == "pause":
            os.kill(first.pid, signal.SIGCONT)
            wait_for(
                lambda: first.alive() and "lock lost" in first.text(),
                60,
                "the woken scheduler to notice and stand by",
            )

        def reconciled() -> bool:
            second.alive()
            due = _count(
                store,
                NotificationOutbox,
                NotificationOutbox.status == "pending",
                NotificationOutbox.next_attempt_at <= datetime.now(UTC),
            )
            return (
                _count(store, Post) == len(corpus)
                and _count(store, IndexOutbox) == 0
                and _count(store, Post, Post.evaluated.is_(False)) == 0
                and due == 0
                and second.text().count('"message": "crawled demo-') >= 2
            )

        wait_for(reconciled, 300, "the standby to crawl, index, alert and notify everything")
        time.sleep(3)  # a few more outbox runs: a doubled send would show now
        assert second.stop() == 0, second.text()[-3000:]
        second_log = _json_lines(second)
        second = None
        if fault == "pause":
            assert first.stop() == 0, first.text()[-3000:]

        # Every source item stored once (board and feed carry the same posts).
        with store.session() as s:
            keys = list(s.scalars(select(Post.key)))
            assert len(keys) == len(set(keys)) == len(corpus)
            post_ids = sorted(s.scalars(select(Post.id)))
            # Alerts: a post is in at most one alert of each rule.
            per_rule = Counter(
                s.execute(select(Alert.rule, AlertPost.post_id).join(AlertPost.alert)).all()
            )
            assert not [k for k, n in per_rule.items() if n > 1]
            alert_ids = set(s.scalars(select(Alert.id)))
            rows = list(s.scalars(select(NotificationOutbox)))
        assert alert_ids
        # Indexed once: the embedded index holds each stored post, and only those.
        with contextlib.closing(sqlite3.connect(tmp_path / "var" / "index.sqlite")) as db:
            assert sorted(r[0] for r in db.execute("SELECT id FROM docs")) == post_ids
            assert db.execute("SELECT count(*) FROM fts").fetchone()[0] == len(post_ids)
        # Every due notification sent, each exactly once; one made moot before it went is
        # settled with its reason: superseded (its alert was raised: the raise's
        # notification replaces it), or a duty-desk notice whose triage was decided or
        # whose window ended (fail open) first.
        cancelled = [r for r in rows if r.status == "cancelled"]
        assert all(
            (r.last_error or "").startswith(("superseded by ", "triage ")) for r in cancelled
        ), [(r.id, r.kind, r.last_error) for r in cancelled]
        due_rows = [
            r for r in rows if r.next_attempt_at <= datetime.now(UTC) and r.status != "cancelled"
        ]
        assert due_rows and all(r.status == "sent" and r.attempts == 1 for r in due_rows), [
            (r.id, r.status, r.attempts, r.last_error) for r in due_rows if r.status != "sent"
        ]
        sent = Counter(
            (r.payload["subject"], r.payload["text"].strip()) for r in rows if r.status == "sent"
        )
        got = Counter(
            (m["Subject"], m.get_body(("plain",)).get_content().strip()) for m in smtp.messages
        )
        assert sum(got.values()) == sum(sent.values()), (sum(got.values()), sum(sent.values()))
        assert got == sent
        print(  # shown with -s: what the run did, for the record
            f"{fault}: standby took over {takeover_s:.1f}s after; {len(corpus)} posts, "
            f"{len(alert_ids)} alerts, {len(due_rows)} due notifications, "
            f"{sum(got.values())} e-mails"
        )
        # And the logs were JSON lines naming their job and source; the standby's
        # shutdown logged no scheduler error.
        logs = _json_lines(first)
        assert any(rec.get("job") == "crawl" and rec.get("source") for rec in logs)
        errors = [r for r in second_log if r["level"] == "ERROR" and r["logger"] != "yuqing.jobs"]
        assert not errors, errors
    finally:
        for p in (first, second):
            if p is not None:
                p.stop()
        site.stop()
        smtp.stop()
        store.close()
