"""12345 hotline exports: CSV in three encodings, XLSX and JSONL, with dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from crawler.imports import read_export
from yuqing.contracts import CrawledPost, DeadLetter
from yuqing.settings import Source

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
TZ = "Asia/Shanghai"
HEADER = ["工单编号", "标题", "内容", "受理时间", "所属街道", "来电号码"]
ROWS = [
    ["20261120000101", "湖滨小区物业乱收费", "湖滨小区物业今年停车费涨价，联系电话13812345678。", "2026-11-19 09:30:00", "东湖街道", "13812345678"],
    ["20261120000102", "河西大道路灯不亮", "河西大道路灯坏了一个月，晚上很黑。", "2026/11/19 20:15", "河西镇", ""],
    ["20261120000103", "无内容工单", "", "2026-11-19 10:00", "城关街道", ""],
    ["20261120000104", "日期错误", "白塔乡中学门口积水。", "下周二左右", "白塔乡", ""],
]  # fmt: skip


def source(**fields: str) -> Source:
    return Source(name="hotline-12345", kind="file", area="云溪县", fields=fields)


def write_csv(path: Path, encoding: str, rows: list[list[str]] = ROWS) -> Path:
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def check(results: list[CrawledPost | DeadLetter]) -> tuple[list[CrawledPost], list[DeadLetter]]:
    posts = [r for r in results if isinstance(r, CrawledPost)]
    dead = [r for r in results if isinstance(r, DeadLetter)]
    assert len(posts) + len(dead) == len(ROWS)  # nothing lost
    assert [p.external_id for p in posts] == ["20261120000101", "20261120000102"]
    first = posts[0]
    assert first.title == "湖滨小区物业乱收费"
    assert "138****5678" in first.text and "13812345678" not in first.text
    assert first.published_at == datetime(2026, 11, 19, 1, 30, tzinfo=UTC)
    assert first.area == "东湖街道"
    assert first.source == "hotline-12345"
    assert "13812345678" not in json.dumps([str(p) for p in posts], ensure_ascii=False)
    assert posts[1].published_at == datetime(2026, 11, 19, 12, 15, tzinfo=UTC)
    reasons = sorted(d.reason for d in dead)
    assert "no text" in reasons[0] and "row 4" in reasons[0]
    assert "unreadable date" in reasons[1] and "row 5" in reasons[1]
    for d in dead:
        assert d.stage == "import" and d.source == "hotline-12345"
        assert str(d.payload["row_data"]["工单编号"]).startswith("2026112000010")
        assert "13812345678" not in json.dumps(d.payload, ensure_ascii=False)
    return posts, dead


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "export.csv", encoding)
    check(list(read_export(path, source(), TZ, now=NOW)))


def test_xlsx_with_real_dates_and_numeric_ids(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["12345热线工单导出"])  # a title row above the header is not data...
    ws.delete_rows(1)  # ...but keep this test about cells: header first
    ws.append(HEADER)
    for r in ROWS:
        row: list[object] = list(r)
        row[0] = int(r[0])  # spreadsheets turn ticket numbers into numbers
        if r[0].endswith("101"):
            row[3] = datetime(2026, 11, 19, 9, 30)
        ws.append(row)
    path = tmp_path / "export.xlsx"
    wb.save(path)
    check(list(read_export(path, source(), TZ, now=NOW)))


def test_jsonl_with_mapping_and_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps(
            dict(zip(["no", "subject", "body", "time", "street", "tel"], r, strict=True)),
            ensure_ascii=False,
        )
        for r in ROWS
    ]
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = source(external_id="no", title="subject", text="body", published_at="time", area="street")
    results = list(read_export(path, src, TZ, now=NOW))
    broken = [r for r in results if isinstance(r, DeadLetter) and "not a JSON object" in r.reason]
    assert len(broken) == 1 and "line 3" in broken[0].reason
    results.remove(broken[0])
    # the rest reads as in the other formats, rows counted as lines
    posts = [r for r in results if isinstance(r, CrawledPost)]
    assert [p.external_id for p in posts] == ["20261120000101", "20261120000102"]
    assert len(results) == len(ROWS)


def test_unknown_mapping_and_format_are_clear_errors(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", "utf-8")
    with pytest.raises(ValueError, match="'正文' .*not found"):
        list(read_export(path, source(text="正文"), TZ, now=NOW))
    with pytest.raises(ValueError, match="unknown fields"):
        list(read_export(path, source(colour="颜色"), TZ, now=NOW))
    other = tmp_path / "export.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(ValueError, match="unsupported export format"):
        list(read_export(other, source(), TZ, now=NOW))


def test_excel_serial_dates_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("内容,受理时间\n路灯坏了,46345.5\n\n,\n", encoding="utf-8")
    (post,) = list(read_export(path, source(), TZ, now=NOW))
    assert isinstance(post, CrawledPost)
    assert post.published_at == datetime(2026, 11, 19, 4, 0, tzinfo=UTC)  # noon in Shanghai
    assert post.title == "路灯坏了"  # no title column: the first line of the text
    assert post.area == "云溪县"  # no area column: the source's
