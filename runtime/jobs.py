"""The jobs the scheduler (runtime/service.py) and the CLI run: a crawl of a source, in
a child process or seeded into the shared frontier, and its record (``crawl_runs``, the
source's health); draining the index outbox; evaluating the alert rules."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.app import App

log = logging.getLogger("yuqing.jobs")


_children: set[subprocess.Popen[str]] = set()
_terminated: set[subprocess.Popen[str]] = set()  # children our own shutdown stopped
_children_lock = threading.Lock()


def stop_children() -> None:
    """Ask running crawls to stop (shutdown): Scrapy closes its spider on SIGTERM."""
    with _children_lock:
        procs = list(_children)
    for p in procs:
        if p.poll() is None:
            with _children_lock:
                _terminated.add(p)
            p.terminate()


@dataclass(slots=True)
class CrawlOutcome:
    source: str
    ok: bool
    stats: dict[str, Any]
    error: str | None = None
    started_at: datetime | None = None
    interrupted: bool = False  # stopped by our own shutdown: not the source's fault


def child_env(app: App) -> dict[str, str]:
    """The child sees exactly this process's configuration, whatever set it."""
    env = dict(os.environ)
    env["YUQING_CONFIG"] = str(app.config.directory)
    env["YUQING_DATABASE_URL"] = app.config.database_url
    env["YUQING_VAR_DIR"] = str(app.config.var_dir)
    spec = getattr(app.clock, "spec", None)
    if spec is not None:  # a scaled clock: the child reads the same time
        env["YUQING_CLOCK"] = spec()
    return env


