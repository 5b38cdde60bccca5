"""Search input shared by the search page and the JSON API, and result exports.

``router`` serves ``/search/export.csv`` and ``/search/export.xlsx``: every hit
of a query (up to :data:`EXPORT_CAP`), masked text only, for an analyst's
weekly brief. The console includes it behind the same access rule as search.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from console.host import Host
from index.base import BackendError, QueryError, SearchHit, SearchQuery, SearchResult
from yuqing.contracts import parse_tier, tier_name
from yuqing.privacy import mask_personal_data

MAX_OFFSET = 100_000
EXPORT_CAP = 50_000
EXPORT_PAGE = 500  # index.query.MAX_LIMIT


class SearchUnavailable(RuntimeError):
    """The index cannot answer right now (HTTP 503); the message says why."""


@dataclass(slots=True)
class SearchParams:
    q: str = ""
    category: str | None = None
    severity: int | None = None
    severity_min: int | None = None
    area: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0
    histogram: Literal["day", "week"] | None = "day"
    facets: bool = True
    sort: Literal["relevance", "newest"] = "relevance"
    expand: bool = True  # also the synonyms of config/synonyms.yaml
    recall: bool = False  # any one word matches, newest first


def flag(value: str | None) -> bool:
    """A page's checkbox or link flag: "1", "on", "true", "yes" -> True."""
    return (value or "").strip().lower() in ("1", "on", "true", "yes")


def parse_severity(value: str | None, name: str = "severity") -> int | None:
    """'I'..'IV', '1'..'4', 'red' or '特别重大' -> 1..4; empty -> None."""
    if value is None or not value.strip():
        return None
    try:
        return parse_tier(value)
    except ValueError as exc:
        raise QueryError(
            f"{name}: 没有等级 {value!r}，可用 I、II、III、IV 或 1-4 / {name}: {exc}"
        ) from None


def parse_when(value: str | None, name: str = "since") -> datetime | None:
    """YYYY-MM-DD or ISO 8601; naive values are local time (the backend's zone)."""
    if value is None or not value.strip():
        return None
    v = value.strip().replace("/", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v):
            y, m, d = (int(x) for x in v.split("-"))
            return datetime(y, m, d)
        return datetime.fromisoformat(v)
    except ValueError:
        raise QueryError(
            f"{name}: {value!r} 不是日期，请写成 YYYY-MM-DD / {name}: {value!r} is not a date; use YYYY-MM-DD"
        ) from None


