"""The embedded index's own file: schema upgrade in place, pre-tokenised input."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from index_corpus import CORPUS
from index_testkit import tokenize

from index.base import SearchQuery
from index.embedded import SCHEMA_VERSION, EmbeddedBackend, tags_for


def test_version_1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    b = EmbeddedBackend(path, tokenize)
    assert b.index(CORPUS) == []
    b.close()
    # Turn it back into a version 1 file: no facts table, docs_* indexes, old triggers.
    con = sqlite3.connect(path)
    con.executescript(
        """
        DROP TRIGGER docs_ai; DROP TRIGGER docs_ad; DROP TRIGGER docs_au; DROP TABLE facts;
        DROP TABLE fts; ALTER TABLE docs DROP COLUMN tags;
        CREATE VIRTUAL TABLE fts USING fts5(
            title_tok, text_tok, sub_tok, content='docs', content_rowid='id',
            tokenize='unicode61 remove_diacritics 0');
        INSERT INTO fts (fts) VALUES ('rebuild');
        CREATE INDEX docs_category ON docs (category);
        CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
            INSERT INTO fts (rowid, title_tok, text_tok, sub_tok)
            VALUES (new.id, new.title_tok, new.text_tok, new.sub_tok);
        END;
        UPDATE meta SET value = '1' WHERE key = 'schema';
        """
    )
    con.close()
    b = EmbeddedBackend(path, tokenize)
    schema = b._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert schema == SCHEMA_VERSION == "4"
    r = b.search(SearchQuery(text="污水"))
    assert {h.id for h in r.hits} == {1, 2, 8}
    assert sum(r.facets["category"].values()) == 3
    # filters work through the tags the upgrade computed in SQL
    assert {h.id for h in b.search(SearchQuery(text="污水", category="城市管理")).hits} == {8}
    tags = dict(b._db.execute("SELECT id, tags FROM docs"))
    for d in CORPUS:
        day = b._day(d.published_at)
        assert tags[d.id] == tags_for(d.category, d.area, d.source, d.severity, day)
    assert b.count() == len(CORPUS)
    b.close()


def test_version_3_file_gains_facet_keys(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    b = EmbeddedBackend(path, tokenize)
    assert b.index(CORPUS) == []
    want = b.search(SearchQuery(text="", facets=True)).facets
    b.close()
    # A version 3 file: no fkeys table, no facts.fk (and triggers that do not fill it).
    con = sqlite3.connect(path)
    con.executescript(
        """
        DROP TRIGGER docs_ai; DROP TRIGGER docs_ad; DROP TRIGGER docs_au;
        DROP TABLE fkeys; ALTER TABLE facts DROP COLUMN fk;
        UPDATE meta SET value = '3' WHERE key = 'schema';
        """
    )
    con.close()
    b = EmbeddedBackend(path, tokenize)
    try:
        assert b._db.execute("SELECT count(*) FROM facts WHERE fk IS NULL").fetchone()[0] == 0
        assert b.search(SearchQuery(text="", facets=True)).facets == want
        assert sum(b.search(SearchQuery(text="污水", facets=True)).facets["severity"].values()) == 3
        extra = replace(CORPUS[0], id=999, area="新区")
        assert b.index([extra]) == []
        assert b.search(SearchQuery(text="", facets=True)).facets["area"]["新区"] == 1
    finally:
        b.close()


def test_pretokenised_documents_index_like_segmented_ones(tmp_path: Path) -> None:
    a = EmbeddedBackend(tmp_path / "a.sqlite", tokenize)
    b = EmbeddedBackend(tmp_path / "b.sqlite", lambda s: [])  # must never be called
    assert a.index(CORPUS) == []
    assert b.index(CORPUS, tokens=[(tokenize(d.title), tokenize(d.text)) for d in CORPUS]) == []
    rows = "SELECT id, title_tok, text_tok, sub_tok FROM docs ORDER BY id"
    assert a._db.execute(rows).fetchall() == b._db.execute(rows).fetchall()
    a.close()
    b.close()


def test_one_bad_row_fails_alone(tmp_path: Path) -> None:
    b = EmbeddedBackend(tmp_path / "x.sqlite", tokenize)
    b._db.execute("CREATE TRIGGER no_sevens BEFORE INSERT ON docs WHEN new.id = 7 BEGIN "
                  "SELECT RAISE(ABORT, 'seven is refused'); END")  # fmt: skip
    failures = b.index(CORPUS)
    assert [i for i, _ in failures] == [7]
    assert b.count() == len(CORPUS) - 1
    b.close()


def test_a_new_timezone_moves_days_and_month_tags(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from yuqing.contracts import IndexDoc

    path = tmp_path / "tz.sqlite"
    doc = IndexDoc(
        id=1, title="月底停车", text="停车", source="s", category="c", severity=1, area=None,
        published_at=datetime(2026, 10, 31, 20, 0, tzinfo=UTC), url=None,
    )  # fmt: skip
    b = EmbeddedBackend(path, tokenize, timezone="UTC")
    assert b.index([doc]) == []
    assert b.search(SearchQuery(text="停车 since:2026-11-01")).total == 0  # Oct 31 in UTC
    b.close()
    b = EmbeddedBackend(path, tokenize, timezone="Asia/Shanghai")  # Nov 1, 04:00 there
    assert b.search(SearchQuery(text="停车 since:2026-11-01")).total == 1
    assert b.search(SearchQuery(text="停车", histogram="day")).histogram[0][0].day == 1
    b.close()
