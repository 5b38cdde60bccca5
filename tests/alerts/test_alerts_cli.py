"""`yuqing alerts list|show|ack|respond|resolve|silence [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alerts_testkit import CONFIG_DIR, START, add_post

from alerts.engine import evaluate_new_posts
from alerts.routing import Router
from runtime.cli import main
from store.db import Store
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, store: Store, config: AppConfig
):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    monkeypatch.setenv("YUQING_CONFIG", str(CONFIG_DIR))
    add_post(store, START, "工地坍塌", severity=4)
    with store.session() as s:
        evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), START)
    return db_url


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["alerts", *args])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_lifecycle_through_the_cli(cli: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "list", "--json")
    assert code == 0
    (a,) = json.loads(out)["alerts"]
    aid = str(a["id"])
    assert (a["tier"], a["status"], a["team"]) == ("I", "open", "donghu-hubin")

    code, out, _ = _run(capsys, "show", aid, "--json")
    d = json.loads(out)
    assert d["title"] == "工地坍塌" and d["escalations"] == []
    assert [(n["kind"], n["status"]) for n in d["notifications"]] == [("open", "pending")]

    code, out, _ = _run(capsys, "ack", aid, "--by", "wang", "--json")
    assert code == 0 and json.loads(out)["alert"]["status"] == "acknowledged"
    code, out, err = _run(capsys, "ack", aid, "--by", "wang")
    assert code == 1 and "cannot acknowledge" in err
    code, out, _ = _run(
        capsys,
        "respond",
        aid,
        "--text",
        "已到场处置",
        "--channel",
        "onsite",
        "--by",
        "wang",
        "--json",
    )
    assert json.loads(out)["alert"]["status"] == "responded"
    code, out, _ = _run(capsys, "resolve", aid, "--by", "wang")
    assert code == 0 and out.strip() == f"#{aid} resolved"

    code, out, _ = _run(capsys, "show", aid)
    assert "wang reply 已到场处置" in out and "notify open" in out
    code, out, _ = _run(capsys, "list", "--status", "resolved", "--json")
    assert [x["id"] for x in json.loads(out)["alerts"]] == [int(aid)]


def test_silence_through_the_cli(cli: object, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "silence",
        "--area",
        "东湖街道",
        "--for",
        "2h",
        "--reason",
        "已现场处置",
        "--by",
        "li",
        "--json",
    )
    assert code == 0
    s = json.loads(out)["silence"]
    assert (s["area"], s["created_by"], s["reason"]) == ("东湖街道", "li", "已现场处置")
    code, out, _ = _run(capsys, "silences", "--json")
    assert [x["id"] for x in json.loads(out)["silences"]] == [s["id"]]
    code, _, err = _run(capsys, "silence", "--area", "火星", "--for", "2h", "--reason", "x")
    assert code == 2 and "unknown area" in err
    code, _, err = _run(capsys, "silence", "--rule", "spike", "--reason", "x")
    assert code == 2 and "--for" in err
    code, _, err = _run(capsys, "show", "999")
    assert code == 1 and "not found" in err
    code, out, _ = _run(capsys, "outbox", "--json")
    assert [n["kind"] for n in json.loads(out)["notifications"]] == ["open"]


def test_test_channel_dry_run_and_send(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: object,
    smtp: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, datetime

    from alerts_testkit import receivers_config

    receiver.now = lambda: datetime.now(UTC)  # type: ignore[attr-defined]  # the CLI's clock
    cfg = receivers_config(tmp_path / "cfg", receiver, smtp)  # type: ignore[arg-type]
    monkeypatch.setenv("YUQING_CONFIG", str(cfg))
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    code, out, _ = _run(capsys, "test-channel", "ding", "--json")
    req = json.loads(out)["request"]
    assert code == 0 and req["kind"] == "dingtalk" and set(req["params"]) == {"timestamp", "sign"}
    assert req["json"]["markdown"]["title"].startswith("【新告警】[I级 特别重大] 测试通知")
    assert receiver.hits == []  # type: ignore[attr-defined]  # a dry run sends nothing
    code, out, _ = _run(capsys, "test-channel", "ding", "--send")
    assert code == 0 and out.strip() == "sent via ding"
    assert receiver.rejected == [] and len(receiver.hits) == 1  # type: ignore[attr-defined]
    code, out, _ = _run(capsys, "test-channel", "mail", "--send")
    assert code == 0 and len(smtp.messages) == 1  # type: ignore[attr-defined]
    smtp.stop()  # type: ignore[attr-defined]
    code, _, err = _run(capsys, "test-channel", "mail", "--send")
    assert code == 1 and "delivery failed" in err
    code, _, err = _run(capsys, "test-channel", "nope")
    assert code == 2 and "unknown channel" in err


def test_list_lines_up_in_a_terminal_and_names_its_zone(
    cli: object,
    store: Store,
    config: AppConfig,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wcwidth import wcswidth

    monkeypatch.setenv("LANGUAGE", "zh_CN")  # the Chinese headers: two cells a character

    add_post(store, START, "河西村养殖场污水直排入河", severity=3, area="河西村")
    with store.session() as s:
        evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), START)
    code, out, _ = _run(capsys, "list", "--status", "all")
    assert code == 0
    head, header, *rows = out.splitlines()
    assert "Asia/Shanghai" in head and len(rows) == 2
    # each column starts at the same display cell on every line (Chinese is two cells wide)
    start = wcswidth(header[: header.index("时限")])
    for row in rows:
        deadline = row.split("  ")  # columns are separated by two spaces at least
        assert any(wcswidth(row[: row.index(c)]) == start for c in deadline if c[:2] == "20")
    code, out, _ = _run(capsys, "list", "--status", "all", "--limit", "1")
    assert "--limit" in out.splitlines()[0]  # says there may be more