def empty_filter(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def run_search(app: Host, p: SearchParams) -> SearchResult:
    """Raises QueryError for bad input, SearchUnavailable when the index cannot answer."""
    if p.offset > MAX_OFFSET:
        raise QueryError(
            f"翻页太深，最多到第 {MAX_OFFSET} 条，请缩小检索范围 / "
            f"offset is too large; the limit is {MAX_OFFSET}"
        )
    q = SearchQuery(
        text=p.q,
        category=p.category,
        severity=p.severity,
        severity_min=p.severity_min,
        area=p.area,
        source=p.source,
        since=p.since,
        until=p.until,
        limit=p.limit,
        offset=p.offset,
        histogram=p.histogram,
        facets=p.facets,
        sort=p.sort,
        expand=p.expand,
        recall=p.recall,
    )
    try:
        backend = app.index
    except (ImportError, BackendError, OSError) as exc:
        raise SearchUnavailable(f"检索服务暂不可用：{exc}") from exc
    try:
        return backend.search(q)
    except BackendError as exc:
        raise SearchUnavailable(f"检索服务暂不可用：{exc}") from exc


# -- exports ---------------------------------------------------------------------

EXPORT_COLUMNS = ("编号", "发布时间", "标题", "正文", "类别", "级别", "属地", "来源", "链接")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iter_export_hits(app: Host, p: SearchParams, cap: int = EXPORT_CAP) -> Iterator[SearchHit]:
    """Every hit of the query, newest first, up to ``cap``, page by page."""
    done = 0
    while done < cap:
        page = replace(
            p, limit=min(EXPORT_PAGE, cap - done), offset=done,
            histogram=None, facets=False, sort="newest",
        )  # fmt: skip
        hits = run_search(app, page).hits
        yield from hits
        done += len(hits)
        if len(hits) < page.limit:
            return


def export_row(h: SearchHit, tz: ZoneInfo) -> list[str | int]:
    """One spreadsheet row; text masked again (the index holds masked text already)."""
    when = h.published_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if h.published_at else ""
    tier = tier_name(h.severity) if h.severity in (1, 2, 3, 4) else ""
    return [
        h.id,
        when,
        mask_personal_data(h.title),
        mask_personal_data(h.text),
        h.category or "",
        tier,
        h.area or "",
        h.source,
        h.url or "",
    ]


def _defuse(value: str | int) -> str | int:
    """Spreadsheets run cells that start like a formula (CSV injection); make them text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_csv(app: Host, p: SearchParams, cap: int = EXPORT_CAP) -> Iterator[str]:
    """CSV in UTF-8 with a BOM, so Excel opens the Chinese text correctly."""
    tz = ZoneInfo(app.config.settings.timezone)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    for h in iter_export_hits(app, p, cap):
        buf.seek(0)
        buf.truncate()
        out.writerow([_defuse(v) for v in export_row(h, tz)])
        yield buf.getvalue()


def export_xlsx(app: Host, p: SearchParams, cap: int = EXPORT_CAP) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    tz = ZoneInfo(app.config.settings.timezone)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("检索结果")
    for col, width in zip("ABCDEFGHI", (10, 17, 40, 80, 14, 6, 14, 14, 40), strict=True):
        ws.column_dimensions[col].width = width
    bold = Font(bold=True)
    header = []
    for name in EXPORT_COLUMNS:
        c = WriteOnlyCell(ws, value=name)
        c.font = bold
        header.append(c)
    ws.append(header)
    for h in iter_export_hits(app, p, cap):
        row = []
        for v in export_row(h, tz):
            c = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                c.data_type = "s"  # never a formula, whatever the text starts with
            row.append(c)
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_params(
    q: str = "",
    category: str = "",
    tier: str = "",
    area: str = "",
    source: str = "",
    since: str = "",
    until: str = "",
    noexpand: str = "",
    recall: str = "",
) -> SearchParams:
    """The search page's parameters; raises QueryError for bad input."""
    return SearchParams(
        q=q[:2000],
        category=empty_filter(category),
        severity=parse_severity(tier, "tier"),
        area=empty_filter(area),
        source=empty_filter(source),
        since=parse_when(since),
        until=parse_when(until, "until"),
        expand=not flag(noexpand),
        recall=flag(recall),
    )


def _export_app(request: Request) -> Host:
    app: Host = request.app.state.yuqing
    return app


def _checked(app: Host, p: SearchParams) -> None:
    """Fail before streaming starts: a bad query is a 400, a dead index a 503."""
    try:
        run_search(app, replace(p, limit=1, histogram=None, facets=False))
    except QueryError as exc:
        raise HTTPException(400, f"查询有误：{exc}") from None
    except SearchUnavailable as exc:
        raise HTTPException(503, str(exc)) from None


def _filename(app: Host, ext: str) -> str:
    stamp = app.now().astimezone(ZoneInfo(app.config.settings.timezone)).strftime("%Y%m%d-%H%M")
    return f"yuqing-search-{stamp}.{ext}"


router = APIRouter(include_in_schema=False)
Yuqing = Annotated[Host, Depends(_export_app)]


@router.get("/search/export.csv")
def search_export_csv(yq: Yuqing, request: Request) -> StreamingResponse:
    p = _parse(request)
    _checked(yq, p)
    return StreamingResponse(
        export_csv(yq, p),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(yq, "csv")}"'},
    )


@router.get("/search/export.xlsx")
def search_export_xlsx(yq: Yuqing, request: Request) -> Response:
    p = _parse(request)
    _checked(yq, p)
    try:
        body = export_xlsx(yq, p)
    except (QueryError, SearchUnavailable) as exc:
        raise HTTPException(503, str(exc)) from None
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(yq, "xlsx")}"'},
    )


def _parse(request: Request) -> SearchParams:
    qp = request.query_params
    try:
        return export_params(
            **{
                k: qp.get(k, "")
                for k in (
                    "q",
                    "category",
                    "tier",
                    "area",
                    "source",
                    "since",
                    "until",
                    "noexpand",
                    "recall",
                )  # fmt: skip
            }
        )
    except QueryError as exc:
        raise HTTPException(400, f"查询有误：{exc}") from None
