"""The search-cluster backend both servers share: Elasticsearch and OpenSearch.

Documents live in a versioned index ``<name>-v<N>`` behind the alias
``<name>``; :meth:`ClusterBackend.clear` (the start of a rebuild from the
store) creates the next version and swaps the alias atomically. Text fields
hold space-joined jieba tokens analysed by ``whitespace`` (plus lowercase) by
default, so the cluster and the embedded index see the same words.

The mapping, the queries, bulk indexing and the reading of hits are one code
for both servers; :mod:`index.elasticsearch` and :mod:`index.opensearch` give
it their client library's calls, errors and bulk helper (the two clients name
request bodies differently, and raise different exception classes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from index.base import (
    FACET_FIELDS,
    BackendError,
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
from index.text import SNIPPET_CHARS, doc_tokens, highlight, snippet, sub_tokens

if TYPE_CHECKING:
    from yuqing.contracts import IndexDoc
    from yuqing.settings import IndexSettings

MAPPING_VERSION = 1
TITLE_BOOST = 3.0
SUB_BOOST = 0.5
# BM25F field weights of a scored clause, as the embedded index's bm25 weights
# (combined_fields needs weights >= 1).
FIELDS = ["title_tok^6", "text_tok^2", "sub_tok^1"]
_SYN = "syn:"  # prefix of the named queries that report a synonym's match
# Lucene's BM25 scores run higher than FTS5's bm25 on the same posts (its idf is
# log(1 + ...) and never clamped); scaling the clause weights keeps the ratio of
# text score to COORD, and so the two backends' orderings, alike.
SCORE_SCALE = 0.5
FACET_SIZE = 50
DEEP_PAGE_FROM = 10_000  # the clusters' default index.max_result_window
_PRE, _POST = "\u0002", "\u0003"  # highlight tags that cannot occur in cleaned text
_TAGGED = re.compile(f"{_PRE}(.*?){_POST}")
_ERRNO = re.compile(r"\[Errno -?\d+\] [^)'\"\[\]]*[^)'\"\[\]\s]")


def mapping(analyzer: str) -> dict[str, Any]:
    """The explicit mapping; ``orig`` keeps the original text in _source, unindexed."""
    return {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "long"},
            "title_tok": {"type": "text", "analyzer": analyzer},
            "text_tok": {"type": "text", "analyzer": analyzer},
            "sub_tok": {"type": "text", "analyzer": analyzer},
            "orig": {"type": "object", "enabled": False},
            "category": {"type": "keyword"},
            "area": {"type": "keyword"},
            "source": {"type": "keyword"},
            "status": {"type": "keyword"},
            "severity": {"type": "integer"},
            "event_id": {"type": "long"},
            "published_at": {"type": "date"},
            "url": {"type": "keyword", "index": False},
        },
    }


def connection_options(settings: IndexSettings) -> dict[str, Any]:
    """A secured cluster's connection settings in neutral names (unset ones left out):
    ``timeout`` seconds, ``max_retries``, ``retry_on_timeout``, ``verify_certs``,
    ``ssl_show_warn``, ``ca_certs``, ``api_key``, ``basic_auth`` (user, password).
    Each backend renames the few its client spells otherwise."""
    password = settings.password.get_secret_value() if settings.password else ""
    opts: dict[str, Any] = {
        "timeout": settings.request_timeout.total_seconds(),
        "max_retries": settings.max_retries,
        "retry_on_timeout": settings.max_retries > 0,
        "verify_certs": settings.verify_certs,
        # unverified TLS is said once at start-up (open_backend), not on every request
        "ssl_show_warn": settings.verify_certs,
        "ca_certs": None if settings.ca_certs is None else str(settings.ca_certs),
        "api_key": settings.api_key.get_secret_value() if settings.api_key else None,
        "basic_auth": None if settings.username is None else (settings.username, password),
    }
    return {k: v for k, v in opts.items() if v is not None}


def _causes(exc: BaseException, depth: int = 4) -> list[str]:
    """The messages of an error and of what caused it (elastic-transport keeps those in
    ``errors``, opensearch-py in ``info``)."""
    out = [str(exc)]
    if depth > 0:
        inner = [*getattr(exc, "errors", ()), getattr(exc, "info", None), exc.__cause__]
        for e in inner:
            if isinstance(e, BaseException):
                out += _causes(e, depth - 1)
    return out


class ClusterBackend:
    """Search backend over an Elasticsearch or OpenSearch cluster; the client is injected.

    A subclass names its server (``kind``), the exceptions its client raises
    (``errors``, ``not_found``), its bulk helper and the few calls whose
    request bodies the two clients spell differently.
    """

    kind: ClassVar[str] = "cluster"
    errors: ClassVar[tuple[type[Exception], ...]] = ()
    not_found: ClassVar[type[Exception]] = LookupError

    def __init__(
        self,
        client: Any,
        name: str,
        tokenize: Tokenize,
        *,
        timezone: str | tzinfo = "Asia/Shanghai",
        analyzer: str = "whitespace",
        refresh: bool | str = False,
        deep_page_from: int = DEEP_PAGE_FROM,
        page_batch: int = 1000,
        create: bool = True,
        synonyms: Synonyms = EMPTY,
        bulk_size: int = 500,
    ) -> None:
        self.client = client
        self.alias = name
        self.tokenize = tokenize
        self.synonyms = synonyms
        self.tz = resolve_tz(timezone)
        self.analyzer = analyzer
        self.refresh = refresh
        self.deep_page_from = deep_page_from
        self.page_batch = page_batch
        self.bulk_size = bulk_size  # documents per bulk request
        self._ready = False  # the alias is known to exist
        if create:
            self.ensure_index()

    @property
    def es(self) -> Any:
        """The client (the name the Elasticsearch backend always had)."""
        return self.client

    # -- what differs between the two clients ------------------------------------

    def _bulk_helper(self) -> Callable[..., tuple[int, Any]]:
        raise NotImplementedError

    def _send_search(self, index: str, body: dict[str, Any], **params: Any) -> Any:
        raise NotImplementedError

    def _send_create(self, index: str, mappings: dict[str, Any], settings: Any = None) -> Any:
        raise NotImplementedError

    def _send_update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        raise NotImplementedError

    def location(self) -> str:
        """The cluster's address(es), for ``describe`` (no credentials)."""
        raise NotImplementedError

    def _token_query(self, token: str) -> dict[str, Any]:
        """One token scored as BM25F over the weighted fields."""
        return {"combined_fields": {"query": token, "fields": FIELDS}}

    def _failed(self, exc: BaseException, doing: str = "") -> BackendError:
        """The error in few words. An unreachable cluster is said as the OS says it
        ("[Errno 111] Connection refused"), not as the client's nested reprs: the
        message reaches people (the console, ``yuqing index status``)."""
        text = str(exc)
        refused = _ERRNO.search(" ".join(_causes(exc)))
        if refused:
            return BackendError(f"{self.kind}: {self.location()} unreachable, {refused[0]}")
        if "timeout" in type(exc).__name__.lower() or "timed out" in text:
            return BackendError(f"{self.kind}: {self.location()} timeout")
        return BackendError(f"{self.kind}: {doing}: {text}" if doing else f"{self.kind}: {text}")

    # -- versioned index behind an alias ----------------------------------------

    def versioned(self, version: int) -> str:
        return f"{self.alias}-v{version}"

    def current_index(self) -> str | None:
        """The concrete index the alias points at, or None."""
        try:
            found = self.client.indices.get_alias(name=self.alias)
        except self.not_found:
            return None
        except self.errors as exc:
            raise self._failed(exc, f"cannot read alias {self.alias}") from exc
        names = sorted(getattr(found, "body", found))
        return names[-1] if names else None

    def _ensure(self) -> None:
        """Create the index at first use when it was opened without (``create=False``, or
        a cluster unreachable at start-up): a bulk write to a missing alias would make
        a plain index with guessed mappings."""
        if not self._ready:
            self.ensure_index()

    def ensure_index(self) -> str:
        """Create ``<name>-v<MAPPING_VERSION>`` and the alias unless the alias exists."""
        current = self.current_index()
        if current is not None:
            self._ready = True
            return current
        if self._exists(self.alias):
            raise BackendError(
                f"{self.kind}: {self.alias!r} is a plain index, not an alias; "
                f"reindex it into {self.versioned(MAPPING_VERSION)!r} and alias it"
            )
        target = self.versioned(MAPPING_VERSION)
        if not self._exists(target):
            self._create(target)
        self._call(self.client.indices.put_alias, index=target, name=self.alias)
        self._ready = True
        return target

    def _exists(self, index: str) -> bool:
        return bool(self._call(self.client.indices.exists, index=index))

    def _create(self, index: str) -> None:
        analysis = {}
        if self.analyzer == "whitespace":
            # Tokens are lower-cased before indexing; lowercase here keeps ad-hoc docs consistent.
            analysis = {
                "analyzer": {
                    "yuqing_ws": {
                        "type": "custom",
                        "tokenizer": "whitespace",
                        "filter": ["lowercase"],
                    }
                }
            }
        analyzer = "yuqing_ws" if analysis else self.analyzer
        self._call(
            self._send_create,
            index=index,
            mappings=mapping(analyzer),
            settings={"number_of_shards": 1, "analysis": analysis} if analysis else None,
        )

    def _call(self, fn: Any, **kw: Any) -> Any:
        kw = {k: v for k, v in kw.items() if v is not None}
        try:
            return fn(**kw)
        except self.errors as exc:
            raise self._failed(exc) from exc

    # -- SearchBackend -----------------------------------------------------------

    def index(self, docs: Sequence[IndexDoc]) -> list[tuple[int, str]]:
        self._ensure()
        return self._bulk_index(docs, None)

    def _bulk_index(self, docs: Sequence[IndexDoc], target: str | None) -> list[tuple[int, str]]:
        failures: list[tuple[int, str]] = []
        actions: list[dict[str, Any]] = []
        for doc in docs:
            reason = validate_doc(doc)
            if reason is None:
                try:
                    actions.append(self._action(doc, target))
                except Exception as exc:  # a tokeniser failure concerns this document only
                    reason = f"tokenising failed: {type(exc).__name__}: {exc}"
            if reason is not None:
                failures.append((doc.id if isinstance(doc.id, int) else -1, reason))
        if not actions:
            return failures
        try:
            _, errors = self._bulk_helper()(
                self.client,
                actions,
                raise_on_error=False,
                raise_on_exception=False,
                refresh=self.refresh,
                chunk_size=self.bulk_size,
            )
        except self.errors as exc:
            raise self._failed(exc, "bulk indexing failed") from exc
        errors = errors if isinstance(errors, list) else []
        # A request that failed whole (opensearch-py reports even a refused connection
        # this way) concerns no one document: the batch stays queued.
        whole = [e for err in errors for e in err.values() if e.get("exception") is not None]
        if whole:
            raise self._failed(whole[0]["exception"], "bulk indexing failed")
        for err in errors:
            item = next(iter(err.values()))
            error = item.get("error") or item.get("exception") or item.get("status")
            if isinstance(error, dict):
                error = f"{error.get('type')}: {error.get('reason')}"
            failures.append((int(item.get("_id", -1)), str(error)))
        return failures

    def _action(self, doc: IndexDoc, target: str | None = None) -> dict[str, Any]:
        pub = doc.published_at
        if pub is not None and pub.tzinfo is None:
            pub = pub.replace(tzinfo=UTC)
        title_tok, text_tok = doc_tokens(self.tokenize, doc)
        return {
            "_op_type": "index",  # replaces the whole document: upsert by id
            "_index": target or self.alias,
            "_id": str(doc.id),
            "id": doc.id,
            "title_tok": " ".join(title_tok),
            "text_tok": " ".join(text_tok),
            "sub_tok": " ".join(sub_tokens(title_tok + text_tok)),
            "orig": {"title": doc.title, "text": doc.text},
            "category": doc.category,
            "area": doc.area,
            "source": doc.source,
            "status": doc.status or "new",
            "severity": doc.severity,
            "event_id": doc.event_id,
            "published_at": None if pub is None else pub.astimezone(UTC).isoformat(),
            "url": doc.url,
        }

    def delete(self, ids: Iterable[int]) -> None:
        actions = [{"_op_type": "delete", "_index": self.alias, "_id": str(int(i))} for i in ids]
        if not actions:
            return
        try:
            _, errors = self._bulk_helper()(
                self.client,
                actions,
                raise_on_error=False,
                refresh=self.refresh,
                chunk_size=self.bulk_size,
            )
        except self.errors as exc:
            raise self._failed(exc, "delete failed") from exc
        real = [e for e in errors if next(iter(e.values())).get("status") != 404]  # type: ignore[union-attr]
        if real:
            raise BackendError(f"{self.kind}: delete failed for {len(real)} ids: {real[:3]}")

    def count(self) -> int:
        self._ensure()
        return int(self._call(self.client.count, index=self.alias)["count"])

    def _next_index(self, old: str | None) -> str:
        version = MAPPING_VERSION
        if old is not None:
            m = re.search(r"-v(\d+)$", old)
            version = max(MAPPING_VERSION, int(m.group(1)) + 1 if m else 1)
        target = self.versioned(version)
        if self._exists(target):  # left over from an aborted rebuild
            self._call(self.client.indices.delete, index=target)
        self._create(target)
        return target

    def _swap(self, old: str | None, target: str) -> None:
        """Move the alias in one atomic update_aliases call, then drop the old index."""
        actions: list[dict[str, Any]] = [{"add": {"index": target, "alias": self.alias}}]
        if old is not None:
            actions.insert(0, {"remove": {"index": old, "alias": self.alias}})
        self._call(self._send_update_aliases, actions=actions)
        if old is not None:
            self._call(self.client.indices.delete, index=old)

    def clear(self) -> None:
        """Start over in the next index version; the alias moves atomically."""
        old = self.current_index()
        self._swap(old, self._next_index(old))

    def describe(self) -> dict[str, str]:
        try:
            current = self.current_index() or ""
        except BackendError:  # unreachable: the rest is still known
            current = ""
        return {
            "backend": self.kind,
            "location": self.location(),
            "alias": self.alias,
            "index": current,
        }

    def begin_rebuild(self) -> ClusterRebuild:
        return ClusterRebuild(self)

    def close(self) -> None:
        self.client.close()

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # ping must answer, not raise
            return False

    def search(self, q: SearchQuery) -> SearchResult:
        cq = compile_query(q, self.tokenize, self.tz, self.synonyms)
        self._ensure()
        if cq.has_terms and cq.plan.tries_full:  # as the embedded index: all words first
            full = self._search(replace(cq, plan=cq.plan.all_words()))
            if full.total >= FULL_MATCH_MIN:
                return full
            result = self._search(cq)
            result.partial = True
            return result
        return self._search(cq)

    def _search(self, cq: CompiledQuery) -> SearchResult:
        body: dict[str, Any] = {"query": self._query(cq), "track_total_hits": True}
        if cq.has_terms and cq.sort == "relevance":
            sort: list[Any] = [{"_score": "desc"}]
        else:
            sort = []
        sort += [
            {"published_at": {"order": "desc", "missing": "_last"}},
            {"id": {"order": "desc"}},
        ]
        body["sort"] = sort
        aggs: dict[str, Any] = {}
        if cq.facets:
            for name in FACET_FIELDS:
                aggs[name] = {"terms": {"field": name, "size": FACET_SIZE}}
        if cq.histogram:
            aggs["histogram"] = {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": cq.histogram,
                    "time_zone": str(self.tz),
                    "min_doc_count": 1,
                }
            }
        if aggs:
            body["aggs"] = aggs
        if cq.has_terms:
            body["highlight"] = {
                "pre_tags": [_PRE],
                "post_tags": [_POST],
                "fields": {"title_tok": {"number_of_fragments": 0}, "text_tok": {}},
            }
        if cq.offset + cq.limit > self.deep_page_from:
            resp, hits = self._deep_page(body, cq)
        else:
            resp = self._call(
                self._send_search, index=self.alias, body=body, size=cq.limit, from_=cq.offset
            )
            hits = resp["hits"]["hits"]
        total = resp["hits"]["total"]["value"]
        terms = cq.highlight_terms()
        return SearchResult(
            total=int(total),
            hits=[self._hit(h, terms) for h in hits],
            facets=self._facets(resp) if cq.facets else {},
            histogram=self._histogram(resp, cq.histogram) if cq.histogram else [],
            expansions=cq.plan.expansions,
        )

    def _deep_page(self, body: dict[str, Any], cq: CompiledQuery) -> tuple[Any, list[Any]]:
        """Walk with search_after to ``offset``: from+size past max_result_window fails.

        A relevance score handed back as ``search_after`` can round below the
        score it came from, so the next page may repeat the last posts: they
        are skipped by id, and the walk counts distinct posts."""
        lean = {k: v for k, v in body.items() if k not in ("aggs", "track_total_hits")}
        end = cq.offset + cq.limit
        first: Any = None
        after: list[Any] = []
        seen: set[str] = set()
        ordered: list[Any] = []
        while len(ordered) < end:
            # + 2: room for the repeated posts of a rounded score
            size = min(self.page_batch, end - len(ordered)) + 2
            if first is None:
                resp = self._call(self._send_search, index=self.alias, body=body, size=size)
                first = resp
            else:
                resp = self._call(
                    self._send_search,
                    index=self.alias,
                    body={**lean, "search_after": after},
                    size=size,
                )
            page = resp["hits"]["hits"]
            fresh = [h for h in page if h["_id"] not in seen]
            seen.update(h["_id"] for h in fresh)
            ordered += fresh
            if len(page) < size or not fresh:
                break
            after = page[-1]["sort"]
        return first, ordered[cq.offset : end]

    def _query(self, cq: CompiledQuery) -> dict[str, Any]:
        """Ranked matching as the embedded index does it (index.query.build_plan):
        required groups must match; at least ``min_match`` optional groups
        (any clause) must; each unit scores COORD x its best clause's credit
        (dis_max of constant scores) plus its typed clauses' BM25F and its best
        synonym's."""
        plan = cq.plan
        must: list[dict[str, Any]] = []
        should: list[dict[str, Any]] = []
        filters: list[dict[str, Any]] = []
        for g in plan.required:
            must.append({"bool": {"should": [self._term(t) for t in g.gate], "minimum_should_match": 1}})  # fmt: skip
        min_match = plan.min_match if not plan.required else 0
        if plan.full:
            min_match = len(plan.optional)
        if plan.optional and min_match > 0:
            gates = [
                {
                    "bool": {
                        "should": [self._clause(c) for c in g.clauses],
                        "minimum_should_match": 1,
                    }
                }
                for g in plan.optional
            ]
            filters.append({"bool": {"should": gates, "minimum_should_match": min_match}})
        units: dict[int, list[Clause]] = {}
        for g in plan.groups:
            for c in g.clauses:
                units.setdefault(c.unit, []).append(c)
        for clauses in units.values():
            should.append({
                "dis_max": {
                    "queries": [
                        {"constant_score": {"filter": self._clause(c), "boost": COORD * c.credit}}
                        for c in clauses
                    ]
                }
            })  # fmt: skip
            titled = [c for c in clauses if c.in_title_counts]
            if titled:  # the title's own coordination, as the embedded index counts it
                should.append({
                    "dis_max": {
                        "queries": [
                            {"constant_score": {"filter": self._in_title(c), "boost": COORD * TITLE_CREDIT}}
                            for c in titled
                        ]
                    }
                })  # fmt: skip
            should += [self._clause(c, scored=True) for c in clauses if c.kind != "synonym"]
            syns = [self._clause(c, scored=True) for c in clauses if c.kind == "synonym"]
            if syns:
                should.append({"dis_max": {"queries": syns}})
        for a, b in plan.near:  # proximity, as the embedded index's NEAR rows
            # Either order: a sloppy phrase counts a swap as two moves, NEAR none. (A
            # word of several tokens may spread within the slop here; NEAR keeps it whole.)
            near = [
                {"match_phrase": {f: {"query": " ".join(x + y), "slop": PROX_SLOP}}}
                for f in ("title_tok", "text_tok")
                for x, y in ((a, b), (b, a))
            ]
            should.append({
                "constant_score": {
                    "filter": {"bool": {"should": near, "minimum_should_match": 1}},
                    "boost": PROX_BONUS,
                }
            })  # fmt: skip
        for name in ("category", "area", "source", "severity"):
            val = getattr(cq, name)
            if val is not None:
                filters.append({"term": {name: val}})
        if cq.severity_min is not None:
            filters.append({"range": {"severity": {"gte": cq.severity_min}}})
        rng: dict[str, str] = {}
        if cq.since is not None:
            rng["gte"] = cq.since.isoformat()
        if cq.until is not None:
            rng["lt"] = cq.until.isoformat()
        if rng:
            filters.append({"range": {"published_at": rng}})
        if not must and not should:
            must = [{"match_all": {}}]
        body: dict[str, Any] = {
            "must": must,
            "filter": filters,
            "must_not": [self._term(t) for t in cq.excluded],
        }
        if should:  # optional: the gates above (must or filter) decide what matches
            body["should"] = should
        return {"bool": body}

    def _in_title(self, c: Clause) -> dict[str, Any]:
        text = " ".join(c.tokens)
        if len(c.tokens) == 1:
            return {"match": {"title_tok": {"query": text}}}
        return {"match_phrase": {"title_tok": {"query": text}}}

    def _clause(self, c: Clause, *, scored: bool = False) -> dict[str, Any]:
        """One clause: a token in any field (BM25F over the weighted fields) or a
        phrase in the title or text. ``scored`` gives it its weight (and a
        synonym its name, so a hit can say it matched by it)."""
        if len(c.tokens) == 1:
            q: dict[str, Any] = self._token_query(c.tokens[0])
            if scored:
                next(iter(q.values()))["boost"] = c.weight * SCORE_SCALE
        else:
            text = " ".join(c.tokens)
            w = c.weight * SCORE_SCALE if scored else 1.0
            q = {
                "bool": {
                    "should": [
                        {"match_phrase": {"title_tok": {"query": text, "boost": 3.0 * w}}},
                        {"match_phrase": {"text_tok": {"query": text, "boost": w}}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        if scored and c.kind == "synonym":
            q = {"bool": {"should": [q], "_name": _SYN + c.label}}
        return q

    def _term(self, t: Term) -> dict[str, Any]:
        """A word (all tokens, in title or text) or a phrase; title counts more."""

        def one(tokens: Sequence[str], phrase: bool) -> dict[str, Any]:
            kind = "match_phrase" if phrase else "match"
            text = " ".join(tokens)
            should: list[dict[str, Any]] = [
                {kind: {"title_tok": {"query": text, "boost": TITLE_BOOST}}},
                {kind: {"text_tok": {"query": text}}},
            ]
            if not phrase:  # phrases keep jieba's positions: no sub-words
                should.append({kind: {"sub_tok": {"query": text, "boost": SUB_BOOST}}})
            return {"bool": {"should": should, "minimum_should_match": 1}}

        if t.phrase or len(t.tokens) == 1:
            return one(t.tokens, t.phrase)
        return {"bool": {"must": [one([tok], False) for tok in t.tokens]}}

    def _hit(self, h: dict[str, Any], terms: set[str]) -> SearchHit:
        src = h["_source"]
        orig = src.get("orig") or {}
        matched = set(terms)
        for frags in (h.get("highlight") or {}).values():
            for frag in frags:
                matched.update(m.lower() for m in _TAGGED.findall(frag))
        pub = src.get("published_at")
        title, text = orig.get("title", ""), orig.get("text", "")
        return SearchHit(
            id=int(src["id"]),
            title=title,
            text=text,
            snippet=snippet(text, matched, SNIPPET_CHARS),
            category=src.get("category"),
            severity=int(src["severity"]),
            area=src.get("area"),
            source=src["source"],
            published_at=None if pub is None else datetime.fromisoformat(pub).astimezone(UTC),
            url=src.get("url"),
            score=float(h.get("_score") or 0.0),
            title_html=highlight(title, matched),
            status=src.get("status") or "new",
            event_id=src.get("event_id"),
            expanded=sorted(
                {n.removeprefix(_SYN) for n in h.get("matched_queries") or [] if n.startswith(_SYN)}
            ),
        )

    def _facets(self, resp: Any) -> dict[str, dict[str, int]]:
        aggs = resp.get("aggregations") or {}
        return {
            name: {
                str(b["key"]): int(b["doc_count"]) for b in aggs.get(name, {}).get("buckets", [])
            }
            for name in FACET_FIELDS
        }

    def _histogram(self, resp: Any, interval: str) -> list[tuple[datetime, int]]:
        buckets = (resp.get("aggregations") or {}).get("histogram", {}).get("buckets", [])
        counts: dict[date, int] = {}
        for b in buckets:
            if b["doc_count"]:
                # key is epoch ms of the bucket's local midnight
                day = datetime.fromtimestamp(b["key"] / 1000, UTC).astimezone(self.tz).date()
                counts[day] = counts.get(day, 0) + int(b["doc_count"])
        return fill_histogram(counts, interval, self.tz)


class ClusterRebuild:
    """Fills the next versioned index while the alias still serves the old one;
    ``commit`` moves the alias in one atomic call (no downtime)."""

    def __init__(self, live: ClusterBackend) -> None:
        self.live = live
        self.old = live.current_index()
        self.target = live._next_index(self.old)

    def index(self, docs: Sequence[IndexDoc]) -> list[tuple[int, str]]:
        return self.live._bulk_index(docs, self.target)

    def commit(self) -> None:
        self.live._call(self.live.client.indices.refresh, index=self.target)
        # The alias may have moved since we started (another rebuild): re-read it.
        self.live._swap(self.live.current_index(), self.target)

    def abort(self) -> None:
        self.live._call(self.live.client.indices.delete, index=self.target)
