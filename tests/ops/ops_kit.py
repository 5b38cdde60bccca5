"""Shared parts of the ops tests: a config and var dir per test, a model trained
once per session, yuqing processes started and stopped for real."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
# The alert tests' receivers (aiosmtpd sink, webhook receiver): the same kit, not a copy.
sys.path.insert(0, str(ROOT / "tests" / "alerts"))
from alerts_testkit import START, Receiver, SmtpSink, add_post  # noqa: E402

__all__ = ["START", "Receiver", "SmtpSink", "add_post"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll until ``predicate`` returns something truthy (a deadline, not a speed claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def make_env(tmp_path: Path, db_url: str | None, config: Path | None = None) -> dict[str, str]:
    """The bundled config (or ``config``), a private var dir and the given store."""
    if config is None:
        config = tmp_path / "config"
        shutil.copytree(CONFIG_DIR, config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_CONFIG"] = str(config)
    env["YUQING_VAR_DIR"] = str(tmp_path / "var")
    if db_url:
        env["YUQING_DATABASE_URL"] = db_url
    return env


def yq(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Proc:
    """A yuqing process in its own session (its crawl children are in its group)."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        self.args = args
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", *args],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"yuqing {' '.join(self.args)} exited:\n{self.text()[-4000:]}")
        return True

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd stops a unit; then reap the group's leftovers."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)  # a paused one must hear the TERM
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.reap()
        return int(self.popen.returncode)

    def reap(self) -> None:
        """Kill whatever is left in the process group (a killed parent's crawl child)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus's model, trained once per session (copied into each var dir)."""
    from classifier.bootstrap import ensure_model
    from crawler.demo.corpus import labelled_examples
    from yuqing.settings import load_config

    config = load_config(CONFIG_DIR, {})
    models = tmp_path_factory.mktemp("ops-models") / "models"
    ensure_model(
        models, config.taxonomy, labelled_examples, config.settings.classifier.uncertain_below
    )
    return models


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (skipped without YUQING_TEST_POSTGRES_URL)."""
    from tests.conftest import _pg_database

    yield from _pg_database()


def install_models(models: Path, var_dir: Path) -> None:
    shutil.copytree(models, var_dir / "models")
