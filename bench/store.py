"""Figure 5: the idempotent re-crawl path (upsert of a stored post) against the first insert."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Row, bench_model, data_note, median_time, messages, rate, say
from bench.ingest import crawled


def run(quick: bool) -> list[Row]:
    from analysis.linking import Linker
    from store.db import Store
    from store.posts import upsert_post

    n, repeats = (60, 1) if quick else (500, 3)
    msgs = messages(n)
    model = bench_model()
    posts = crawled(msgs)
    say(f"store: classifying {n} posts (not timed)")
    cls = model.classify_posts(posts)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-store-") as tmp_name:
        tmp = Path(tmp_name)
        stores: list[Store] = []

        def fresh() -> Store:
            store = Store(f"sqlite:///{tmp / f'store{len(stores)}.db'}")
            stores.append(store)
            return store

        def upsert_all(store: Store, batch: list[Any], expect_created: bool | None) -> None:
            for p, c in zip(batch, cls, strict=True):
                with store.session() as s:
                    r = upsert_post(s, dataclasses.replace(p), c, now, linking=Linker)
                if expect_created is not None:
                    assert r.created is expect_created and r.changed is expect_created

        say(f"store: first insert of {n} posts into a fresh store, {repeats}×")
        t_first = median_time(lambda st: upsert_all(st, posts, True), repeats, fresh)
        store = stores[-1]
        say(f"store: upsert of the same {n} posts again (unchanged), {repeats}×")
        t_same = median_time(lambda _: upsert_all(store, posts, False), repeats)
        say(f"store: upsert with new engagement figures, {repeats}×")
        bumps = iter(range(1, repeats + 1))

        def changed(_: object) -> None:
            k = next(bumps)
            upsert_all(store, [dataclasses.replace(p, likes=p.likes + k) for p in posts], None)

        t_changed = median_time(changed, repeats)
        for st in stores:
            st.close()
    src = data_note(f"{n} hot-issue messages, one transaction per post")
    return [
        Row(
            "store re-upsert, unchanged post",
            rate(n, t_same, " posts/s"),
            rate(n, t_first, " posts/s") + " (first insert)",
            t_same / t_first,
            f"ratio = re-upsert time / first-insert time; {src}",
        ),
        Row(
            "store re-upsert, likes changed",
            rate(n, t_changed, " posts/s"),
            rate(n, t_first, " posts/s") + " (first insert)",
            t_changed / t_first,
            "update + outbox re-queue",
        ),
    ]
