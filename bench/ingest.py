"""Ingest throughput against the classifier alone, on the same texts, in the same run.

``Ingestor.accept_many`` places, classifies and stores a batch in one transaction (bulk
upserts of the posts, their sightings, events and sketches, the index outbox and the
encrypted raw text). Its reference is ``classify_many`` on the same posts in the same
batches: the ratio says how much of the classifier's own speed survives storing.

- warm: one process that has classified the texts before (jieba's and the model's
  per-token caches hot, as when a crawl re-reads pages it has seen);
- cold: each timing in a fresh process that has never seen the texts (the model and
  jieba's dictionary loaded, and one unrelated text classified, before the clock starts).

A backfill row moves ``YUQING_BENCH_BACKFILL_POSTS`` posts (10,000 by default; a city's
million is ``YUQING_BENCH_BACKFILL_POSTS=1000000``, about an hour) through storing and
indexing, with the process's memory read along the way.

``YUQING_BENCH_POSTGRES_URL`` (an empty database the benchmark may fill and empty) puts
the backfill on PostgreSQL and adds the warm figure there.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Message,
    Row,
    bench_model,
    config_for,
    data_note,
    install_model,
    messages,
    say,
)

BATCH = 64  # `yuqing import` hands the sink 64 posts at a time (the crawler 16: sink_batch)
PG_ENV = "YUQING_BENCH_POSTGRES_URL"


def crawled(msgs: list[Message]) -> list[Any]:
    from yuqing.contracts import CrawledPost

    return [
        CrawledPost(
            source="bench-import",
            title=m.title,
            text=m.body,
            url=f"https://bench.invalid/msg/{m.id}",
            external_id=m.id,
            published_at=m.published_at,
            likes=m.likes,
        )
        for m in msgs
    ]


def _batches(posts: list[Any], size: int) -> list[list[Any]]:
    return [posts[i : i + size] for i in range(0, len(posts), size)]


def _classify(model: Any, posts: list[Any], size: int) -> None:
    for b in _batches(posts, size):
        model.classify_many(
            [p.title for p in b],
            [p.text for p in b],
            likes=[p.likes for p in b],
            replies=[p.replies for p in b],
        )


def _ingestor(var_dir: Path, db_url: str, env: dict[str, str] | None = None) -> Any:
    """An Ingestor on a migrated store with its model, gazetteer and keys loaded."""
    from runtime.app import App
    from runtime.ingest import Ingestor

    app = App(config_for(var_dir, db_url, env))
    ing = Ingestor(app)  # loads the active model
    app.store  # noqa: B018
    app.gazetteer  # noqa: B018
    app.privacy  # noqa: B018
    ing.model.classify("预热", "预热")  # jieba's dictionary, once per process
    return ing


def _ingest(ing: Any, posts: list[Any], size: int) -> None:
    for b in _batches(posts, size):
        ing.accept_many(b)


_WARM_UP = Message(
    id="bench-warm-up",
    title="预热：这条留言只为载入代码",
    body="东湖街道某小区门口的路灯坏了一个星期，晚上出行不便，请尽快维修。",
    text="",
    published_at=None,
)


def _clock(fn: Any, *args: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``fn(*args)``, after a collection."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w0, time.process_time() - c0


def child(mode: str, var_dir: str, n: int, size: int) -> None:
    """One cold timing, printed as JSON: this process has not seen the texts."""
    var = Path(var_dir)
    ing = _ingestor(var, f"sqlite:///{var / f'cold-{time.monotonic_ns()}.db'}")
    # Both modes load the same code before the clock starts (the first batch would
    # otherwise pay for imports and compiled statements): one unrelated post stored.
    ing.accept_many(crawled([_WARM_UP]))
    ing.new = 0
    posts = crawled(messages(n))
    if mode == "classify":
        wall, cpu = _clock(_classify, ing.model, posts, size)
    else:
        wall, cpu = _clock(_ingest, ing, posts, size)
    print(json.dumps({"wall": wall, "cpu": cpu, "new": ing.new}))
    ing.close()


def _cold(var: Path, mode: str, n: int, size: int) -> tuple[float, float, int]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.ingest", mode, str(var), str(n), str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return float(got["wall"]), float(got["cpu"]), int(got["new"])


Times = tuple[float, float]  # median (wall, CPU) seconds


def _median(runs: list[tuple[float, float]]) -> Times:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _warm(var: Path, db_url: str, posts: list[Any], size: int, repeats: int) -> tuple[Times, Times]:
    """(classify_many, ingest) times in this process after a first pass, alternated."""
    pg = db_url.startswith("postgresql")
    stores: list[Any] = []

    def fresh() -> Any:
        if stores and pg:
            _empty_postgres(stores[-1])
        url = db_url if pg else f"sqlite:///{var / f'warm-{time.monotonic_ns()}.db'}"
        stores.append(_ingestor(var, url))
        return stores[-1]

    model = fresh().model
    _classify(model, posts, size)  # the texts seen once: caches warm
    cls_runs, ing_runs = [], []
    for _ in range(repeats):
        cls_runs.append(_clock(_classify, model, posts, size))
        ing = fresh()
        ing_runs.append(_clock(_ingest, ing, posts, size))
        assert ing.new == len(posts), f"expected {len(posts)} new posts, got {ing.new}"
    if pg:
        _empty_postgres(stores[-1])
    for s in stores:
        s.close()
    return _median(cls_runs), _median(ing_runs)


def _empty_postgres(ing: Any) -> None:
    from sqlalchemy import text

    from store.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with ing.app.store.engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _row(figure: str, n: int, cls: Times, ing: Times, notes: str, on_cpu: bool = True) -> Row:
    """Rates in wall-clock posts/s; the ratio on CPU seconds where the whole work is this
    process's (SQLite): other processes on a busy machine then do not move it."""
    k = 1 if on_cpu else 0
    basis = "CPU seconds" if on_cpu else "wall clock (the server's work is not ours to count)"
    return Row(
        figure,
        f"{n / ing[0]:,.0f} posts/s",
        f"{n / cls[0]:,.0f} posts/s (classify_many)",
        cls[k] / ing[k],
        "ratio = ingest rate ÷ classify_many rate on the same posts in the same batches, "
        f"higher is better (goal ≥ 0.7), on {basis}; wall-clock ratio "
        f"{cls[0] / ing[0]:.2f}; {notes}",
    )


