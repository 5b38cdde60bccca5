"""`yuqing import` readers (CSV, XLSX, JSONL) on hostile files, then into the store.

Every data row becomes a CrawledPost or a DeadLetter naming the row; only a file-level
problem (unknown format, no text column) is a ValueError; and whatever comes out can
be stored (SQLite, and PostgreSQL when configured: it refuses NUL characters).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crawler.imports import read_export
from store.db import Store
from store.posts import add_dead_letter, upsert_post
from tests.conftest import _pg_database
from yuqing.contracts import Classification, CrawledPost, DeadLetter
from yuqing.settings import Source

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SOURCE = Source(name="hotline", kind="file", area="云溪县")
CLS = Classification("环境保护", 0.9, 2, reasons=["fuzz"])
COLUMNS = ["工单编号", "标题", "内容", "受理时间", "所属街道", "链接", "办理结果", "备注"]

cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "   ",
            "东湖街道居民反映污水直排，电话13812345678",
            "2026年11月20日 10:05",
            "2026-13-45",
            "45678.5",
            "9" * 30,
            "http://example.com:99999/x",
            "http://[::1/x",
            "a\x00b",
            "=cmd|' /C calc'!A0",
            '"quoted, with comma"',
            "line\nbreak",
            "\ufeffbom",
        ]
    ),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6, unique=True))
    if draw(st.booleans()) and "内容" not in header:
        header.append("内容")
    rows = draw(
        st.lists(
            st.lists(cells, min_size=len(header), max_size=len(header) + draw(st.integers(0, 1))),
            max_size=6,
        )
    )
    return header, rows


def _write_csv(
    path: Path, header: list[str], rows: list[list[Any]], encoding: str, delim: str
) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim)
    w.writerow(header)
    for r in rows:
        w.writerow(["" if c is None else c for c in r])
    path.write_bytes(buf.getvalue().encode(encoding, errors="replace"))


def _write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in r])
    wb.save(path)


def _write_jsonl(path: Path, header: list[str], rows: list[list[Any]], broken: bool) -> None:
    lines = [
        json.dumps(dict(zip(header, r, strict=False)), ensure_ascii=bool(len(r) % 2)) for r in rows
    ]
    if broken:
        lines += [
            '{"内容": "unterminated',
            "[1, 2]",
            '"a string"',
            '{"内容": "\\ud800 lone surrogate"}',
        ]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path_factory.mktemp('imports') / 'store.db'}")
        yield s
        s.close()
        return
    for url in _pg_database():  # skips without YUQING_TEST_POSTGRES_URL
        s = Store(url)
        yield s
        s.close()


def import_and_store(path: Path, store: Store) -> list[CrawledPost | DeadLetter]:
    try:
        items = list(read_export(path, SOURCE, "Asia/Shanghai", now=NOW))
    except ValueError as exc:  # documented: a file-level problem, named
        assert path.name in str(exc)
        return []
    for item in items:
        assert isinstance(item, CrawledPost | DeadLetter), item
        with store.session() as s:
            if isinstance(item, CrawledPost):
                # as the Ingestor does: the unmasked part is stored apart, encrypted
                stored = dataclasses.replace(item, extra=dict(item.extra), raw=None)
                upsert_post(s, stored, CLS, NOW)
            else:
                assert "row" in item.reason or "line" in item.reason
                add_dead_letter(s, item, NOW)
    return items


_FUZZ = settings(
    max_examples=max(30, settings.default.max_examples // 2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_FUZZ
@example((["工单编号", "内容"], [["\x00", "内容"]]), "utf-8", ",")  # PostgreSQL refused the NUL
@given(
    tables(),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    st.sampled_from([",", "\t", ";"]),
)
def test_csv_rows_become_posts_or_dead_letters(
    store: Store,
    tmp_path: Path,
    table: tuple[list[str], list[list[Any]]],
    encoding: str,
    delim: str,
) -> None:
    header, rows = table
    path = tmp_path / "export.csv"
    _write_csv(path, header, rows, encoding, delim)
    import_and_store(path, store)


@_FUZZ
@given(tables())
def test_xlsx_rows_become_posts_or_dead_letters(
    store: Store, tmp_path: Path, table: tuple[list[str], list[list[Any]]]
) -> None:
    header, rows = table
    path = tmp_path / "export.xlsx"
    _write_xlsx(path, header, rows)
    items = import_and_store(path, store)

    # openpyxl writes "=..." as a formula with no cached value: it reads back empty
    def shows(c: Any) -> bool:
        text = ILLEGAL_CHARACTERS_RE.sub("", str(c)) if c is not None else ""
        return bool(text.strip()) and not text.startswith("=")

    data_rows = [r for r in rows if any(shows(c) for c in r)]
    if items or "内容" in header:
        assert len(items) == len(data_rows)  # nothing skipped silently


@_FUZZ
@given(tables(), st.booleans())
@example((["内容"], [["a\x00b"]]), False)
@example((["工单编号", "内容", "标题"], [["\ud800", "正文", "t"]]), False)  # a lone surrogate
def test_jsonl_lines_become_posts_or_dead_letters(
    store: Store, tmp_path: Path, table: tuple[list[str], list[list[Any]]], broken: bool
) -> None:
    header, rows = table
    path = tmp_path / "export.jsonl"
    _write_jsonl(path, header, rows, broken)
    items = import_and_store(path, store)
    if items:
        assert len(items) == len(rows) + (4 if broken else 0)


@_FUZZ
@given(st.binary(max_size=300), st.sampled_from([".csv", ".jsonl", ".xlsx", ".tsv"]))
@example(b"\x00\x00\xff\xfe", ".csv")
@example(b"PK\x03\x04garbage", ".xlsx")
def test_garbage_files_are_refused_or_read(
    store: Store, tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(data)
    try:
        import_and_store(path, store)
    except Exception as exc:
        pytest.fail(f"{suffix} file of {len(data)} bytes: {type(exc).__name__}: {exc}")


def test_a_huge_csv_field_is_a_dead_letter_not_a_crash(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    big = "很长" * 100_000  # past the csv module's 131072-character field limit
    path.write_text(f"标题,内容\n小标题,{big}\n正常,第二行内容\n", encoding="utf-8")
    items = import_and_store(path, store)
    assert len(items) == 2
    assert isinstance(items[-1], CrawledPost) and items[-1].text == "第二行内容"
