"""Figure 2: Ingestor.accept (place + classify + upsert + outbox) against a plain INSERT."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    Message,
    Row,
    bench_model,
    config_for,
    data_note,
    install_model,
    median_time,
    messages,
    rate,
    say,
)


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


def _plain_insert(db_path: Path, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
    con = sqlite3.connect(str(db_path))
    try:
        con.execute(f"CREATE TABLE posts ({', '.join(f'{c} {t}' for c, t in columns)})")
        marks = ", ".join("?" for _ in columns)
        with con:
            con.executemany(f"INSERT INTO posts VALUES ({marks})", rows)
    finally:
        con.close()


def run(quick: bool) -> list[Row]:
    from yuqing.app import App
    from yuqing.ingest import Ingestor

    n, repeats = (60, 1) if quick else (500, 3)
    msgs = messages(n)
    model = bench_model()
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        install_model(tmp / "models")
        runs: list[tuple[App, Ingestor, list[Any], Path]] = []

        def setup() -> tuple[Ingestor, list[Any]]:
            db = tmp / f"store{len(runs)}.db"
            app = App(config_for(tmp, f"sqlite:///{db}"))
            ing = Ingestor(app)  # loads the active model
            # Outside the timing: create and migrate the store, build the gazetteer and
            # the loaded model's jieba dictionary (about a second, once per process).
            app.store  # noqa: B018
            app.gazetteer  # noqa: B018
            ing.model.classify("预热", "预热")
            posts = crawled(msgs)
            runs.append((app, ing, posts, db))
            return ing, posts

        def ingest(arg: tuple[Ingestor, list[Any]]) -> None:
            ing, posts = arg
            for p in posts:
                ing.accept(p)

        say(f"ingest: Ingestor.accept of {n} posts into a fresh SQLite store, {repeats}×")
        t_ours = median_time(ingest, repeats, setup)
        app, ing, _, db = runs[-1]
        assert ing.new == n, f"expected {n} new posts, got {ing.new}"
        with sqlite3.connect(str(db)) as con:
            columns = [(r[1], r[2]) for r in con.execute("PRAGMA table_info(posts)")]
            rows = con.execute("SELECT * FROM posts").fetchall()
            outbox = con.execute("SELECT count(*) FROM index_outbox").fetchone()[0]
        for a, *_ in runs:
            a.close()

        refs: list[Path] = []

        def ref_setup() -> Path:
            refs.append(tmp / f"plain{len(refs)}.db")
            return refs[-1]

        say(f"ingest: plain sqlite3 executemany of the same {len(rows)} rows, {repeats}×")
        t_ref = median_time(lambda p: _plain_insert(p, columns, rows), repeats, ref_setup)

        posts = crawled(msgs)
        say("ingest: classify alone, for its share")
        t_cls = median_time(
            lambda _: [
                model.classify(p.title, p.text, likes=p.likes, replies=p.replies) for p in posts
            ],
            repeats,
        )
    return [
        Row(
            "ingest (Ingestor.accept)",
            rate(n, t_ours, " posts/s"),
            rate(n, t_ref, " rows/s") + " (sqlite3 executemany)",
            t_ours / t_ref,
            f"ratio = our time / plain INSERT time; one commit per post, {len(columns)} columns, "
            f"{outbox} outbox rows; classify ≈ {t_cls / t_ours:.0%} of accept; "
            + data_note(f"{n} hot-issue messages"),
        )
    ]