def _rss_mib() -> float:
    """This process's resident set (Linux /proc), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def backfill(var: Path, db_url: str | None, n: int, search_url: str | None = None) -> Row:
    """``n`` posts through the pipeline as ``yuqing import`` and ``yuqing run`` move them:
    batches of 64 stored, the index outbox drained after every 16 batches (about 1,000
    posts, as the scheduler's tick would) into the index, until all are searchable: the
    OpenSearch backend on ``search_url`` (set as YUQING_OPENSEARCH_URL, the deployment's
    path), else the embedded one. Memory is read after each tenth: flat means the backlog
    and caches do not grow with n."""
    from sqlalchemy import func, select

    from runtime.jobs import drain_index
    from store.models import IndexOutbox

    var.mkdir(parents=True, exist_ok=True)
    install_model(var / "models")
    url = db_url or f"sqlite:///{var / 'backfill.db'}"
    ing = _ingestor(var, url, {"YUQING_OPENSEARCH_URL": search_url} if search_url else None)
    app = ing.app
    app.index  # noqa: B018 (opened before the clock starts)
    posts = crawled(messages(n))
    batches = _batches(posts, BATCH)
    tenth = max(1, len(batches) // 10)
    rss: list[float] = []
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    for i, b in enumerate(batches, 1):
        ing.accept_many(b)
        if i % 16 == 0:
            drain_index(app)
        if i % tenth == 0:
            rss.append(_rss_mib())
    while drain_index(app).indexed:
        pass
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    with app.store.session() as s:
        backlog = s.scalar(select(func.count()).select_from(IndexOutbox))
    found = app.index.count()
    assert ing.new == n and backlog == 0 and found == n, (ing.new, backlog, found)
    if db_url:
        _empty_postgres(ing)
    ing.close()
    store = "PostgreSQL" if db_url else "SQLite"
    where = (
        "OpenSearch backend on osmem-server, the stand-in" if search_url else "the embedded index"
    )
    return Row(
        f"backfill, {n:,} posts (store + index, {store}{', search stand-in' if search_url else ''})",
        f"{n / wall:,.0f} posts/s, {wall:,.0f} s",
        f"RSS {rss[0]:,.0f} MiB after the first tenth",
        rss[-1] / rss[0],
        f"ratio = RSS at the end ÷ after the first tenth (1.00 = flat), RSS by tenths "
        f"{' '.join(f'{r:.0f}' for r in rss)} MiB; batches of {BATCH}, the outbox drained "
        f"every 16 batches into {where} ({found:,} posts found); "
        f"{n / cpu:,.0f} posts per CPU-second of this process; "
        + data_note(f"{n:,} posts: the 4,312 hot-issue messages cycled, ids made unique"),
    )


BACKFILL_ENV = "YUQING_BENCH_BACKFILL_POSTS"  # how many posts the backfill row moves


@contextlib.contextmanager
def _search_stand_in() -> Iterator[str | None]:
    """A fresh osmem-server for the backfill to index into (the search cluster we can
    run here), or None (the embedded index) when it is not installed."""
    try:
        from osmem_server import OsmemServer
    except ImportError:
        yield None
        return
    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    try:
        yield server.url
    finally:
        server.close()


def run(quick: bool) -> list[Row]:
    n, repeats = (128, 1) if quick else (1000, 5)
    msgs = messages(n)
    bench_model()
    rows = []
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-ingest-") as tmp_name:
        var = Path(tmp_name)
        install_model(var / "models")
        note = data_note(f"{n} hot-issue messages")

        say(f"ingest: {n} posts, each timing in a fresh process (cold), {repeats}×")
        cold_cls, cold_ing = [], []
        for _ in range(repeats):
            wall, cpu, _ = _cold(var, "classify", n, BATCH)
            cold_cls.append((wall, cpu))
            wall, cpu, new = _cold(var, "ingest", n, BATCH)
            assert new == n, f"expected {n} new posts, got {new}"
            cold_ing.append((wall, cpu))
        rows.append(
            _row(
                f"ingest, cold (batches of {BATCH}, SQLite)",
                n,
                _median(cold_cls),
                _median(cold_ing),
                f"texts the process has not seen; one transaction per batch; {note}",
            )
        )

        posts = crawled(msgs)
        for size in (BATCH, 16):
            say(f"ingest: {n} posts in batches of {size}, warm, {repeats}×")
            cls, ing = _warm(var, "sqlite", posts, size, repeats)
            rows.append(
                _row(
                    f"ingest, warm (batches of {size}, SQLite)",
                    n,
                    cls,
                    ing,
                    ("the crawler's sink_batch; " if size == 16 else "")
                    + f"texts seen before in this process; {note}",
                )
            )
        pg = os.environ.get(PG_ENV)
        size = int(os.environ.get(BACKFILL_ENV) or (500 if quick else 10_000))
        say(
            f"ingest: backfill of {size:,} posts, store and index ({'PostgreSQL' if pg else 'SQLite'})"
        )
        with _search_stand_in() as search_url:
            rows.append(backfill(var / "backfill", pg, size, search_url))
        if pg:
            say(f"ingest: {n} posts in batches of {BATCH}, warm, PostgreSQL, {repeats}×")
            cls, ing = _warm(var, pg, posts, BATCH, repeats)
            rows.append(
                _row(
                    f"ingest, warm (batches of {BATCH}, PostgreSQL)",
                    n,
                    cls,
                    ing,
                    f"PostgreSQL on this machine ({PG_ENV}); {note}",
                    on_cpu=False,
                )
            )
    return rows


if __name__ == "__main__":
    mode, var_dir, count, size = sys.argv[1:5]
    child(mode, var_dir, int(count), int(size))
