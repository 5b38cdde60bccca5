"""The default backend: SQLite FTS5 over jieba tokens, in its own file.

``docs`` keeps the original (masked) text, the token strings and the filter
columns; ``fts`` is an external-content FTS5 table over the token columns,
kept in step by triggers, so an upsert of ``docs`` re-indexes the row. WAL
lets one writer and several reader processes share the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.base import (
    FACET_FIELDS,
    BackendError,
    QueryError,
    SearchHit,
    SearchQuery,
    SearchResult,
    Tokenize,
    resolve_tz,
    validate_doc,
)
from index.query import (
    COORD,
    FULL_MATCH_MIN,
    PROX_BONUS,
    PROX_SLOP,
    TITLE_CREDIT,
    Clause,
    CompiledQuery,
    Term,
    compile_query,
    fill_histogram,
)
from index.synonyms import EMPTY, Synonyms
from index.text import (
    SNIPPET_CHARS,
    clean_tokens,
    doc_tokens,
    highlight,
    snippet,
    sub_tokens,
)

if TYPE_CHECKING:
    from yuqing.contracts import IndexDoc

SCHEMA_VERSION = "4"  # 2: the narrow ``facts`` table; 3: filter tags in the full-text index;
# 4: facts.fk, a post's facet values as one integer (``fkeys``)
# bm25 column weights (BM25F: weighted term frequency). The Elasticsearch backend
# gives combined_fields the same weights, which must be >= 1 there.
TITLE_WEIGHT = 6.0
TEXT_WEIGHT = 2.0
SUB_WEIGHT = 1.0
FACET_SIZE = 50
MAX_KEEP_GROUPS = 6  # words of a query whose partial pass finds its posts first
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The triggers add a facet combination to fkeys with WHERE NOT EXISTS, not INSERT
# OR IGNORE: under the upsert of docs, the outer statement's conflict policy would
# replace the IGNORE and fail the row.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    title_tok TEXT NOT NULL,
    text_tok TEXT NOT NULL,
    sub_tok TEXT NOT NULL,
    source TEXT NOT NULL,
    category TEXT,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    area TEXT,
    status TEXT NOT NULL,
    event_id INTEGER,
    url TEXT,
    published_us INTEGER,
    day TEXT,
    tags TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    category TEXT,
    severity INTEGER NOT NULL,
    area TEXT,
    published_us INTEGER,
    day TEXT,
    fk INTEGER
);
CREATE TABLE IF NOT EXISTS fkeys (
    id INTEGER PRIMARY KEY,
    category TEXT,
    severity INTEGER NOT NULL,
    area TEXT,
    source TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS fkeys_values
    ON fkeys (ifnull(category, char(0)), severity, ifnull(area, char(0)), source);
CREATE INDEX IF NOT EXISTS facts_published ON facts (published_us);
CREATE INDEX IF NOT EXISTS facts_category ON facts (category, published_us);
CREATE INDEX IF NOT EXISTS facts_area ON facts (area, published_us);
CREATE INDEX IF NOT EXISTS facts_source ON facts (source, published_us);
CREATE INDEX IF NOT EXISTS facts_severity ON facts (severity, published_us);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title_tok, text_tok, sub_tok, tags, content='docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 0'
);
CREATE TRIGGER IF NOT EXISTS docs_ai AFTER INSERT ON docs BEGIN
    INSERT INTO fts (rowid, title_tok, text_tok, sub_tok, tags)
    VALUES (new.id, new.title_tok, new.text_tok, new.sub_tok, new.tags);
    INSERT INTO fkeys (category, severity, area, source)
    SELECT new.category, new.severity, new.area, new.source
    WHERE NOT EXISTS (SELECT 1 FROM fkeys WHERE ifnull(category, char(0)) = ifnull(new.category, char(0)) AND severity = new.severity AND ifnull(area, char(0)) = ifnull(new.area, char(0)) AND source = new.source);
    INSERT INTO facts (id, source, category, severity, area, published_us, day, fk)
    VALUES (new.id, new.source, new.category, new.severity, new.area, new.published_us, new.day,
        (SELECT id FROM fkeys WHERE ifnull(category, char(0)) = ifnull(new.category, char(0)) AND severity = new.severity AND ifnull(area, char(0)) = ifnull(new.area, char(0)) AND source = new.source));
END;
CREATE TRIGGER IF NOT EXISTS docs_ad AFTER DELETE ON docs BEGIN
    INSERT INTO fts (fts, rowid, title_tok, text_tok, sub_tok, tags)
    VALUES ('delete', old.id, old.title_tok, old.text_tok, old.sub_tok, old.tags);
    DELETE FROM facts WHERE id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS docs_au AFTER UPDATE ON docs BEGIN
    INSERT INTO fts (fts, rowid, title_tok, text_tok, sub_tok, tags)
    VALUES ('delete', old.id, old.title_tok, old.text_tok, old.sub_tok, old.tags);
    INSERT INTO fts (rowid, title_tok, text_tok, sub_tok, tags)
    VALUES (new.id, new.title_tok, new.text_tok, new.sub_tok, new.tags);
    INSERT INTO fkeys (category, severity, area, source)
    SELECT new.category, new.severity, new.area, new.source
    WHERE NOT EXISTS (SELECT 1 FROM fkeys WHERE ifnull(category, char(0)) = ifnull(new.category, char(0)) AND severity = new.severity AND ifnull(area, char(0)) = ifnull(new.area, char(0)) AND source = new.source);
    UPDATE facts SET source = new.source, category = new.category, severity = new.severity,
        area = new.area, published_us = new.published_us, day = new.day,
        fk = (SELECT id FROM fkeys WHERE ifnull(category, char(0)) = ifnull(new.category, char(0)) AND severity = new.severity AND ifnull(area, char(0)) = ifnull(new.area, char(0)) AND source = new.source)
        WHERE id = new.id;
END;
"""

