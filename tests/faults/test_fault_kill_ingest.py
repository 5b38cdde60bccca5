"""kill -9 of the process that is storing posts, mid-batch; then the same run again.

Real processes: `yuqing import` of a 12345 export (batches of 64 classified
together, each post committed on its own) and the crawl child of `yuqing crawl
demo-board` (Scrapy, batches of 16) against the bundled demo site. Each is
killed with SIGKILL once some posts of a batch are stored. The re-run must end
with every source item stored once, sighted once, indexed once, nothing left in
the index outbox and no dead letters.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from faults_kit import (
    YUQING,
    children,
    cmdline,
    count_posts,
    hotline_rows,
    kill9,
    last_json,
    run_yuqing,
    seed_model,
    tally,
    wait_until,
    write_config,
    write_jsonl,
    yuqing_env,
)

from runtime.app import App
from yuqing.settings import load_config

N_ROWS = 300


def _app(config: Path, env: dict[str, str]) -> App:
    return App(load_config(config, env))


@pytest.mark.slow
def test_import_killed_mid_batch_then_rerun(
    db_url: str, tmp_path: Path, trained_models: Path
) -> None:
    config = write_config(tmp_path / "config")
    var = tmp_path / "var"
    seed_model(var, trained_models)
    env = yuqing_env(config, var, db_url)
    export = write_jsonl(tmp_path / "12345.jsonl", hotline_rows(N_ROWS))
    args = ["import", str(export), "--source", "hotline", "--json"]

    proc = subprocess.Popen(
        [YUQING, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until("the import to store its first posts", lambda: count_posts(db_url) > 0, 240)
        kill9(proc.pid)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -9
    stored = count_posts(db_url)
    assert 0 < stored < N_ROWS, f"not killed mid-import ({stored} of {N_ROWS} stored)"

    rerun = run_yuqing(args, env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    out = last_json(rerun.stdout)
    # the re-run reads every row again and adds exactly what the killed run had not stored
    assert (out["accepted"], out["new"], out["rejected"]) == (N_ROWS, N_ROWS - stored, 0)

    app = _app(config, env)
    try:
        t = tally(app)
        t.assert_once({f"id:hotline:GD{i:06d}" for i in range(N_ROWS)}, "hotline")
        assert t.posts == N_ROWS
    finally:
        app.close()


@pytest.mark.slow
def test_crawl_child_killed_mid_batch_then_rerun(tmp_path: Path, trained_models: Path) -> None:
    """SQLite only: the same store code is covered on PostgreSQL by the import case."""
    from datetime import UTC, datetime

    from crawler.demo.corpus import demo_corpus

    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    # a small delay per request so the crawl is still running when the kill comes
    config = write_config(tmp_path / "config", settings={"crawler": {"download_delay": 0.02}})
    var = tmp_path / "var"
    seed_model(var, trained_models)
    env = yuqing_env(config, var, db_url)
    args = ["crawl", "demo-board", "--json"]
    total = len(demo_corpus(datetime.now(UTC)))

    proc = subprocess.Popen(
        [YUQING, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:

        def crawl_child() -> int | None:
            kids = [c for c in children(proc.pid) if "runtime.crawl_child" in cmdline(c)]
            return kids[0] if kids else None

        child = wait_until("the crawl child", crawl_child, 240)
        wait_until("the crawl to store posts", lambda: count_posts(db_url) > 0, 240)
        kill9(child)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    stored = count_posts(db_url)
    assert 0 < stored < total, f"not killed mid-crawl ({stored} of {total} stored)"
    # the parent survives its child: the crawl is recorded as failed, the rest indexed
    assert proc.returncode == 1, err[-2000:]
    first = last_json(out)
    assert first["sources"][0]["ok"] is False and "exit -9" in first["sources"][0]["error"]
    assert first["indexed"] == stored

    rerun = run_yuqing(args, env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    second = last_json(rerun.stdout)["sources"][0]
    # the killed crawl left its state 'running': this one walks every list page
    assert second["items_new"] == total - stored

    app = _app(config, env)
    try:
        t = tally(app)
        base = "url:http://demo.yuqing.invalid/board/thread/"
        t.assert_once({f"{base}{i}.html" for i in range(1, total + 1)}, "demo-board")
    finally:
        app.close()
