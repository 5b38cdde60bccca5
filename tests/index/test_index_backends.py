"""What is particular to one backend: files and processes, aliases and versions, wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from index_corpus import CORPUS
from index_testkit import make_es_backend, plain_json_node, tokenize

from index import open_backend
from index.base import BackendError, SearchBackend, SearchQuery
from index.embedded import EmbeddedBackend
from index.text import highlight, snippet, sub_tokens
from yuqing.settings import IndexSettings


def test_open_backend_embedded(tmp_path: Path) -> None:
    b = open_backend(IndexSettings(), tmp_path / "i.sqlite", tokenize)
    assert isinstance(b, EmbeddedBackend)
    assert isinstance(b, SearchBackend)
    assert b.ping()
    b.close()


def test_open_backend_elasticsearch_with_client_kwargs(es_url: str, tmp_path: Path) -> None:
    settings = IndexSettings(backend="elasticsearch", es_url=es_url, es_index="wired")
    b = open_backend(
        settings, tmp_path / "unused", tokenize, es_client_kwargs={"node_class": plain_json_node()}
    )
    assert b.ping()
    assert b.count() == 0
    b.close()


def test_writer_and_reader_share_the_file(tmp_path: Path) -> None:
    writer = EmbeddedBackend(tmp_path / "i.sqlite", tokenize)
    reader = EmbeddedBackend(tmp_path / "i.sqlite", tokenize)
    assert reader.search(SearchQuery(text="污水")).total == 0
    writer.index(CORPUS)
    assert reader.search(SearchQuery(text="污水")).total == 3
    assert reader.count() == len(CORPUS)
    writer.close()
    reader.close()


def test_day_buckets_follow_the_time_zone(tmp_path: Path) -> None:
    b = EmbeddedBackend(tmp_path / "i.sqlite", tokenize)
    b.index(CORPUS[:1])  # 11-01 17:00 UTC
    b.close()
    utc = EmbeddedBackend(tmp_path / "i.sqlite", tokenize, timezone="UTC")
    assert [
        d.date().isoformat() for d, _ in utc.search(SearchQuery(histogram="day")).histogram
    ] == ["2026-11-01"]
    utc.close()


def test_unreachable_elasticsearch() -> None:
    from elasticsearch import Elasticsearch

    from index.elasticsearch import ElasticsearchBackend

    client = Elasticsearch("http://127.0.0.1:9", request_timeout=2, max_retries=0)
    with pytest.raises(BackendError):
        ElasticsearchBackend(client, "nowhere", tokenize)
    b = ElasticsearchBackend(client, "nowhere", tokenize, create=False)
    assert not b.ping()
    with pytest.raises(BackendError):
        b.index(CORPUS)


def test_versioned_index_behind_alias(es_url: str) -> None:
    b = make_es_backend(es_url, "posts-alias-test")
    assert b.current_index() == "posts-alias-test-v1"
    b.index(CORPUS)
    b.clear()  # next version, alias swapped, old version dropped
    assert b.current_index() == "posts-alias-test-v2"
    assert not b.es.indices.exists(index="posts-alias-test-v1")
    assert b.count() == 0
    again = make_es_backend(es_url, "posts-alias-test")  # reopening keeps the alias target
    assert again.current_index() == "posts-alias-test-v2"


def test_plain_index_in_the_alias_place(es_url: str) -> None:
    b = make_es_backend(es_url, "plain-clash", create=False)
    b.es.indices.create(index="plain-clash")
    with pytest.raises(BackendError, match="not an alias"):
        b.ensure_index()


def test_deep_pages_use_search_after(es_url: str) -> None:
    b = make_es_backend(es_url, deep_page_from=0, page_batch=3)
    b.index(CORPUS)
    shallow = make_es_backend(es_url, b.alias, deep_page_from=10_000)
    for offset in range(0, 9):
        q = SearchQuery(sort="newest", limit=2, offset=offset)
        assert [h.id for h in b.search(q).hits] == [h.id for h in shallow.search(q).hits]


def test_sub_tokens() -> None:
    assert sub_tokens(["污水排放", "污水", "农民工", "abc"]) == [
        "污水",
        "水排",
        "排放",
        "农民",
        "民工",
    ]


def test_snippet_window_and_marks() -> None:
    text = "无关内容。" * 40 + "这里有污水直排问题。" + "其他内容。" * 40
    s = snippet(text, {"污水", "直排"}, size=60)
    assert "<mark>污水直排</mark>" in s
    assert s.startswith("…") and s.endswith("…")
    assert highlight("AI said ai", {"ai"}) == "<mark>AI</mark> said <mark>ai</mark>"
    assert snippet("a<b>c", set()) == "a&lt;b&gt;c"


def test_writer_in_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    reader = EmbeddedBackend(tmp_path / "i.sqlite", tokenize)
    here = Path(__file__).parent
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from index_testkit import tokenize\nfrom index_corpus import CORPUS\n"
        "from index.embedded import EmbeddedBackend\n"
        "b = EmbeddedBackend(sys.argv[3], tokenize)\nassert b.index(CORPUS) == []\nb.close()\n"
    )
    root = here.parent.parent
    subprocess.run(
        [sys.executable, "-c", code, str(here), str(root), str(tmp_path / "i.sqlite")],
        check=True,
        timeout=60,
    )
    assert reader.count() == len(CORPUS)
    assert reader.search(SearchQuery(text="污水")).total == 3
    reader.close()


def test_app_passes_the_configured_analyzer(es_url: str, config_dir: Path, tmp_path: Path) -> None:
    from runtime.app import App
    from yuqing.settings import load_config

    (config_dir / "settings.yaml").write_text(
        "index: {backend: elasticsearch, es_index: analyzed, es_analyzer: standard}\n"
    )
    config = load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path), "YUQING_ES_URL": es_url})
    assert config.settings.index.es_analyzer == "standard"
    b = open_backend(
        config.settings.index, tmp_path / "unused", tokenize,
        es_client_kwargs={"node_class": plain_json_node()},
        es_analyzer=config.settings.index.es_analyzer,
    )  # fmt: skip
    mapping = b.es.indices.get_mapping(index="analyzed").body  # type: ignore[attr-defined]
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["text_tok"]["analyzer"] == "standard"
    b.close()
    assert App(config).config.settings.index.es_analyzer == "standard"
