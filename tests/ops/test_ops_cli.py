"""The serve and scheduler commands: listed, documented, bad options refused early."""

from __future__ import annotations

from pathlib import Path

from ops_kit import make_env, yq


def test_help_lists_both_pieces(tmp_path: Path) -> None:
    out = yq(make_env(tmp_path, None), "--help").stdout
    assert "serve " in out and "scheduler " in out


def test_scheduler_refuses_demo_and_demo_url_together(tmp_path: Path) -> None:
    proc = yq(make_env(tmp_path, None), "scheduler", "--demo", "--demo-url", "http://127.0.0.1:9")
    assert proc.returncode == 2
    assert "give --demo or --demo-url, not both" in proc.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was written


def test_serve_refuses_zero_workers_and_bad_log_format(tmp_path: Path) -> None:
    env = make_env(tmp_path, None)
    bad = yq(env, "serve", "--workers", "0")
    assert bad.returncode == 2 and "--workers" in bad.stderr
    bad = yq(env, "serve", "--log-format", "xml")
    assert bad.returncode == 2 and "--log-format" in bad.stderr
