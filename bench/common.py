"""Shared pieces of the benchmarks: the result row, timing, data, the table.

House rule: speed and memory are reported as ratios against a reference measured
in the same run on the same data, never as bare timings, and never asserted.
"""

from __future__ import annotations

import functools
import gc
import json
import platform
import re
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
HOT_ISSUES = SHARED_DATA / "gov-messages-unlabelled" / "hot-issues.jsonl"
LABELLED = SHARED_DATA / "gov-messages" / "train.jsonl"
TZ = ZoneInfo("Asia/Shanghai")

T = TypeVar("T")


@dataclass(slots=True)
class Row:
    """One line of the table. ``ours`` and ``reference`` are display strings (rates,
    scores); ``ratio`` is the number the figure is about, as defined in ``notes``."""

    figure: str
    ours: str
    reference: str
    ratio: float | None
    notes: str = ""
    better: str = ""  # which way the ratio should go; empty: from DIRECTIONS by figure


HIGHER, LOWER, NEAR_ONE, NONE = "↑ higher", "↓ lower", "≈ 1", "–"
# Which way each figure's ratio should go, by its name (first match wins). A figure that
# matches nothing shows "?" in the table and is named on stderr: give it a line here
# (or a Row.better) before its numbers go into the README.
DIRECTIONS: tuple[tuple[str, str], ...] = (
    (r"^demo |^alerts reaching teams|^duty desk reads|^second-look line|precision at recall", NONE),
    (r"read messages missed|false tier", LOWER),
    (r"^backfill", NEAR_ONE),  # memory at the end over memory early on: flat is 1
    (
        r"throughput, share|^ingest|crawl throughput|^decoding|^distributed crawl|index build",
        HIGHER,
    ),
    (r"accuracy|macro-F1|F1|AUC|nDCG|MRR|recall|precision|second reader|routing|placing", HIGHER),
    (r"throughput|one post at a time|memory|time|latency|re-upsert|^indexing|p95|console", LOWER),
)


def direction(row: Row) -> str:
    if row.better:
        return row.better
    for pattern, way in DIRECTIONS:
        if re.search(pattern, row.figure):
            return way
    say(f"no direction for {row.figure!r}: add it to bench.common.DIRECTIONS")
    return "?"


