"""The whole spine on real parts: Scrapy crawl of the demo site -> classifier ->
store -> embedded index -> alerts -> console, driven through the yuqing CLI."""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import CONFIG_DIR

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, db_url: str | None = None) -> dict[str, str]:
    # The bundled config with the politeness delay off: the demo site is ours and local.
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    settings = config / "settings.yaml"
    settings.write_text(
        settings.read_text().replace(
            "download_delay: 0.25", "download_delay: 0\n  autothrottle: false"
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_CONFIG"] = str(config)
    env["YUQING_VAR_DIR"] = str(tmp_path / "var")
    if db_url:
        env["YUQING_DATABASE_URL"] = db_url
    return env


def yq(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def yq_json(env: dict[str, str], *args: str) -> dict:
    proc = yq(env, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _counts(env: dict[str, str]) -> tuple[int, int]:
    posts = yq_json(env, "search", "--limit", "1")["total"]
    alerts = len(yq_json(env, "alerts", "list", "--status", "all", "--limit", "10000")["alerts"])
    return posts, alerts


# Two full crawls of the demo site and a dozen CLI processes (each loads the model):
# about a minute alone, past the suite's 300 s on a busy 2-core machine.
@pytest.mark.timeout(900)
def test_crawl_all_then_search_and_alerts(tmp_path: Path, db_url: str) -> None:
    env = _env(tmp_path, db_url)
    proc = yq(env, "crawl", "--all", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert all(s["ok"] for s in summary["sources"]), summary
    assert summary["indexed"] > 50

    from datetime import UTC, datetime

    from crawler.demo.corpus import demo_corpus

    assert yq_json(env, "search", "--limit", "1")["total"] == len(demo_corpus(datetime.now(UTC)))
    found = yq_json(env, "search", "物业")
    assert found["total"] > 0
    hit = found["hits"][0]
    assert {"id", "title", "text", "category", "severity", "area", "published_at", "url"} <= set(
        hit
    )
    assert "物业" in hit["title"] + hit["text"]

    alerts = yq_json(env, "alerts", "list", "--status", "all", "--limit", "10000")["alerts"]
    assert alerts, "the demo corpus holds severe incidents: at least one alert"
    assert {"id", "tier", "status", "team", "title", "opened_at", "deadline"} <= set(alerts[0])
    assert any(a["tier"] == "I" for a in alerts)
    # history found at the first crawl pages nobody: it waits in the desk's backlog;
    # what was published in the last hours goes to the desk (I-II) or to its team
    statuses = {a["status"] for a in alerts}
    assert "backlog" in statuses and statuses <= {"backlog", "triage", "open"}
    queue = yq_json(env, "alerts", "triage", "list")["alerts"]
    assert {a["id"] for a in queue} == {
        a["id"] for a in alerts if a["status"] in ("backlog", "triage")
    }
    now = datetime.now(UTC)
    for a in alerts:  # no deadline starts in the past
        assert datetime.fromisoformat(a["opened_at"]) <= now
        if a["status"] == "open":
            assert datetime.fromisoformat(a["ack_deadline"]) > datetime.fromisoformat(
                a["opened_at"]
            )

    severe = yq_json(env, "search", "--severity", "I")
    assert severe["total"] > 0 and all(h["severity"] == 4 for h in severe["hits"])

    # Crawling again (board + feed carry the same posts) duplicates nothing.
    before = _counts(env)
    assert yq(env, "crawl", "--all").returncode == 0
    assert _counts(env) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "run", "--demo", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _interrupt(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("yuqing run did not stop on Ctrl-C:\n" + log.read_text()) from None
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()


# Two runs of `yuqing run --demo`, each waited on until its crawls are stored, indexed
# and alerted on (every wait has its own deadline below and says what it waited for).
@pytest.mark.timeout(900)
def test_run_demo_shows_alerts_and_resumes_without_duplicates(tmp_path: Path) -> None:
    env = _env(tmp_path)
    port = _free_port()
    # The console refuses anonymous requests: a supervisor's API token, as a machine would.
    assert yq(env, "users", "add", "e2e", "--role", "supervisor", "--generate").returncode == 0
    token = yq(env, "users", "token", "e2e", "--name", "e2e").stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> bytes:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=auth)
        return urllib.request.urlopen(req, timeout=10).read()

    log = tmp_path / "run1.log"
    proc = _start(env, port, log)
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError("yuqing run exited:\n" + log.read_text())
            p = yq(env, "search", "物业", "--json")
            a = yq(env, "alerts", "list", "--json")
            return (
                p.returncode == 0
                and json.loads(p.stdout)["total"] > 0
                and a.returncode == 0
                and json.loads(a.stdout)["alerts"] != []
            )

        _wait(ready, 240, "demo posts searchable and an alert raised")
        inbox = get("/").decode()
        api = json.loads(get("/api/v1/alerts"))
        assert api["alerts"] and html.escape(api["alerts"][0]["title"], quote=False) in inbox
        # and an anonymous caller is refused
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=10)
        assert refused.value.code == 401
        from datetime import UTC, datetime

        from crawler.demo.corpus import demo_corpus

        everything = len(demo_corpus(datetime.now(UTC)))  # all of it: the second run adds none
        _wait(
            lambda: yq_json(env, "search", "--limit", "1")["total"] >= everything,
            240,
            "the full demo crawl",
        )
    finally:
        if proc.poll() is None:
            _interrupt(proc, log)
    first = _counts(env)

    log2 = tmp_path / "run2.log"
    proc = _start(env, port, log2)
    try:
        # wait until the second run has crawled both sources again
        _wait(lambda: log2.read_text().count("crawled demo-") >= 2, 240, "the second run's crawls")
    finally:
        if proc.poll() is None:
            _interrupt(proc, log2)
    assert _counts(env) == first
