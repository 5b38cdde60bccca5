"""Figure 3: the embedded index (SQLite FTS5 over jieba tokens) against SQL LIKE scans."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    Row,
    bench_model,
    config_for,
    data_note,
    median_time,
    messages,
    ms,
    rate,
    say,
)

# ~50 queries an analyst types: single words, two words, phrases, words + a category.
SINGLE = [
    "物业", "噪音", "停车", "拆迁", "学校", "医院", "工资", "污染", "垃圾", "公交", "房价", "社保",
    "教师", "小区", "装修", "违建", "施工", "油烟", "扰民", "补贴", "幼儿园", "养老", "医保", "道路",
    "出租车",
]  # fmt: skip
TWO = [
    "物业 收费", "噪音 扰民", "拖欠 工资", "小区 停车", "学校 食堂",
    "垃圾 处理", "违章 建筑", "医保 报销", "公交 线路", "施工 噪音",
]  # fmt: skip
PHRASES = ['"拖欠工资"', '"噪音扰民"', '"小区停车"', '"垃圾分类"', '"房屋质量"']
WITH_CATEGORY = [
    ("噪音", "环境保护"), ("工资", "劳动和社会保障"), ("学校", "教育文体"), ("物业", "城乡建设"),
    ("公交", "交通运输"), ("医院", "卫生计生"), ("价格", "商贸旅游"), ("污染", "环境保护"),
    ("社保", "劳动和社会保障"), ("道路", "交通运输"),
]  # fmt: skip
QUERIES: list[tuple[str, str | None]] = (
    [(q, None) for q in SINGLE + TWO + PHRASES] + WITH_CATEGORY  # type: ignore[operator]
)

PLAIN_SCHEMA = """CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, text TEXT,
    category TEXT, severity INTEGER, area TEXT, source TEXT, published_us INTEGER)"""


def _like(q: str) -> list[str]:
    """The substrings a LIKE search needs: a phrase whole, else each word."""
    if q.startswith('"') and q.endswith('"'):
        return [q.strip('"')]
    return q.split()


def like_search(con: sqlite3.Connection, q: str, category: str | None) -> int:
    conds, params = [], []
    for word in _like(q):
        conds.append("(title LIKE ? OR text LIKE ?)")
        params += [f"%{word}%", f"%{word}%"]
    if category:
        conds.append("category = ?")
        params.append(category)
    where = " AND ".join(conds)
    total = con.execute(f"SELECT count(*) FROM docs WHERE {where}", params).fetchone()[0]
    con.execute(
        f"SELECT id, title, text, category, severity, area, source, published_us FROM docs "
        f"WHERE {where} ORDER BY published_us DESC LIMIT 20",
        params,
    ).fetchall()
    return int(total)


def _latency(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(quick: bool) -> list[Row]:
    from index.base import SearchQuery
    from runtime.app import App
    from yuqing.contracts import IndexDoc

    n, repeats, q_repeats, batch = (300, 1, 2, 100) if quick else (4000, 3, 7, 500)
    msgs = messages(n)
    model = bench_model()
    say(f"search: classifying {n} messages for the category filter (not timed)")
    cls = model.classify_many([m.title for m in msgs], [m.body for m in msgs])
    docs = [
        IndexDoc(
            id=i,
            title=m.title,
            text=m.body,
            source="bench-import",
            category=c.category,
            severity=c.severity,
            area=None,
            published_at=m.published_at,
            url=f"https://bench.invalid/msg/{m.id}",
        )
        for i, (m, c) in enumerate(zip(msgs, cls, strict=True), start=1)
    ]
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-search-") as tmp_name:
        tmp = Path(tmp_name)
        app = App(config_for(tmp))
        backend = app.index
        backend.search(SearchQuery(text="物业"))  # builds the shared jieba dictionary

        def index_all(_: object) -> None:
            for k in range(0, len(docs), batch):
                failures = backend.index(docs[k : k + batch])
                assert not failures, failures[:3]

        say(f"search: indexing {n} docs (batches of {batch}), {repeats}×")
        t_index = median_time(index_all, repeats, backend.clear)
        assert backend.count() == n
        index_bytes = sum(p.stat().st_size for p in tmp.glob(app.config.index_path.name + "*"))

        plain_rows = [
            (d.id, d.title, d.text, d.category, d.severity, d.area, d.source,
             int(d.published_at.timestamp() * 1e6) if d.published_at else None)
            for d in docs
        ]  # fmt: skip
        plains: list[Path] = []

        def plain_setup() -> Path:
            plains.append(tmp / f"plain{len(plains)}.db")
            return plains[-1]

        def plain_insert(path: Path) -> None:
            con = sqlite3.connect(str(path))
            con.execute(PLAIN_SCHEMA)
            with con:
                con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", plain_rows)
            con.close()

        say(f"search: plain INSERT of the same {n} rows, {repeats}×")
        t_plain = median_time(plain_insert, repeats, plain_setup)
        plain_bytes = plains[-1].stat().st_size

        con = sqlite3.connect(str(plains[-1]))
        say(f"search: {len(QUERIES)} queries × {q_repeats}, FTS5 and LIKE")
        ours, ours_facets, ref = [], [], []
        hits_ours = hits_ref = 0
        for q, cat in QUERIES:
            sq = SearchQuery(text=q, category=cat, limit=20, facets=False)
            sqf = SearchQuery(text=q, category=cat, limit=20, facets=True)
            hits_ours += backend.search(sq).total
            hits_ref += like_search(con, q, cat)
            ours.append(_latency(lambda sq=sq: backend.search(sq), q_repeats))
            ours_facets.append(_latency(lambda sqf=sqf: backend.search(sqf), q_repeats))
            ref.append(_latency(lambda q=q, cat=cat: like_search(con, q, cat), q_repeats))
        con.close()
        app.close()

    slowest = QUERIES[max(range(len(ours)), key=ours.__getitem__)]
    slow_txt = slowest[0] + (f" category:{slowest[1]}" if slowest[1] else "")
    med, med_f, med_ref = (statistics.median(x) for x in (ours, ours_facets, ref))
    p90 = statistics.quantiles(ours, n=10)[-1] if len(ours) >= 10 else max(ours)
    p90_ref = statistics.quantiles(ref, n=10)[-1] if len(ref) >= 10 else max(ref)
    src = data_note(f"{n} hot-issue messages")
    return [
        Row(
            "search median latency (embedded)",
            ms(med),
            ms(med_ref) + " (SQL LIKE)",
            med / med_ref,
            f"{len(QUERIES)} queries (words, pairs, phrases, +category), count + top 20, no facets; "
            f"p90 {ms(p90)} vs {ms(p90_ref)} (slowest: {slow_txt} {ms(max(ours))}); matches {hits_ours:,} vs LIKE {hits_ref:,}; {src}",
        ),
        Row(
            "search median latency with facets",
            ms(med_f),
            ms(med_ref) + " (SQL LIKE, no facets)",
            med_f / med_ref,
            "as the console asks: + counts by category, severity, area, source",
        ),
        Row(
            "indexing (embedded)",
            rate(n, t_index, " docs/s"),
            rate(n, t_plain, " rows/s") + " (plain INSERT)",
            t_index / t_plain,
            f"ratio = our time / plain INSERT time; jieba inside; "
            f"on disk {index_bytes / 2**20:.1f} MiB vs {plain_bytes / 2**20:.1f} MiB "
            f"({index_bytes / plain_bytes:.1f}×)",
        ),
    ]