def say(msg: str) -> None:
    """Progress on stderr; the table alone goes to stdout."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ timing


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(
    fn: Callable[[T], Any], repeats: int, setup: Callable[[], T] | None = None
) -> float:
    """Median wall time of ``fn(setup())`` over ``repeats`` runs; ``setup`` is not timed."""
    times = []
    for _ in range(repeats):
        arg = setup() if setup is not None else None
        gc.collect()
        t0 = time.perf_counter()
        fn(arg)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_python_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated through Python's allocators while ``fn`` runs (tracemalloc;
    numpy buffers are included, SQLite's and jieba's C-level caches are not)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def rate(n: int, seconds: float, unit: str = "/s") -> str:
    r = n / seconds if seconds > 0 else float("inf")
    return f"{r:,.0f}{unit}" if r >= 100 else f"{r:,.1f}{unit}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"


# -------------------------------------------------------------------- data


@dataclass(slots=True)
class Message:
    """One resident message as the benchmarks use it."""

    id: str
    title: str
    body: str
    text: str  # title + "\n" + body, the classifier's input
    published_at: datetime | None  # aware UTC
    likes: int = 0


def shared_present() -> bool:
    return HOT_ISSUES.is_file() and LABELLED.is_file()


def data_note(real: str) -> str:
    return real if shared_present() else "demo corpus (../shared absent)"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _local_to_utc(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.astimezone(UTC)


@functools.lru_cache(maxsize=1)
def _all_messages() -> tuple[Message, ...]:
    if HOT_ISSUES.is_file():
        out = []
        for r in _read_jsonl(HOT_ISSUES):
            text = str(r.get("text") or "")
            title = str(r.get("title") or text.split("\n", 1)[0])
            body = str(r.get("body") or text)
            out.append(
                Message(
                    id=str(r["id"]),
                    title=title,
                    body=body,
                    text=text,
                    published_at=_local_to_utc(r.get("time")),
                    likes=int(r.get("likes") or 0),
                )
            )
        return tuple(out)
    from crawler.demo.corpus import demo_corpus

    now = datetime(2026, 1, 1, tzinfo=TZ)
    return tuple(
        Message(
            id=f"demo-{p.id}",
            title=p.title,
            body=p.body,
            text=f"{p.title}\n{p.body}",
            published_at=p.published_at.astimezone(UTC),
            likes=p.likes,
        )
        for p in demo_corpus(now)
    )


def messages(n: int) -> list[Message]:
    """``n`` messages: the real hot-issue messages, or the demo corpus cycled (ids made
    unique, each copy an hour earlier) when ../shared is absent or holds fewer."""
    base = list(_all_messages())
    out = base[:n]
    copy = 1
    while len(out) < n:
        for m in base[: n - len(out)]:
            out.append(
                Message(
                    id=f"{m.id}-{copy}",
                    title=m.title,
                    body=m.body,
                    text=m.text,
                    published_at=m.published_at and m.published_at - timedelta(hours=copy),
                    likes=m.likes,
                )
            )
        copy += 1
    return out


@functools.lru_cache(maxsize=1)
def labelled_rows() -> tuple[dict[str, Any], ...]:
    """Rows with ``text``, ``label`` and ``dup_group``: train.jsonl, or the demo corpus."""
    if LABELLED.is_file():
        rows = _read_jsonl(LABELLED)
        return tuple(
            {"text": r["text"], "label": r["label"], "dup_group": str(r.get("dup_group", r["id"]))}
            for r in rows
        )
    from crawler.demo.corpus import labelled_examples

    return tuple(
        {"text": e.text, "label": e.category, "dup_group": str(e.id)} for e in labelled_examples()
    )


# ----------------------------------------------------------- app pieces


@functools.lru_cache(maxsize=1)
def config() -> Any:
    from yuqing.settings import load_config

    return load_config(ROOT / "config", {})


def config_for(
    var_dir: Path, database_url: str | None = None, env: dict[str, str] | None = None
) -> Any:
    """The shipped config on ``var_dir``, as ``yuqing`` would load it with these
    environment variables (e.g. ``YUQING_OPENSEARCH_URL`` for a cluster index)."""
    from yuqing.settings import load_config

    full = {"YUQING_VAR_DIR": str(var_dir), **(env or {})}
    if database_url:
        full["YUQING_DATABASE_URL"] = database_url
    return load_config(ROOT / "config", full)


@functools.lru_cache(maxsize=1)
def bench_model() -> Any:
    """The category model trained (once per run) on all labelled rows."""
    from classifier.datafile import examples_from_rows
    from classifier.training import train

    rows = labelled_rows()
    say(f"training the benchmark model on {len(rows)} labelled messages")
    model = train(examples_from_rows(rows), config().taxonomy)
    model.tokenizer.fit()
    return model


def install_model(model_dir: Path) -> None:
    """Make the benchmark model the active one in ``model_dir`` (so App loads it)."""
    from classifier.bootstrap import save_version, set_active

    model = bench_model()
    save_version(model, model_dir)
    set_active(model_dir, model.version)


# ------------------------------------------------------------------ output


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "–"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def table(rows: Sequence[Row]) -> str:
    head = ["figure", "ours", "reference", "ratio", "better", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        way = direction(r) if r.ratio is not None else NONE
        cells = [r.figure, r.ours, r.reference, fmt_ratio(r.ratio), way, r.notes]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    cores = os.cpu_count() or 0
    py = platform.python_version()
    return f"{cpu}, {cores} cores, Python {py}, {platform.system()}"


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews even ratios."""
    import os

    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def today() -> str:
    return datetime.now(TZ).date().isoformat()
