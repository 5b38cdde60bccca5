"""Ingest throughput against the classifier alone, on the same texts, in the same run.

``Ingestor.accept_many`` places, classifies and stores a batch in one transaction (bulk
upserts of the posts, their sightings, events and sketches, the index outbox and the
encrypted raw text). Its reference is ``classify_many`` on the same posts in the same
batches: the ratio says how much of the classifier's own speed survives storing.

- warm: one process that has classified the texts before (jieba's and the model's
  per-token caches hot, as when a crawl re-reads pages it has seen);
- cold: each timing in a fresh process that has never seen the texts (the model and
  jieba's dictionary loaded, and one unrelated text classified, before the clock starts).

``YUQING_BENCH_POSTGRES_URL`` (a database the benchmark may fill; a fresh schema is not
made for it, so give it an empty database) adds the warm figure on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
    median_time,
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


def _ingestor(var_dir: Path, db_url: str) -> Any:
    """An Ingestor on a migrated store with its model, gazetteer and keys loaded."""
    from yuqing.app import App
    from yuqing.ingest import Ingestor

    app = App(config_for(var_dir, db_url))
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


def child(mode: str, var_dir: str, n: int, size: int) -> None:
    """One cold timing, printed as JSON: this process has not seen the texts."""
    var = Path(var_dir)
    ing = _ingestor(var, f"sqlite:///{var / f'cold-{time.monotonic_ns()}.db'}")
    # Both modes load the same code before the clock starts (the first batch would
    # otherwise pay for imports and compiled statements): one unrelated post stored.
    ing.accept_many(crawled([_WARM_UP]))
    ing.new = 0
    posts = crawled(messages(n))
    t0 = time.perf_counter()
    if mode == "classify":
        _classify(ing.model, posts, size)
    else:
        _ingest(ing, posts, size)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "new": ing.new}))
    ing.close()


def _cold(var: Path, mode: str, n: int, size: int) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.ingest", mode, str(var), str(n), str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return float(got["seconds"]), int(got["new"])


def _warm(var: Path, db_url: str, posts: list[Any], size: int, repeats: int) -> tuple[float, float]:
    """(classify_many time, ingest time), medians, in this process after a first pass."""
    stores: list[Any] = []

    def fresh() -> Any:
        url = (
            db_url
            if db_url.startswith("postgresql")
            else f"sqlite:///{var / f'warm-{time.monotonic_ns()}.db'}"
        )
        if stores and db_url.startswith("postgresql"):
            _empty_postgres(stores[-1])
        stores.append(_ingestor(var, url))
        return stores[-1]

    ing = fresh()
    _classify(ing.model, posts, size)  # the texts seen once: caches warm
    t_cls = median_time(lambda _: _classify(ing.model, posts, size), repeats)
    t_ing = median_time(lambda i: _ingest(i, posts, size), repeats, fresh)
    last = stores[-1]
    assert last.new == len(posts), f"expected {len(posts)} new posts, got {last.new}"
    if db_url.startswith("postgresql"):
        _empty_postgres(last)
    for s in stores:
        s.close()
    return t_cls, t_ing


def _empty_postgres(ing: Any) -> None:
    from sqlalchemy import text

    from store.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with ing.app.store.engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _row(figure: str, n: int, t_cls: float, t_ing: float, notes: str) -> Row:
    return Row(
        figure,
        f"{n / t_ing:,.0f} posts/s",
        f"{n / t_cls:,.0f} posts/s (classify_many)",
        t_cls / t_ing,
        "ratio = ingest rate ÷ classify_many rate on the same posts, higher is better "
        f"(goal ≥ 0.7); {notes}",
    )


def run(quick: bool) -> list[Row]:
    n, repeats = (128, 1) if quick else (1000, 3)
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
            cold_cls.append(_cold(var, "classify", n, BATCH)[0])
            seconds, new = _cold(var, "ingest", n, BATCH)
            assert new == n, f"expected {n} new posts, got {new}"
            cold_ing.append(seconds)
        rows.append(
            _row(
                f"ingest, cold (batches of {BATCH}, SQLite)",
                n,
                statistics.median(cold_cls),
                statistics.median(cold_ing),
                f"texts the process has not seen; one transaction per batch; {note}",
            )
        )

        posts = crawled(msgs)
        for size in (BATCH, 16):
            say(f"ingest: {n} posts in batches of {size}, warm, {repeats}×")
            t_cls, t_ing = _warm(var, "sqlite", posts, size, repeats)
            rows.append(
                _row(
                    f"ingest, warm (batches of {size}, SQLite)",
                    n,
                    t_cls,
                    t_ing,
                    ("the crawler's sink_batch; " if size == 16 else "")
                    + f"texts seen before in this process; {note}",
                )
            )
        pg = os.environ.get(PG_ENV)
        if pg:
            say(f"ingest: {n} posts in batches of {BATCH}, warm, PostgreSQL, {repeats}×")
            t_cls, t_ing = _warm(var, pg, posts, BATCH, repeats)
            rows.append(
                _row(
                    f"ingest, warm (batches of {BATCH}, PostgreSQL)",
                    n,
                    t_cls,
                    t_ing,
                    f"PostgreSQL on this machine ({PG_ENV}); {note}",
                )
            )
    return rows


if __name__ == "__main__":
    mode, var_dir, count, size = sys.argv[1:5]
    child(mode, var_dir, int(count), int(size))
