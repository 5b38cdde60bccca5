"""What is particular to one backend: files and processes, aliases and versions, wiring,
a secured cluster's settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from index_corpus import CORPUS
from index_testkit import (
    SecuredGate,
    app_backend,
    drop_es,
    make_es_backend,
    plain_json_node,
    tokenize,
)

from index import open_backend
from index.base import BackendError, SearchBackend, SearchQuery
from index.embedded import EmbeddedBackend
from index.opensearch import OpenSearchBackend
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
        settings, tmp_path / "unused", tokenize, client_kwargs={"node_class": plain_json_node()}
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
        client_kwargs={"node_class": plain_json_node()},
        es_analyzer=config.settings.index.es_analyzer,
    )  # fmt: skip
    mapping = b.es.indices.get_mapping(index="analyzed").body  # type: ignore[attr-defined]
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["text_tok"]["analyzer"] == "standard"
    b.close()
    assert App(config).config.settings.index.es_analyzer == "standard"


# -- OpenSearch, on its deploy path (opensearch-py as shipped, built from the settings) --


def test_open_backend_opensearch_versioned_alias(es_url: str, tmp_path: Path) -> None:
    b = app_backend("opensearch", es_url, tmp_path, {"es_index": "os-alias-test"})
    assert isinstance(b, OpenSearchBackend) and isinstance(b, SearchBackend)
    assert b.ping() and b.count() == 0
    assert b.describe() == {
        "backend": "opensearch",
        "location": es_url,
        "alias": "os-alias-test",
        "index": "os-alias-test-v1",
    }
    assert b.index(CORPUS) == []
    b.clear()  # next version, alias swapped in one call, old version dropped
    assert b.current_index() == "os-alias-test-v2"
    assert not b.client.indices.exists(index="os-alias-test-v1")
    assert b.count() == 0
    again = app_backend("opensearch", es_url, tmp_path, {"es_index": "os-alias-test"})
    assert again.current_index() == "os-alias-test-v2"
    drop_es(b)


def test_opensearch_deep_pages_use_search_after(es_url: str) -> None:
    from index.opensearch import connect

    settings = IndexSettings(backend="opensearch", es_url=es_url)
    deep = OpenSearchBackend(connect(settings), "os-deep", tokenize, refresh=True,
                             deep_page_from=0, page_batch=3)  # fmt: skip
    deep.index(CORPUS)
    shallow = OpenSearchBackend(connect(settings), "os-deep", tokenize)
    for offset in range(0, 9):
        q = SearchQuery(sort="newest", limit=2, offset=offset)
        assert [h.id for h in deep.search(q).hits] == [h.id for h in shallow.search(q).hits]
    drop_es(deep)


def test_opensearch_scores_tokens_by_server_version(es_url: str) -> None:
    from index.opensearch import connect

    b = OpenSearchBackend(connect(IndexSettings(backend="opensearch", es_url=es_url)), "v", tokenize, create=False)  # fmt: skip
    assert b.server_version() >= (3, 2)  # osmem-server says 3.8
    assert "combined_fields" in b._token_query("污水")
    b._combined = False  # a server before 3.2 has no combined_fields
    assert b._token_query("污水")["multi_match"]["type"] == "cross_fields"


def test_unreachable_opensearch(tmp_path: Path) -> None:
    settings = IndexSettings(
        backend="opensearch", es_url="http://127.0.0.1:9", max_retries=0, request_timeout=2
    )
    with pytest.raises(BackendError, match="opensearch"):
        open_backend(settings, tmp_path, tokenize)
    b = open_backend(settings, tmp_path, tokenize, create=False)
    assert not b.ping()
    with pytest.raises(BackendError):
        b.index(CORPUS)


# -- a secured cluster: TLS with the cluster's own CA, basic auth or an API key --------


@pytest.fixture
def secured(es_url: str, tmp_path: Path) -> Iterator[SecuredGate]:
    import base64

    basic = base64.b64encode(b"yuqing:s3cret pass").decode()
    gate = SecuredGate(es_url, f"Basic {basic}", tmp_path)
    yield gate
    gate.close()


def test_opensearch_basic_auth_and_ca_from_settings(secured: SecuredGate, tmp_path: Path) -> None:
    index = {"username": "yuqing", "password": "${OS_PASSWORD}", "ca_certs": str(secured.ca_file)}
    b = app_backend("opensearch", secured.url, tmp_path, index, env={"OS_PASSWORD": "s3cret pass"})
    assert b.index(CORPUS) == [] and b.count() == len(CORPUS)
    assert b.search(SearchQuery(text="污水")).total == 3
    assert secured.seen and all(a.startswith("Basic ") for a in secured.seen)
    assert "s3cret" not in repr(b.describe())
    drop_es(b)


def test_secured_cluster_refuses_wrong_secrets_and_unknown_ca(
    secured: SecuredGate, tmp_path: Path
) -> None:
    ca = str(secured.ca_file)
    wrong = {"username": "yuqing", "password": "wrong", "ca_certs": ca, "max_retries": 0}
    # the App still opens (a cluster it cannot use at start-up delays posts, never
    # stops the service), and every use says why
    refused = app_backend("opensearch", secured.url, tmp_path, wrong)
    with pytest.raises(BackendError, match="401"):
        refused.count()
    untrusted = {"username": "yuqing", "password": "s3cret pass", "max_retries": 0}
    with pytest.raises(BackendError, match="(?i)certificate|ssl"):
        app_backend("opensearch", secured.url, tmp_path, untrusted).index(CORPUS)
    # verify_certs false: TLS without checking (the log says so at start-up)
    b = app_backend("opensearch", secured.url, tmp_path, {**untrusted, "verify_certs": False})
    assert b.ping()
    drop_es(b)


def test_api_key_reaches_both_clients(es_url: str, tmp_path: Path) -> None:
    gate = SecuredGate(es_url, "ApiKey a2V5OnNlY3JldA==", tmp_path)
    try:
        index = {"api_key": "${INDEX_API_KEY}", "ca_certs": str(gate.ca_file)}
        env = {"INDEX_API_KEY": "a2V5OnNlY3JldA=="}
        b = app_backend("opensearch", gate.url, tmp_path, index, env=env)
        assert b.index(CORPUS[:2]) == [] and b.count() == 2
        drop_es(b)
        settings = IndexSettings(
            backend="elasticsearch", es_url=gate.url, api_key="a2V5OnNlY3JldA==",
            ca_certs=gate.ca_file, es_index="es-api-key",
        )  # fmt: skip
        es = open_backend(settings, tmp_path, tokenize, client_kwargs={"node_class": plain_json_node()})  # fmt: skip
        assert es.ping() and es.count() == 0
        drop_es(es)
        assert gate.seen and set(gate.seen) == {"ApiKey a2V5OnNlY3JldA=="}
    finally:
        gate.close()


def test_index_secrets_come_from_the_environment(config_dir: Path, tmp_path: Path) -> None:
    from yuqing.settings import ConfigError, load_config

    (config_dir / "settings.yaml").write_text(
        "index: {backend: opensearch, es_url: 'https://search:9200', username: yuqing,"
        " password: '${OS_PASSWORD}', request_timeout: 30s, max_retries: 5, bulk_size: 200}\n"
    )
    with pytest.raises(ConfigError, match=r"index\.password.*OS_PASSWORD is not set"):
        load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path)})
    cfg = load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path), "OS_PASSWORD": "pw 1"})
    idx = cfg.settings.index
    assert idx.password is not None and idx.password.get_secret_value() == "pw 1"
    assert "pw 1" not in repr(idx)  # a secret, not printed with the settings
    assert (idx.request_timeout.total_seconds(), idx.max_retries, idx.bulk_size) == (30, 5, 200)
    from index.opensearch import client_options

    opts = client_options(idx)
    assert opts["http_auth"] == ("yuqing", "pw 1") and opts["timeout"] == 30
    (config_dir / "settings.yaml").write_text(
        "index: {backend: opensearch, es_url: 'https://s:9200', api_key: k, username: u}\n"
    )
    with pytest.raises(ConfigError, match="not both"):
        load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path)})
