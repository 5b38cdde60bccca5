"""Reading labelled and unlabelled posts from JSONL or CSV files for the CLI.

Every problem is a :class:`DataError` with one line naming the file, the row and
the field, so ``yuqing classifier`` can print it and exit with status 2.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.features import MAX_TEXT_CHARS
from yuqing.contracts import LabelledText, parse_tier


class DataError(ValueError):
    """An input file that cannot be used as asked."""


@dataclass(slots=True)
class Dataset:
    rows: list[dict[str, Any]]
    columns: list[str]
    path: Path


def read_rows(path: Path) -> Dataset:
    """Rows of a ``.jsonl``/``.json`` (one object per line) or ``.csv`` file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"没有这个文件：{path} / {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = list(_read_csv(path))
        elif suffix in (".jsonl", ".json", ".ndjson"):
            rows = list(_read_jsonl(path))
        else:
            raise DataError(
                f"{path}：不支持 {suffix!r} 文件（请用 .jsonl 或 .csv）/ "
                f"{path}: unknown file type {suffix!r} (use .jsonl or .csv)"
            )
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}：不是 UTF-8 编码的文本（第 {exc.start} 字节处）/ "
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except csv.Error as exc:
        raise DataError(
            f"{path}：无法按 CSV 读取 / {path}: not a readable CSV file: {exc}"
        ) from None
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    return Dataset(rows, list(columns), path)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path} 第 {n} 行：不是 JSON / {path}:{n}: not JSON: {exc.msg}"
                ) from None
            if not isinstance(obj, dict):
                got = type(obj).__name__
                raise DataError(
                    f"{path} 第 {n} 行：应为 JSON 对象，实际是 {got} / "
                    f"{path}:{n}: expected a JSON object, got {got}"
                )
            yield obj


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(16 * 2**20)
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            raise DataError(
                f"{path}：CSV 文件是空的（没有表头行）/ {path}: empty CSV file (no header row)"
            )
        for row in reader:
            yield {k: v for k, v in row.items() if k is not None}


def _require(ds: Dataset, field: str, option: str) -> None:
    if field not in ds.columns:
        cols = [repr(c) for c in ds.columns[:12]]
        raise DataError(
            f"{ds.path}：没有 {field!r} 列（{option}），现有的列：{'、'.join(cols) or '无'} / "
            f"{ds.path}: no column {field!r} ({option}); columns: "
            + (", ".join(ds.columns[:12]) or "none")
        )


def text_of(row: dict[str, Any], text_field: str, title_field: str | None = None) -> str:
    text = row.get(text_field)
    text = "" if text is None else str(text)
    if title_field and row.get(title_field):
        title = str(row[title_field]).strip()
        if title and not text.startswith(title):
            text = f"{title}\n{text}"
    return text


@dataclass(slots=True)
class LabelledSet:
    examples: list[LabelledText]
    skipped_empty: int
    skipped_unlabelled: int
    groups: list[str] | None

    def summary(self) -> str:
        counts = Counter(e.category for e in self.examples if e.category)
        parts = [f"{len(self.examples)} examples", f"{len(counts)} classes"]
        if self.skipped_empty:
            parts.append(f"{self.skipped_empty} empty texts skipped")
        if self.skipped_unlabelled:
            parts.append(f"{self.skipped_unlabelled} unlabelled rows skipped")
        return ", ".join(parts)


def labelled(
    ds: Dataset,
    *,
    text_field: str = "text",
    label_field: str = "category",
    severity_field: str | None = "severity",
    group_field: str | None = None,
    min_classes: int = 2,
) -> LabelledSet:
    """Examples with a non-empty text and a label (category and/or severity).

    Rows with an empty text or no label at all are skipped and counted; a file
    left with fewer than ``min_classes`` categories is a DataError.
    """
    _require(ds, text_field, "--text-field")
    has_sev = severity_field is not None and severity_field in ds.columns
    if label_field not in ds.columns and not has_sev:
        _require(ds, label_field, "--label-field")
    if group_field:
        _require(ds, group_field, "--group-field")
    out: list[LabelledText] = []
    groups: list[str] = []
    empty = unlabelled = 0
    for n, r in enumerate(ds.rows, start=1):
        # Training texts are cut like served ones (classifier.features.MAX_TEXT_CHARS).
        text = text_of(r, text_field)[:MAX_TEXT_CHARS]
        if not text.strip():
            empty += 1
            continue
        raw_label = r.get(label_field)
        label = str(raw_label).strip() if raw_label not in (None, "") else None
        severity = None
        if has_sev and r.get(severity_field) not in (None, ""):
            try:
                severity = parse_tier(str(r[severity_field]))
            except ValueError as exc:
                raise DataError(
                    f"{ds.path} 第 {n} 行 {severity_field}：{r[severity_field]!r} 不是等级"
                    "（可写 I、II、III、IV 或 1-4）/ "
                    f"{ds.path}: row {n}: {severity_field}: {exc}"
                ) from None
        if label is None and severity is None:
            unlabelled += 1
            continue
        rid = r.get("id")
        out.append(
            LabelledText(
                text=text,
                category=label,
                severity=severity,
                id=None if rid is None else str(rid),
            )
        )
        groups.append(str(r.get(group_field) or rid or n) if group_field else str(n))
    classes = Counter(e.category for e in out if e.category)
    if label_field in ds.columns and len(classes) < min_classes:
        if not classes:
            raise DataError(
                f"{ds.path}：{label_field!r} 列没有一行有标注 / "
                f"{ds.path}: no row has a label in {label_field!r}"
            )
        raise DataError(
            f"{ds.path}：{label_field!r} 列只有一个类别（{'、'.join(map(repr, classes))}），"
            f"分类器至少需要 {min_classes} 个 / "
            f"{ds.path}: only one class ({', '.join(map(repr, classes))}) in {label_field!r}; "
            f"a classifier needs at least {min_classes}"
        )
    return LabelledSet(out, empty, unlabelled, groups if group_field else None)


def unlabelled_texts(
    ds: Dataset, *, text_field: str = "text", id_field: str = "id"
) -> tuple[list[str], list[str], list[int], list[int]]:
    """ids, texts, likes and replies of every row (empty texts kept: they get an outcome)."""
    _require(ds, text_field, "--text-field")
    ids, texts, likes, replies = [], [], [], []
    for n, r in enumerate(ds.rows, start=1):
        ids.append(str(r.get(id_field) if r.get(id_field) is not None else n))
        texts.append(text_of(r, text_field))
        likes.append(_int(r.get("likes")))
        replies.append(_int(r.get("replies")))
    return ids, texts, likes, replies


def _int(v: Any) -> int:
    try:
        return max(0, int(float(v)))
    except (TypeError, ValueError):
        return 0


def labels_in(examples: Sequence[LabelledText]) -> list[str]:
    return sorted({e.category for e in examples if e.category})


def examples_from_rows(
    rows: Iterable[dict[str, Any]], *, text: str = "text", label: str = "label"
) -> list[LabelledText]:
    """LabelledText from dict rows (e.g. JSON lines): ``text`` and ``label`` field names."""
    out = []
    for r in rows:
        sev = r.get("severity")
        out.append(
            LabelledText(
                text=str(r[text]),
                category=r.get(label) or None,
                severity=int(sev) if sev is not None else None,
                id=str(r["id"]) if r.get("id") is not None else None,
            )
        )
    return out
