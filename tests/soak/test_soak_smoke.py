"""`python -m soak` for half a minute: the whole service against the demo world at
50x (30 simulated minutes), then the figures reconcile. Memory is reported but
not judged this short (the 30-minute `make soak` judges it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_soak_half_a_minute_reconciles(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "soak",
            "--minutes",
            "0.5",
            "--work",
            str(tmp_path / "soak"),
            "--json",
            str(out),
            "--quiet",
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["problems"] == []
    # the ~160 posts of the corpus, and those published during the run
    assert report["published"] > 160
    assert report["published"] == report["stored"] == report["indexed"]
    assert report["index_backlog"] == 0
    assert report["sightings"]["soak-board"] == report["published"]
    assert report["alerts"] > 0
    sent = sum(v for k, v in report["notifications"].items() if k.endswith("/sent"))
    assert sent == report["webhook_received"] + report["smtp_received"] > 0
    service = report["memory"]["service"]
    assert service["samples"] > 0 and service["peak_mib"] >= service["end_mib"] > 0
    assert service["flat"] is None  # too short to judge
    assert "RECONCILED" in r.stdout