def crawl_in_child(app: App, source: str, timeout: float = 1800) -> CrawlOutcome:
    """Run one crawl in a child process: Twisted's reactor cannot restart, and a
    crashing spider must never take the scheduler down with it."""
    if app.config.settings.crawler.redis_url:  # distributed: crawler workers do it
        return enqueue_in_frontier(app, source)
    cmd = [sys.executable, "-m", "runtime.crawl_child", "--source", source]
    if app.demo_url:
        cmd += ["--demo-url", app.demo_url]
    started = app.now()
    proc = subprocess.Popen(
        cmd, env=child_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with _children_lock:
        _children.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        outcome = CrawlOutcome(source, False, {}, f"crawl timed out after {timeout:.0f}s", started)
    else:
        stats: dict[str, Any] = {}
        for line in reversed(out.splitlines()):
            if line.startswith("{"):
                try:
                    stats = json.loads(line)
                    break
                except json.JSONDecodeError:
                    continue
        if proc.returncode == 0:
            outcome = CrawlOutcome(source, True, stats, None, started)
        elif proc in _terminated:
            outcome = CrawlOutcome(
                source, False, stats, "stopped at shutdown", started, interrupted=True
            )
        else:
            tail = (err.strip().splitlines() or ["(no output)"])[-1]
            outcome = CrawlOutcome(source, False, stats, f"exit {proc.returncode}: {tail}", started)
    finally:
        with _children_lock:
            _children.discard(proc)
            _terminated.discard(proc)
    record_crawl(app, outcome)
    return outcome


def enqueue_in_frontier(app: App, source: str) -> CrawlOutcome:
    """With a shared frontier (``crawler.redis_url``) a crawl is a seed that the
    ``yuqing crawler-worker`` processes take; the worker finishing the round writes
    its ``crawl_runs`` row. A source whose last round is still running is left alone."""
    from crawler.distributed import enqueue_source

    started = app.now()
    try:
        round_id = enqueue_source(app.config, source, started)
    except Exception as exc:  # Redis away: the next scheduled run seeds it
        log.error("could not seed %s into the frontier: %s", source, exc)
        return CrawlOutcome(source, False, {}, f"frontier: {type(exc).__name__}: {exc}", started)
    return CrawlOutcome(source, True, {"enqueued_round": round_id}, None, started)


def record_crawl(app: App, outcome: CrawlOutcome) -> None:
    """Keep the crawl's statistics (a ``crawl_runs`` row) and update its source's row."""
    from runtime.ingest import source_row
    from store.crawl_models import CrawlRun

    now = app.now()
    st = outcome.stats
    started = outcome.started_at or now
    with app.store.session() as s:
        row = source_row(s, app.config, outcome.source)
        row.crawls += 1
        row.last_crawl_at = now
        if outcome.ok:
            row.last_ok_at = now
            row.last_error = None
            row.items_total += int(st.get("items_new", 0))
        else:
            row.last_error = outcome.error
        s.add(
            CrawlRun(
                source=outcome.source,
                started_at=started,
                finished_at=now,
                duration_s=float(st.get("duration_s") or (now - started).total_seconds()),
                ok=outcome.ok,
                pages=int(st.get("pages", 0)),
                items=int(st.get("items_accepted", 0)),
                new=int(st.get("items_new", 0)),
                updated=int(st.get("items_updated", 0)),
                duplicate=int(st.get("items_duplicate", 0)),
                collided=int(st.get("items_collided", 0)),
                not_modified=int(st.get("not_modified", 0)),
                dead_letters=int(st.get("dead_letters", 0)),
                unparsed=int(st.get("unparsed", 0)),
                mojibake=int(st.get("mojibake", 0)),
                repaired=int(st.get("mojibake_repaired", 0)),
                errors=int(st.get("errors", 0)),
                error=outcome.error,
            )
        )
        if not outcome.interrupted:  # a shutdown says nothing about the source's health
            judge_health(app, s, row, outcome, now)
    if outcome.interrupted:
        log.info("crawl of %s stopped at shutdown; the next run resumes it", outcome.source)
    elif not outcome.ok:
        log.error("crawl of %s failed: %s", outcome.source, outcome.error)


def judge_health(app: App, session: Any, row: Any, outcome: CrawlOutcome, now: datetime) -> None:
    """Flag a source that stopped yielding and alert its owner team, once per episode.

    Unhealthy: ``crawler.unhealthy_after_empty_runs`` crawls in a row that failed or
    found nothing, or selectors that matched nothing on a page that returned 200
    (layout changed, a login or block page).
    """
    state = dict(row.state or {})
    bad = not outcome.ok or state.get("last_run_productive") is False
    state["bad_runs"] = int(state.get("bad_runs", 0)) + 1 if bad else 0
    limit = app.config.settings.crawler.unhealthy_after_empty_runs
    st = outcome.stats
    # the last run's figures, for whoever looks at the source (console, `yuqing crawl`)
    state["last_run"] = {k: st[k] for k in _RUN_FIGURES if k in st}
    reasons = []
    if outcome.ok and state.get("selector_miss"):
        reasons.append("配置的选择器在返回 200 的页面上没有匹配到内容（页面改版或需要登录？）")
    if outcome.ok:
        from alerts.source_health import crawl_health_reasons

        reasons.extend(crawl_health_reasons(st))
    if state["bad_runs"] >= limit:
        last = f"；最近错误：{outcome.error}" if outcome.error else ""
        reasons.append(f"连续 {state['bad_runs']} 次抓取失败或没有内容{last}")
    health = dict(state.get("health") or {})
    if not reasons:
        state["health"] = {"status": "ok", "checked_at": now.isoformat()}
        row.state = state
        return
    if health.get("status") != "unhealthy":
        health = {"status": "unhealthy", "since": now.isoformat()}
    health["reason"] = "；".join(reasons)
    health["checked_at"] = now.isoformat()
    if not health.get("alert_id"):
        health["alert_id"] = _alert_owner(app, session, outcome.source, health)
    state["health"] = health
    row.state = state
    log.warning("source %s is unhealthy: %s", outcome.source, health["reason"])


# the per-run figures kept in sources.state["last_run"]
_RUN_FIGURES = ("pages", "items_accepted", "items_new", "items_updated", "items_duplicate",
                "items_collided", "dead_letters", "unparsed", "mojibake", "mojibake_repaired")  # fmt: skip


def _alert_owner(app: App, session: Any, source: str, health: dict[str, Any]) -> int | None:
    from alerts.source_health import open_source_alert

    try:
        team = app.config.source(source).owner_team
    except KeyError:
        team = None
    try:
        with session.begin_nested():  # an alerting problem must not lose the crawl's record
            return open_source_alert(
                session,
                app.config,
                source=source,
                team=team,
                reason=health["reason"],
                since=datetime.fromisoformat(health["since"]),
                now=app.now(),
            )
    except Exception:
        log.exception("could not raise the health alert for %s", source)
        return None


@dataclass(slots=True)
class IndexRun:
    indexed: int = 0
    failed: int = 0
    error: str | None = None


def drain_index(app: App, batch: int = 500, max_batches: int = 100) -> IndexRun:
    """Move due outbox entries into the search index. An unreachable index leaves
    them queued with backoff: delayed, never lost."""
    from store.posts import due_index_batch, index_doc, mark_index_failed, mark_indexed

    run = IndexRun()
    for _ in range(max_batches):
        now = app.now()
        with app.store.session() as s:
            entries = due_index_batch(s, now, batch)
            docs = [index_doc(e.post) for e in entries if e.op == "upsert"]
            deletes = [e.post.id for e in entries if e.op == "delete"]
        if not entries:
            break
        try:
            failures = dict(app.index.index(docs)) if docs else {}
            if deletes:
                app.index.delete(deletes)
        except Exception as exc:  # index unreachable: keep everything queued
            msg = f"{type(exc).__name__}: {exc}"
            with app.store.session() as s:
                for e in entries:
                    mark_index_failed(s, e.outbox_id, msg, now)
            run.failed += len(entries)
            run.error = msg
            log.warning("index unavailable, %d posts stay queued: %s", len(entries), msg)
            break
        with app.store.session() as s:
            ok = [e for e in entries if e.post.id not in failures]
            mark_indexed(s, ok)
            for e in entries:
                if e.post.id in failures:
                    mark_index_failed(s, e.outbox_id, failures[e.post.id], now)
        run.indexed += len(entries) - len(failures)
        run.failed += len(failures)
        if failures:
            break  # failed ones are backed off; try again next tick
    return run


def evaluate_alerts(app: App) -> Any:
    from alerts.engine import evaluate_new_posts

    total = None
    while True:
        with app.store.session() as s:
            stats = evaluate_new_posts(s, app.config, app.router, app.now())
        if total is None:
            total = stats
        else:
            total.posts += stats.posts
            total.opened += stats.opened
            total.grown += stats.grown
            total.triage += stats.triage
            total.backlog += stats.backlog
            total.late += stats.late
        if stats.posts == 0:
            return total
