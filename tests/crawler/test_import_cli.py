"""`yuqing import`: CSV and XLSX 12345 exports with Chinese headers through a column
mapping; a re-import adds nothing; a missing column fails with its name, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import create_engine, func, select

from runtime.cli import main
from store.crawl_models import CrawlRun
from store.models import Post

REPO = Path(__file__).resolve().parents[2]
HEADER = ["工单号", "诉求标题", "诉求内容", "来电时间"]
ROWS = [
    ["GD001", "湖滨小区停车难", "湖滨小区车位太少，晚上回家没地方停车。", "2026-11-19 09:30"],
    ["GD002", "河西村自来水浑浊", "河西村自来水浑浊发黄已经三天。", "2026-11-19 10:15"],
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    with (config / "sources.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "  - name: hotline\n    kind: file\n    area: 云溪县\n"
            "    fields: {external_id: 工单号, title: 诉求标题, text: 诉求内容, published_at: 来电时间}\n"
        )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_CONFIG", str(config))
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    for k in ("YUQING_DATABASE_URL", "YUQING_ES_URL"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def posts(tmp: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp / 'var' / 'yuqing.db'}")
    with engine.connect() as c:
        n: int = c.scalar(select(func.count()).select_from(Post.__table__))
    engine.dispose()
    return n


def test_csv_and_xlsx_through_the_mapping(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = env / "12345.csv"
    csv.write_text("\n".join(",".join(r) for r in [HEADER, ROWS[0]]) + "\n", encoding="utf-8-sig")
    xlsx = env / "12345.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws.append(ROWS[1])
    wb.save(xlsx)

    # importing classifies: a model first (the demo one; init never trains it unasked)
    assert run(["init", "--demo"], capsys)[0] == 0
    code, out, err = run(["import", str(csv), "--source", "hotline", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["new"] == 1
    code, out, err = run(["import", str(xlsx), "--source", "hotline", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["new"] == 1
    # importing again adds nothing
    code, out, err = run(["import", str(csv), "--source", "hotline", "--json"], capsys)
    assert code == 0 and json.loads(out)["new"] == 0
    assert posts(env) == 2
    engine = create_engine(f"sqlite:///{env / 'var' / 'yuqing.db'}")
    with engine.connect() as c:
        runs = c.execute(
            select(CrawlRun.items, CrawlRun.new, CrawlRun.duplicate).order_by(CrawlRun.id)
        ).all()
    engine.dispose()
    assert [tuple(r) for r in runs] == [(1, 1, 0), (1, 1, 0), (1, 0, 1)]  # kept like crawls


def test_missing_column_fails_with_its_name(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = env / "bad.csv"
    bad.write_text("工单号,诉求标题,来电时间\nGD9,标题,2026-11-19 09:30\n", encoding="utf-8")
    code, out, err = run(["import", str(bad), "--source", "hotline"], capsys)
    assert code == 2
    assert "诉求内容" in err and err.count("\n") == 1
    assert not (env / "var").exists()  # nothing written


def test_import_refuses_a_source_that_is_not_a_file_source(env, capsys) -> None:  # type: ignore[no-untyped-def]
    csv = env.parent / "x.csv"
    csv.write_text("标题,内容\n停水,停水三天\n", encoding="utf-8")
    code, _out, err = run(["import", str(csv), "--source", "demo-board"], capsys)
    assert code == 2 and "not a file source" in err and "kind: file" in err
