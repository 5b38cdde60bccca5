"""Bad input on the command line: one line naming the problem, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    for k in ("YUQING_DATABASE_URL", "YUQING_ES_URL", "YUQING_CONFIG"):
        monkeypatch.delenv(k, raising=False)


def _nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "var").exists()


def test_config_check_ok(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--config", str(config_dir), "config", "check"], capsys)
    assert code == 0 and out.startswith("ok: ")


def test_config_check_lists_every_problem(
    config_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (config_dir / "settings.yaml").write_text("index: {backend: solr}\nconsole: {port: -1}\n")
    (config_dir / "areas.yaml").write_text("areas: [\n")
    code, _, err = run(["--config", str(config_dir), "config", "check"], capsys)
    lines = err.strip().splitlines()
    assert code == 2
    assert any(line.startswith("settings.yaml: index.backend: ") for line in lines)
    assert any(line.startswith("settings.yaml: console.port: ") for line in lines)
    assert any(line.startswith("areas.yaml: line ") for line in lines)
    _nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["crawl", "no-such-source"], "unknown source 'no-such-source'"),
        (["crawl"], "give a SOURCE or --all"),
        (["search", "物业", "--since", "last tuesday"], "'last tuesday' is not a date"),
        (["search", "物业", "--severity", "V"], "unknown tier"),
        (["search", "物业", "--category", "外星人"], "unknown category"),
        (["import", "missing.csv", "--source", "demo-board"], "does not exist"),
        (["alerts", "list", "--team", "nobody"], "unknown team"),
    ],
)
def test_usage_errors(
    args: list[str],
    needle: str,
    config_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["--config", str(config_dir), *args], capsys)
    assert code == 2, err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert out == ""
    _nothing_written(tmp_path)


def test_broken_config_stops_every_command(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / "teams.yaml").write_text("triage_team: ghost\nteams: []\n")
    code, _, err = run(["--config", str(config_dir), "alerts", "list"], capsys)
    assert code == 2
    assert (
        err.startswith("yuqing alerts list: error: config: teams.yaml: ")
        and len(err.strip().splitlines()) == 1
    )
    _nothing_written(tmp_path)


def test_unreachable_store_is_one_line(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("YUQING_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run(["--config", str(config_dir), "alerts", "list"], capsys)
    assert code == 1 and "cannot reach the database" in err and len(err.strip().splitlines()) == 1


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["run", "--help"],
        ["crawl", "--help"],
        ["import", "--help"],
        ["search", "--help"],
        ["alerts", "list", "--help"],
        ["config", "check", "--help"],
    ):
        code, out, _ = run(args, capsys)
        assert code == 0 and "Usage: yuqing" in out


def test_crawl_line_with_a_shared_frontier_says_what_happened() -> None:
    from runtime.cli.crawl_cmd import stats_line

    seeded = stats_line({"source": "b", "ok": True, "error": None, "enqueued_round": 3})
    assert "round 3 seeded into the shared frontier" in seeded and "pages" not in seeded
    busy = stats_line({"source": "b", "ok": True, "error": None, "enqueued_round": None})
    assert "still in the shared frontier" in busy
