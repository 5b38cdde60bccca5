"""File imports of 12345 hotline exports: CSV (UTF-8, UTF-8 with BOM, GBK), XLSX, JSONL.

Rows go through the same normalisation and masking as crawled posts. A row
without text or with an unreadable date becomes a DeadLetter naming the file,
the row and the problem; nothing is skipped silently.
"""

from __future__ import annotations

import codecs
import csv
import json
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from crawler.items import RawPost, dead_letter, to_crawled_post
from yuqing.contracts import CrawledPost, DeadLetter
from yuqing.settings import Source

# our field -> the column names 12345 systems commonly use, tried in order when
# source.fields does not name one
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "编号", "id", "ID"),
    "title": ("标题", "诉求标题", "主题", "title"),
    "text": ("内容", "诉求内容", "来电内容", "问题描述", "text", "content", "body"),
    "published_at": (
        "受理时间",
        "来电时间",
        "登记时间",
        "创建时间",
        "时间",
        "published_at",
        "date",
    ),
    "area": ("所属街道", "所属区域", "属地", "区域", "area"),
    "url": ("链接", "url"),
    "reply": ("办理结果", "答复内容", "回复内容", "reply"),
    "reply_at": ("办结时间", "答复时间", "回复时间", "reply_at"),
}
FIELDS = tuple(DEFAULT_COLUMNS) + (
    "author",
)  # author only when mapped: callers' names are personal
_SNIFF_BYTES = 1 << 20


def read_export(
    path: Path, source: Source, tz: str, *, now: datetime | None = None
) -> Iterator[CrawledPost | DeadLetter]:
    """Yield one CrawledPost or DeadLetter per data row of ``path``.

    The format follows the suffix (.csv/.tsv, .xlsx/.xlsm, .jsonl/.ndjson).
    ``source.fields`` maps our field names (title, text, published_at,
    external_id, area, author, url, reply, reply_at) to the file's columns.
    Raises ValueError for an unknown format or a mapped column the file lacks.
    """
    path = Path(path)
    now = now or datetime.now(UTC)
    unknown = set(source.fields) - set(FIELDS)
    if unknown:
        raise ValueError(
            f"来源 {source.name!r} 的 fields 中有不认识的字段 {sorted(unknown)}"
            f"（可用：{'、'.join(FIELDS)}）/ "
            f"source {source.name!r}: unknown fields {sorted(unknown)} (known: {', '.join(FIELDS)})"
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        rows = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise ValueError(
            f"{path.name}：不支持 {suffix!r} 格式（请用 csv、xlsx 或 jsonl）/ "
            f"{path.name}: unsupported export format {suffix!r} (csv, xlsx or jsonl)"
        )

    columns: dict[str, str] | None = None
    for number, row, problem in rows:
        base = RawPost(
            source=source.name,
            url=None,
            title="",
            body="",
            area=source.area,
            extra={"file": path.name, "row": number},
        )
        if problem:
            yield dead_letter("import", base, problem, row_data=_plain(row))
            continue
        if columns is None:
            columns = _resolve_columns(row.keys(), source, path)
        yield _row_to_post(row, columns, base, now, tz)


def _resolve_columns(header: Any, source: Source, path: Path) -> dict[str, str]:
    present = [str(h) for h in header]
    columns: dict[str, str] = {}
    for field, column in source.fields.items():
        if column not in present:
            raise ValueError(
                f"{path.name}：找不到 {column!r} 列（对应 {field}），现有的列：{present} / "
                f"{path.name}: column {column!r} (for {field}) not found; columns are {present}"
            )
        columns[field] = column
    for field, candidates in DEFAULT_COLUMNS.items():
        if field not in columns:
            found = next((c for c in candidates if c in present), None)
            if found:
                columns[field] = found
    if "text" not in columns:
        raise ValueError(
            f"{path.name}：没有正文列，请在 sources.yaml 中用 fields: {{text: 列名}} 指定"
            f"（现有的列：{present}）/ "
            f"{path.name}: no text column; map one with fields: {{text: 列名}} (columns are {present})"
        )
    return columns


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 工单编号 read as a number by a spreadsheet
    return str(value).strip()


def _row_to_post(
    row: Mapping[str, Any], columns: dict[str, str], base: RawPost, now: datetime, tz: str
) -> CrawledPost | DeadLetter:
    get = {field: _cell(row.get(column)) for field, column in columns.items()}
    published = _excel_serial(get.get("published_at"))
    raw = RawPost(
        source=base.source,
        url=get.get("url") or None,
        title=get.get("title") or "",
        body=get.get("text") or "",
        external_id=get.get("external_id") or None,
        author=get.get("author") or None,
        time=published,
        reply=get.get("reply") or None,
        reply_time=_excel_serial(get.get("reply_at")),
        area=get.get("area") or base.area,
        extra=dict(base.extra),
    )
    if not str(raw.body).strip():
        return dead_letter(
            "import",
            raw,
            f"row {base.extra['row']}: no text in column {columns['text']!r}",
            row_data=_plain(row),
        )
    result = to_crawled_post(raw, now, tz, strict_dates=True, stage="import")
    if isinstance(result, DeadLetter):
        row_no = base.extra["row"]
        return dead_letter("import", raw, f"row {row_no}: {result.reason}", row_data=_plain(row))
    return result


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v.isoformat() if isinstance(v, datetime | date) else v for k, v in row.items()}


def _excel_serial(value: Any) -> Any:
    """A spreadsheet date stored as a bare number (45678.5) -> datetime."""
    if isinstance(value, str):
        try:
            serial = float(value)
        except ValueError:
            return value
        if 20000 < serial < 80000:  # 1954..2119: a day count, not a year or an epoch
            from openpyxl.utils.datetime import from_excel

            return from_excel(serial)
    return value


# --------------------------------------------------------------------- readers
# Each yields (row number as a person counts it, row mapping, problem or None).

Row = tuple[int, dict[str, Any], str | None]


def _sniff_text_encoding(path: Path) -> str:
    head = path.open("rb").read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding if best else "gb18030"


def _csv_rows(path: Path) -> Iterator[Row]:
    encoding = _sniff_text_encoding(path)
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        sample = fh.read(64 * 1024)
        fh.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(fh, dialect=dialect)
        last = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a cell past the csv module's field limit
                last += 1
                yield last, {}, f"row {last}: unreadable CSV ({exc})"
                continue
            number = last = reader.line_num
            extra = row.pop(None, None)
            if not any((v or "").strip() for v in row.values()) and not extra:
                continue  # blank line
            problem = f"row {number}: {len(extra)} more cells than the header" if extra else None
            yield number, {k: v for k, v in row.items()}, problem


def _xlsx_rows(path: Path) -> Iterator[Row]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise ValueError(
            f"{path.name}：无法按 XLSX 工作簿读取 / {path.name}: not a readable XLSX workbook ({exc})"
        ) from None
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            if header is None:
                header = [
                    str(v).strip() if v is not None else f"列{i + 1}" for i, v in enumerate(values)
                ]
                continue
            yield number, dict(zip(header, values, strict=False)), None
    finally:
        wb.close()


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line.decode("utf-8-sig" if number == 1 else "utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                text = line.decode("utf-8", errors="replace")[:2000]
                yield number, {"line": text}, f"line {number}: not a JSON object ({exc})"
                continue
            if not isinstance(obj, dict):
                yield number, {"line": str(obj)[:2000]}, f"line {number}: not a JSON object"
                continue
            yield number, obj, None
