"""`yuqing alerts triage list|confirm|retier|dismiss|archive [--json]` on the bundled
config (triage on), against SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_testkit import CONFIG_DIR, START, add_post

from alerts.engine import evaluate_new_posts
from alerts.routing import Router
from runtime.cli import main
from store.db import Store
from yuqing.gazetteer import Gazetteer
from yuqing.settings import load_config


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, store: Store) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    monkeypatch.setenv("YUQING_CONFIG", str(CONFIG_DIR))
    config = load_config(CONFIG_DIR)  # as deployed: the duty desk decides tier I-II first
    add_post(store, START, "工地坍塌", severity=4)
    add_post(store, START, "小区燃气泄漏", severity=3)
    add_post(store, START, "路口积水", severity=3, area="文昌社区")
    add_post(
        store, START, "十天前的旧帖：桥梁开裂", severity=3, published_at=START - timedelta(days=10)
    )
    with store.session() as s:
        evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), START)
    return db_url


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["alerts", "triage", *args])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_the_desk_from_the_command_line(desk: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "list", "--json")
    assert code == 0
    rows = json.loads(out)["alerts"]
    by_title = {r["title"]: r for r in rows}
    assert [r["status"] for r in rows].count("triage") == 3
    old = by_title["十天前的旧帖：桥梁开裂"]
    assert old["status"] == "backlog" and old["desk"] == "county-triage"
    crash = by_title["工地坍塌"]
    assert crash["tier"] == "I" and crash["team"] == "donghu-hubin" and crash["triage"] == "pending"
    # the teams' own list does not show what waits for the desk
    with pytest.raises(SystemExit):
        main(["alerts", "list", "--json"])
    assert json.loads(capsys.readouterr()[0])["alerts"] == []

    code, out, _ = _run(capsys, "confirm", str(crash["id"]), "--by", "desk-wang", "--json")
    a = json.loads(out)["alert"]
    assert code == 0 and (a["status"], a["triage"], a["triaged_by"]) == (
        "open",
        "confirmed",
        "desk-wang",
    )
    gas = by_title["小区燃气泄漏"]["id"]
    code, _, err = _run(capsys, "dismiss", str(gas), "--reason", "x")
    assert code == 1 and "reason" in err  # one character is no reason
    code, out, _ = _run(capsys, "dismiss", str(gas), "--reason", "物业演练，非真实泄漏", "--json")
    assert code == 0 and json.loads(out)["alert"]["status"] == "dismissed"
    code, _, err = _run(capsys, "confirm", str(gas))
    assert code == 1 and "not awaiting triage" in err

    water = by_title["路口积水"]["id"]
    code, _, err = _run(capsys, "retier", str(water))
    assert code == 2 and "--tier or --team" in err
    code, _, err = _run(capsys, "retier", str(water), "--tier", "V")
    assert code == 2
    code, out, _ = _run(capsys, "retier", str(water), "--tier", "III", "--json")
    a = json.loads(out)["alert"]
    assert (a["status"], a["tier"], a["triage"]) == ("open", "III", "retiered")

    code, out, _ = _run(capsys, "archive", str(old["id"]), "--note", "已于十天前处置")
    assert code == 0 and "dismissed" in out
    code, out, _ = _run(capsys, "list")
    assert code == 0 and out.startswith("0 alerts awaiting triage")
    code, _, err = _run(capsys, "confirm", "999999")
    assert code == 1 and "not found" in err
