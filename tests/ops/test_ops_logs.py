"""Structured logs: one JSON object per line with --log-format json, text by default."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ops_kit import Proc, free_port, make_env, wait_for

from runtime.observability import JsonFormatter, configure_logging, log_context


@contextlib.contextmanager
def json_logger(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines into a buffer (not to the root's handlers)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger(name)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield log, out
    finally:
        log.removeHandler(handler)


def test_json_lines_carry_level_logger_message_and_context() -> None:
    with json_logger("yuqing.test.json") as (log, out):
        with log_context(job="crawl", source="demo-feed"):
            log.info("crawled %s: %d new\nsecond line", "demo-feed", 3, extra={"post_id": 7})
            with log_context(alert_id=12):
                log.warning("escalated")
        log.info("outside")
        try:
            raise ValueError("bad date 2026-13-01")
        except ValueError:
            log.exception("normalise failed")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # the message's newline stays inside its object
    first, second, third, fourth = (json.loads(line) for line in lines)
    assert first["message"] == "crawled demo-feed: 3 new\nsecond line"
    assert first["level"] == "INFO" and first["logger"] == "yuqing.test.json"
    assert (first["job"], first["source"], first["post_id"]) == ("crawl", "demo-feed", 7)
    assert first["timestamp"].endswith("+00:00") and isinstance(first["pid"], int)
    assert (second["alert_id"], second["source"], second["level"]) == (12, "demo-feed", "WARNING")
    assert "job" not in third and "alert_id" not in third
    assert fourth["level"] == "ERROR" and "ValueError: bad date" in fourth["exception"]


def test_warnings_become_records_in_the_chosen_format(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("json", "INFO")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("old option", DeprecationWarning, stacklevel=1)
        logging.getLogger("yuqing.x").info("hello")
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert [x["logger"] for x in lines] == ["py.warnings", "yuqing.x"]
    assert "old option" in lines[0]["message"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_serve_logs_in_the_chosen_format(tmp_path: Path, fmt: str) -> None:
    env = make_env(tmp_path, None)
    port = free_port()
    args = ["serve", "--port", str(port)] + (["--log-format", "json"] if fmt == "json" else [])
    proc = Proc(env, args, tmp_path / "serve.log")
    try:

        def up() -> bool:
            proc.alive()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).is_success
            except httpx.TransportError:
                return False

        wait_for(up, 120, "the console")
    finally:
        assert proc.stop() == 0, proc.text()
    lines = [x for x in proc.text().splitlines() if x.strip()]
    assert any("console    http://" in x for x in lines) and any("stopped" in x for x in lines)
    if fmt == "json":
        records = [json.loads(x) for x in lines]  # every line, not only ours
        assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)
    else:
        assert not any(x.startswith("{") for x in lines)


def test_a_dying_thread_and_an_ignored_exception_are_json_lines_too(tmp_path: Path) -> None:
    """Python writes these tracebacks to stderr as plain text unless told otherwise."""
    import subprocess
    import sys

    code = (
        "import gc, threading\n"
        "from runtime.observability import configure_logging\n"
        "configure_logging('json', 'INFO')\n"
        "def boom(): raise RuntimeError('worker died')\n"
        "t = threading.Thread(target=boom, name='outbox'); t.start(); t.join()\n"
        "class Bad:\n"
        "    def __del__(self): raise ValueError('finaliser failed')\n"
        "Bad(); gc.collect()\n"
        "raise KeyError('main thread')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert [r["logger"] for r in records] == ["yuqing.uncaught"] * 3
    thread, finaliser, main = records
    assert thread["level"] == "ERROR" and "outbox" in thread["message"]
    assert "RuntimeError: worker died" in thread["exception"]
    assert (
        finaliser["level"] == "WARNING" and "ValueError: finaliser failed" in finaliser["exception"]
    )
    assert main["level"] == "CRITICAL" and "KeyError: 'main thread'" in main["exception"]


def test_a_log_call_whose_arguments_do_not_fit_is_still_one_json_line() -> None:
    with json_logger("yuqing.test.badargs") as (log, out):
        log.warning("lease %s lost at %s", "scheduler:host:1:abc")  # one argument short
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "yuqing.test.badargs"
    assert record["message"].startswith("lease %s lost at %s (arguments")
    assert "scheduler:host:1:abc" in record["message"] and "did not fit" in record["message"]