_UPSERT = """
INSERT INTO docs (id, title, text, title_tok, text_tok, sub_tok, source, category, severity, area,
                  status, event_id, url, published_us, day, tags)
VALUES (:id, :title, :text, :title_tok, :text_tok, :sub_tok, :source, :category, :severity, :area,
        :status, :event_id, :url, :published_us, :day, :tags)
ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, text = excluded.text, title_tok = excluded.title_tok,
    text_tok = excluded.text_tok, sub_tok = excluded.sub_tok, source = excluded.source, category = excluded.category,
    severity = excluded.severity, area = excluded.area, status = excluded.status,
    event_id = excluded.event_id, url = excluded.url, published_us = excluded.published_us,
    day = excluded.day, tags = excluded.tags
"""


def _to_us(dt: datetime) -> int:
    if dt.tzinfo is None:  # the contract says UTC
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _from_us(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def _quote(tokens: Iterable[str]) -> str:
    return '"' + " ".join(tokens).replace('"', '""') + '"'


def _fts_term(t: Term) -> str:
    # Phrases keep jieba's positions, so they only look at the token columns.
    if t.phrase:
        return "{title_tok text_tok} : " + _quote(t.tokens)
    if len(t.tokens) == 1:
        return _quote(t.tokens)
    return "(" + " AND ".join(_quote([tok]) for tok in t.tokens) + ")"


def _clause_expr(c: Clause) -> str:
    """A scored clause: one token anywhere (sub-words too), or a phrase of tokens."""
    if len(c.tokens) == 1:
        return _quote(c.tokens)
    return "{title_tok text_tok} : " + _quote(c.tokens)


def fts_match(groups: list[list[Term]]) -> str:
    """An FTS5 MATCH expression; every token is a quoted string, never raw syntax."""
    return " AND ".join("(" + " OR ".join(_fts_term(t) for t in g) + ")" for g in groups)


# Filter values as tokens in the full-text index's ``tags`` column (bm25 weight 0),
# so a filtered search intersects posting lists inside FTS5 instead of reading
# the filter columns of every post that contains a common word. Values are
# hex-encoded: any text becomes one alphanumeric token that no word can equal.
_TAGS_SQL = (
    "trim(coalesce('zzc' || lower(hex(category)) || ' ', '') || "
    "coalesce('zza' || lower(hex(area)) || ' ', '') || "
    "'zzs' || lower(hex(source)) || ' zzv' || severity || "
    "coalesce(' zzm' || substr(day, 1, 4) || substr(day, 6, 2), ''))"
)
MAX_MONTH_TAGS = 36


def _tag(kind: str, value: str) -> str:
    return f"zz{kind}{value.encode('utf-8').hex()}"


def tags_for(
    category: str | None, area: str | None, source: str, severity: int, day: str | None
) -> str:
    """The ``tags`` column of one post; :data:`_TAGS_SQL` computes the same in SQL."""
    out = []
    if category is not None:
        out.append(_tag("c", category))
    if area is not None:
        out.append(_tag("a", area))
    out.append(_tag("s", source))
    out.append(f"zzv{severity}")
    if day is not None:
        out.append(f"zzm{day[:4]}{day[5:7]}")
    return " ".join(out)


def _months(first: date, last: date) -> list[str]:
    out: list[str] = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month) and len(out) <= MAX_MONTH_TAGS:
        out.append(f"zzm{y:04d}{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class EmbeddedBackend:
    """SQLite FTS5 search index in its own file (not the store's database)."""

    def __init__(
        self,
        path: Path | str,
        tokenize: Tokenize,
        *,
        timezone: str | tzinfo = "Asia/Shanghai",
        synonyms: Synonyms = EMPTY,
    ) -> None:
        self.path = Path(path)
        self.tokenize = tokenize
        self.synonyms = synonyms
        self.tz = resolve_tz(timezone)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA temp_store=MEMORY")  # search's per-query match table
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB: FTS5 merges and facet scans
        with self._write():
            self._create_schema()
            self._check_timezone()

    # -- plumbing -------------------------------------------------------------

    def _create_schema(self) -> None:
        row = None
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        old = row[0] if row is not None else None
        if old == "3":  # facts gains fk, the triggers fill it
            for name in ("docs_ai", "docs_ad", "docs_au"):
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            self._db.execute("ALTER TABLE facts ADD COLUMN fk INTEGER")
        if old in ("1", "2"):
            # Older files: no facts table (1) and no tags column (1, 2). The
            # full-text table gains a column, so it is rebuilt from docs below.
            for name in ("docs_ai", "docs_ad", "docs_au"):
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            for col in ("published", "category", "area", "source", "severity"):
                self._db.execute(f"DROP INDEX IF EXISTS docs_{col}")
            self._db.execute("DROP TABLE IF EXISTS fts")
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(docs)")}
            if "tags" not in cols:
                self._db.execute("ALTER TABLE docs ADD COLUMN tags TEXT NOT NULL DEFAULT ''")
            self._db.execute(f"UPDATE docs SET tags = {_TAGS_SQL}")
        for stmt in _split_sql(_SCHEMA):
            self._db.execute(stmt)
        if old in ("1", "2"):
            self._db.execute(
                "INSERT OR REPLACE INTO facts (id, source, category, severity, area, published_us, day) "
                "SELECT id, source, category, severity, area, published_us, day FROM docs"
            )
            self._db.execute("INSERT INTO fts (fts) VALUES ('rebuild')")
        if old in ("1", "2", "3"):
            self._db.execute(
                "INSERT OR IGNORE INTO fkeys (category, severity, area, source) "
                "SELECT DISTINCT category, severity, area, source FROM facts"
            )
            self._db.execute(
                "UPDATE facts SET fk = (SELECT k.id FROM fkeys k WHERE "
                "ifnull(k.category, char(0)) = ifnull(facts.category, char(0)) "
                "AND k.severity = facts.severity AND ifnull(k.area, char(0)) = "
                "ifnull(facts.area, char(0)) AND k.source = facts.source)"
            )
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,)
        )

    def _check_timezone(self) -> None:
        """Day buckets are stored in local time; recompute them if the zone changed."""
        key = str(self.tz)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()
        if row and row[0] == key:
            return
        rows = self._db.execute(
            "SELECT id, published_us, category, area, source, severity FROM docs "
            "WHERE published_us IS NOT NULL"
        ).fetchall()
        updates = []
        for i, us, category, area, source, severity in rows:
            day = self._day(_from_us(us))
            updates.append((day, tags_for(category, area, source, severity, day), i))
        # the month tag follows the local day
        self._db.executemany("UPDATE docs SET day = ?, tags = ? WHERE id = ?", updates)
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('timezone', ?)", (key,))

    def _day(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(self.tz).date().isoformat()

    def _write(self) -> _Txn:
        return _Txn(self, "BEGIN IMMEDIATE")

    # -- SearchBackend ----------------------------------------------------------

    def index(
        self,
        docs: Sequence[IndexDoc],
        *,
        tokens: Sequence[tuple[Sequence[str], Sequence[str]]] | None = None,
    ) -> list[tuple[int, str]]:
        """Upsert ``docs`` in one transaction.

        ``tokens`` optionally gives each document's (title, text) tokens from the
        same tokeniser, when the caller has segmented them already (the
        classifier does): jieba is most of the cost of indexing.
        """
        failures: list[tuple[int, str]] = []
        rows: list[dict[str, Any]] = []
        if tokens is not None and len(tokens) != len(docs):
            raise ValueError("tokens must give one (title, text) pair per document")
        for k, doc in enumerate(docs):
            reason = validate_doc(doc)
            if reason is None:
                try:
                    rows.append(self._row(doc, tokens[k] if tokens is not None else None))
                except Exception as exc:  # a tokeniser failure concerns this document only
                    reason = f"tokenising failed: {type(exc).__name__}: {exc}"
            if reason is not None:
                failures.append((doc.id if isinstance(doc.id, int) else -1, reason))
        with self._write():
            try:
                self._db.executemany(_UPSERT, rows)
            except sqlite3.IntegrityError:
                # One bad row fails the statement: redo row by row to find it.
                self._db.execute("ROLLBACK")
                self._db.execute("BEGIN IMMEDIATE")
                for row in rows:
                    try:
                        self._db.execute(_UPSERT, row)
                    except sqlite3.IntegrityError as exc:
                        failures.append((row["id"], f"rejected by the index: {exc}"))
        return failures

    def _row(
        self, doc: IndexDoc, given: tuple[Sequence[str], Sequence[str]] | None = None
    ) -> dict[str, Any]:
        pub = doc.published_at
        day = self._day(pub)
        if given is not None:
            title_tok, text_tok = clean_tokens(given[0]), clean_tokens(given[1])
        else:
            title_tok, text_tok = doc_tokens(self.tokenize, doc)
        return {
            "id": doc.id,
            "title": doc.title,
            "text": doc.text,
            "title_tok": " ".join(title_tok),
            "text_tok": " ".join(text_tok),
            "sub_tok": " ".join(sub_tokens(title_tok + text_tok)),
            "source": doc.source,
            "category": doc.category,
            "severity": doc.severity,
            "area": doc.area,
            "status": doc.status or "new",
            "event_id": doc.event_id,
            "url": doc.url,
            "published_us": None if pub is None else _to_us(pub),
            "day": day,
            "tags": tags_for(doc.category, doc.area, doc.source, doc.severity, day),
        }

    def delete(self, ids: Iterable[int]) -> None:
        with self._write():
            self._db.executemany("DELETE FROM docs WHERE id = ?", [(int(i),) for i in ids])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def clear(self) -> None:
        # Dropping is far cheaper than a per-row delete trigger on a large index.
        with self._write():
            for name in ("docs_ai", "docs_ad", "docs_au"):
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
            self._db.execute("DROP TABLE IF EXISTS fts")
            self._db.execute("DROP TABLE IF EXISTS docs")
            self._db.execute("DROP TABLE IF EXISTS facts")
            self._db.execute("DROP TABLE IF EXISTS fkeys")
            self._create_schema()

    def optimize(self) -> None:
        """Merge FTS5 segments (after a large rebuild)."""
        with self._write():
            self._db.execute("INSERT INTO fts (fts) VALUES ('optimize')")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def ping(self) -> bool:
        try:
            with self._lock:
                self._db.execute("SELECT 1 FROM docs LIMIT 1").fetchall()
            return True
        except sqlite3.Error:
            return False

    def describe(self) -> dict[str, str]:
        return {"backend": "embedded", "location": str(self.path)}

    def begin_rebuild(self) -> EmbeddedRebuild:
        return EmbeddedRebuild(self)

    def search(self, q: SearchQuery) -> SearchResult:
        """One pass over the matches into a temporary table, then count, page,
        facets and histogram from it: the full-text match and the filters run
        once, on the narrow ``facts`` rows, not once per facet.

        With words, each clause of the plan (:func:`index.query.build_plan`) is
        one FTS5 match scored by bm25; the union is grouped per post into
        COORD x groups matched + the weighted bm25 sum."""
        cq = compile_query(q, self.tokenize, self.tz, self.synonyms)
        if cq.has_terms and cq.plan.tries_full:
            full = self._search(q, replace(cq, plan=cq.plan.all_words()))
            if full.total >= FULL_MATCH_MIN:
                return full
            result = self._search(q, cq)
            result.partial = True
            return result
        return self._search(q, cq)

    def _search(self, q: SearchQuery, cq: CompiledQuery) -> SearchResult:
        if cq.has_terms:
            statements, labels = self._ranked(cq)
        else:
            frm, where, params, _ = self._from_where(cq)
            statements = [(
                "CREATE TEMP TABLE m AS SELECT f.id AS id, 0.0 AS score, NULL AS syn, "
                "f.published_us AS published_us, f.day AS day, "
                f"f.fk AS fk {frm} {where}",
                params,
            )]  # fmt: skip
            labels = []
        if cq.has_terms and cq.sort == "relevance":
            order = "score DESC, published_us DESC NULLS LAST, id DESC"
        else:
            order = "published_us DESC NULLS LAST, id DESC"
        cols = "d.id, d.title, d.text, d.category, d.severity, d.area, d.source, d.published_us, d.url, d.status, d.event_id"
        terms = cq.highlight_terms()
        db = self._db
        with self._lock:
            db.execute("BEGIN")  # one snapshot for hits, total and facets
            try:
                db.execute("DROP TABLE IF EXISTS temp.m")
                db.execute("DROP TABLE IF EXISTS temp.c")
                db.execute("DROP TABLE IF EXISTS temp.k")
                for sql, params in statements:
                    db.execute(sql, params)
                total = db.execute("SELECT count(*) FROM m").fetchone()[0]
                page = db.execute(
                    f"SELECT id, score, syn FROM m ORDER BY {order} LIMIT ? OFFSET ?",
                    [cq.limit, cq.offset],
                ).fetchall()
                by_id = {
                    r[0]: r
                    for r in db.execute(
                        f"SELECT {cols} FROM docs d WHERE d.id IN ({','.join('?' * len(page))})",
                        [i for i, _, _ in page],
                    )
                } if page else {}  # fmt: skip
                rows = [(*by_id[i], sc, syn) for i, sc, syn in page if i in by_id]
                facets = self._facets() if cq.facets else {}
                histogram = self._histogram(cq.histogram) if cq.histogram else []
                db.execute("DROP TABLE temp.m")
                db.execute("DROP TABLE IF EXISTS temp.c")
                db.execute("DROP TABLE IF EXISTS temp.k")
            except sqlite3.OperationalError as exc:
                # Terms are always quoted, so this is a bug or a damaged index, not user syntax.
                if "fts5" in str(exc):
                    raise QueryError(
                        f"无法检索 {q.text!r} / cannot search for {q.text!r}: {exc}"
                    ) from exc
                raise BackendError(f"index {self.path}: {exc}") from exc
            finally:
                db.execute("COMMIT")
        hits = [
            SearchHit(
                id=r[0],
                title=r[1],
                text=r[2],
                snippet=snippet(r[2], terms, SNIPPET_CHARS),
                category=r[3],
                severity=r[4],
                area=r[5],
                source=r[6],
                published_at=_from_us(r[7]),
                url=r[8],
                score=float(r[11]),
                title_html=highlight(r[1], terms),
                status=r[9],
                event_id=r[10],
                expanded=_labels(r[12], labels),
            )
            for r in rows
        ]
        return SearchResult(
            total=int(total),
            hits=hits,
            facets=facets,
            histogram=histogram,
            expansions=cq.plan.expansions,
        )

    def _ranked(self, cq: CompiledQuery) -> tuple[list[tuple[str, list[Any]]], list[str]]:
        """The statements filling ``m`` for a query with words (one scored match
        per clause into ``c``, then one row per post), and the synonym labels
        that ``m.syn`` indexes."""
        plan = cq.plan
        base = [f"({' OR '.join(_fts_term(t) for t in g.gate)})" for g in plan.required]
        base += [f"tags : ({' OR '.join(tg)})" for tg in self._tag_filters(cq)]
        suffix = "".join(f" AND {b}" for b in base)
        if plan.full:  # every word: each clause's scan is an intersection, not a union
            suffix += "".join(
                f" AND ({' OR '.join(_clause_expr(c) for c in g.clauses)})" for g in plan.optional
            )
        if cq.excluded:
            suffix += f" NOT ({' OR '.join(_fts_term(t) for t in cq.excluded)})"
        weights = f"{TITLE_WEIGHT}, {TEXT_WEIGHT}, {SUB_WEIGHT}, 0.0"
        clauses = [c for g in plan.groups for c in g.clauses]
        if len(clauses) == 1 and clauses[0].kind != "synonym":
            # One clause (a plain one-token word, the common case): score in one pass.
            c = clauses[0]
            conds, params = self._filter_conds(cq)
            where = " AND ".join(["fts MATCH ?", *conds])
            return [(
                "CREATE TEMP TABLE m AS SELECT f.id AS id, "
                f"{COORD * c.credit!r} + {_title_credit(c, COORD)} "
                f"+ {c.weight!r} * -bm25(fts, {weights}) AS score, "
                "NULL AS syn, f.published_us AS published_us, f.day AS day, "
                f"f.fk AS fk FROM fts CROSS JOIN facts f ON f.id = fts.rowid WHERE {where}",
                [f"({_clause_expr(c)}){suffix}", *params],
            )], []  # fmt: skip
        labels: list[str] = []
        units = sorted({c.unit for c in clauses})
        opt = [gi for gi, g in enumerate(plan.groups) if not g.required]
        # One row per post, kept by upsert: per unit the best clause's credit (and
        # the title's), the typed clauses' bm25 sum and the best synonym's score;
        # per optional word whether it matched; the proximity bonuses. (A row per
        # post and unit, grouped afterwards, cost a third more at 1M posts.)
        cols = [f"cr{u} REAL DEFAULT 0, tc{u} REAL DEFAULT 0, s{u} REAL DEFAULT 0, ss{u} REAL DEFAULT 0" for u in units]  # fmt: skip
        cols += [f"g{gi} INTEGER DEFAULT 0" for gi in opt]
        out: list[tuple[str, list[Any]]] = [(
            f"CREATE TEMP TABLE c (id INTEGER PRIMARY KEY, syn TEXT, p REAL DEFAULT 0, {', '.join(cols)})",
            [],
        )]  # fmt: skip
        conds, params = self._filter_conds(cq)
        min_match = plan.min_match if not plan.required else 0
        if plan.full:
            min_match = len(plan.optional)
        keep = ""
        if min_match >= 2 and not plan.full and len(plan.optional) <= MAX_KEEP_GROUPS:
            # A post needs min_match words: find those posts first (ids only, cheap in
            # FTS5), so each clause computes bm25 for them alone, not for every post
            # with its word (a common word of three is most of a query's time). Not
            # part of the clause's MATCH, where its phrases would add to bm25.
            gates = [
                "(" + " OR ".join(_clause_expr(c) for c in g.clauses) + ")" for g in plan.optional
            ]
            some = " OR ".join(
                "(" + " AND ".join(combo) + ")" for combo in combinations(gates, min_match)
            )
            out.append(("CREATE TEMP TABLE k (id INTEGER PRIMARY KEY)", []))
            out.append(("INSERT INTO k SELECT rowid FROM fts WHERE fts MATCH ?", [f"({some}){suffix}"]))  # fmt: skip
            keep = " AND +rowid IN (SELECT id FROM k)"  # +: scan and filter, not a probe per id
        for gi, g in enumerate(plan.groups):
            for c in g.clauses:
                u = c.unit
                score = f"{c.weight!r} * -bm25(fts, {weights})"
                names = [f"cr{u}", f"tc{u}", f"ss{u}" if c.kind == "synonym" else f"s{u}"]
                values = [repr(c.credit), _title_credit(c), score]
                sets = [
                    f"cr{u} = max(cr{u}, excluded.cr{u})",
                    f"tc{u} = max(tc{u}, excluded.tc{u})",
                ]
                if c.kind == "synonym":  # a unit's synonyms are alternatives: the best one
                    labels.append(c.label)
                    names.append("syn")
                    values.append(f"'{len(labels) - 1}'")
                    sets += [
                        f"ss{u} = max(ss{u}, excluded.ss{u})",
                        "syn = CASE WHEN syn IS NULL THEN excluded.syn "
                        "ELSE syn || ',' || excluded.syn END",
                    ]
                else:
                    sets.append(f"s{u} = s{u} + excluded.s{u}")
                if not g.required:
                    names.append(f"g{gi}")
                    values.append("1")
                    sets.append(f"g{gi} = 1")
                out.append((
                    f"INSERT INTO c (id, {', '.join(names)}) SELECT rowid, {', '.join(values)} "
                    f"FROM fts WHERE fts MATCH ?{keep} ON CONFLICT (id) DO UPDATE SET {', '.join(sets)}",
                    [f"({_clause_expr(c)}){suffix}"],
                ))  # fmt: skip
        for a, b in plan.near:  # a constant per pair, not counted as a word
            out.append((
                f"INSERT INTO c (id, p) SELECT rowid, {PROX_BONUS!r} FROM fts WHERE fts MATCH ?"
                f"{keep} ON CONFLICT (id) DO UPDATE SET p = p + excluded.p",
                [f"({{title_tok text_tok}} : NEAR({_quote(a)} {_quote(b)}, {PROX_SLOP})){suffix}"],
            ))  # fmt: skip
        coord = " + ".join(f"cr{u} + tc{u}" for u in units)
        text = " + ".join(f"s{u} + ss{u}" for u in units)
        if min_match >= 2:
            conds = [f"c.g{' + c.g'.join(map(str, opt))} >= {int(min_match)}", *conds]
        # CROSS JOIN keeps the clause rows outermost (one probe of facts per post).
        out.append((
            f"CREATE TEMP TABLE m AS SELECT c.id AS id, {COORD!r} * ({coord}) + {text} + p AS score, "
            "c.syn AS syn, "
            "f.published_us AS published_us, f.day AS day, f.fk AS fk "
            "FROM c CROSS JOIN facts f ON f.id = c.id"
            + (" WHERE " + " AND ".join(conds) if conds else ""),
            params,
        ))  # fmt: skip
        return out, labels

    def _filter_conds(self, cq: CompiledQuery) -> tuple[list[str], list[Any]]:
        conds: list[str] = []
        params: list[Any] = []
        for col, val, op in (
            ("category", cq.category, "="),
            ("area", cq.area, "="),
            ("source", cq.source, "="),
            ("severity", cq.severity, "="),
            ("severity", cq.severity_min, ">="),
            ("published_us", cq.since and _to_us(cq.since), ">="),
            ("published_us", cq.until and _to_us(cq.until), "<"),
        ):
            if val is not None:
                conds.append(f"f.{col} {op} ?")
                params.append(val)
        return conds, params

    def _from_where(self, cq: CompiledQuery) -> tuple[str, str, list[Any], str]:
        """FROM and WHERE of a query without words (filters and exclusions only)."""
        params: list[Any] = []
        conds: list[str] = []
        frm, score = "FROM facts f", "0.0"
        if cq.excluded:
            conds.append("f.id NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
            params.append(" OR ".join(_fts_term(t) for t in cq.excluded))
        fconds, fparams = self._filter_conds(cq)
        conds += fconds
        params += fparams
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        return frm, where, params, score

    def _tag_filters(self, cq: CompiledQuery) -> list[list[str]]:
        """Filters as OR-groups of tag tokens. They narrow the match inside FTS5;
        the exact filters on ``facts`` still apply (a month tag is coarser than
        since/until)."""
        groups: list[list[str]] = []
        for kind, val in (("c", cq.category), ("a", cq.area), ("s", cq.source)):
            if val is not None:
                groups.append([_tag(kind, val)])
        if cq.severity is not None:
            groups.append([f"zzv{cq.severity}"])
        elif cq.severity_min is not None:
            groups.append([f"zzv{v}" for v in range(max(1, cq.severity_min), 5)])
        if cq.since is not None:
            first = cq.since.astimezone(self.tz).date()
            if cq.until is not None:
                last = (cq.until - timedelta(microseconds=1)).astimezone(self.tz).date()
            else:
                # max over the published index is one seek; max(day) would scan.
                newest = self._db.execute("SELECT max(published_us) FROM facts").fetchone()[0]
                newest_day = self._day(_from_us(newest)) if newest is not None else None
                last = date.fromisoformat(newest_day) if newest_day else first
            months = _months(first, last)
            if months and len(months) <= MAX_MONTH_TAGS:
                groups.append(months)
        return [[f'"{t}"' for t in g] for g in groups if g]

    def _facets(self) -> dict[str, dict[str, int]]:
        """Counts per value of each facet field over the matches: one integer per
        match (``fk``, its facet values together) counted here, then spread over
        the fields; the values' text is read once per combination, not per match
        (the counts were a third of a ranked query's time at 1M posts)."""
        counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
        per_key = Counter(r[0] for r in self._db.execute("SELECT fk FROM m").fetchall())
        cols = ", ".join(FACET_FIELDS)
        for fk, *values in self._db.execute(f"SELECT id, {cols} FROM fkeys"):
            n = per_key.get(fk)
            if not n:
                continue
            for name, value in zip(FACET_FIELDS, values, strict=True):
                if value is not None:
                    key = str(value)
                    counts[name][key] = counts[name].get(key, 0) + n
        return {
            name: dict(sorted(c.items(), key=lambda kv: (-kv[1], _facet_key(kv[0])))[:FACET_SIZE])
            for name, c in counts.items()
        }

    def _histogram(self, interval: str) -> list[tuple[datetime, int]]:
        days = Counter(
            r[0] for r in self._db.execute("SELECT day FROM m WHERE day IS NOT NULL").fetchall()
        )
        counts: Counter[date] = Counter()
        for d, n in days.items():
            day = date.fromisoformat(d)
            if interval == "week":  # Monday, as Elasticsearch's calendar weeks start
                day -= timedelta(days=day.weekday())
            counts[day] += n
        return fill_histogram(dict(counts), interval, self.tz)


class EmbeddedRebuild:
    """Builds a fresh index in a new file beside the live one, then swaps it in.

    The swap copies the new file into the live database with SQLite's online
    backup API, inside one write transaction: readers in this and other
    processes (the console) keep their snapshot of the old index until it
    commits and never see a half-built or empty one, and nobody has to reopen
    the file (renaming over a WAL database under open connections is unsafe).
    """

    def __init__(self, live: EmbeddedBackend) -> None:
        self.live = live
        self.path = live.path.with_name(f"{live.path.name}.rebuild-{os.getpid()}")
        _remove_db(self.path)
        self.new = EmbeddedBackend(
            self.path, live.tokenize, timezone=live.tz, synonyms=live.synonyms
        )
        self.new._db.execute("PRAGMA synchronous=OFF")  # a crash mid-build just restarts it

    def index(self, docs: Sequence[IndexDoc]) -> list[tuple[int, str]]:
        return self.new.index(docs)

    def commit(self) -> None:
        self.new.optimize()
        live = self.live
        with live._lock:
            try:
                self.new._db.backup(live._db)
            except sqlite3.Error as exc:
                raise BackendError(
                    f"index {live.path}: swapping in the rebuild failed: {exc}"
                ) from exc
        self.abort()

    def abort(self) -> None:
        self.new.close()
        _remove_db(self.path)


def _facet_key(value: str) -> tuple[int, Any]:
    """Ties in a facet: by value, as SQL's ORDER BY n DESC, value did (numbers as numbers)."""
    return (0, int(value)) if value.isdigit() else (1, value)


def _title_credit(c: Clause, scale: float = 1.0) -> str:
    """SQL for the title's coordination credit of a clause's row: bm25 with the
    title alone weighted is non-zero only when the match is in the title (the
    same scan as the clause's score, no second pass)."""
    if not c.in_title_counts:
        return "0.0"
    return (
        f"(CASE WHEN bm25(fts, 1.0, 0.0, 0.0, 0.0) < 0 THEN {scale * TITLE_CREDIT!r} ELSE 0.0 END)"
    )


def _labels(syn: str | None, labels: list[str]) -> list[str]:
    if not syn:
        return []
    return sorted({labels[int(i)] for i in str(syn).split(",") if i.strip().isdigit()})


def _remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


class _Txn:
    """BEGIN IMMEDIATE ... COMMIT under the backend lock; sqlite errors become BackendError."""

    def __init__(self, backend: EmbeddedBackend, begin: str) -> None:
        self.b, self.begin = backend, begin

    def __enter__(self) -> None:
        self.b._lock.acquire()
        try:
            self.b._db.execute(self.begin)
        except sqlite3.Error as exc:
            self.b._lock.release()
            raise BackendError(f"index {self.b.path} is not writable: {exc}") from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.b._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.Error as err:
            if exc_type is None:
                raise BackendError(f"index {self.b.path}: commit failed: {err}") from err
        finally:
            self.b._lock.release()


def _split_sql(script: str) -> list[str]:
    """Statements of a script whose triggers contain inner semicolons."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and (
            not joined.startswith("CREATE TRIGGER") or joined.endswith("END;")
        ):
            out.append(joined)
            buf = []
    return out
