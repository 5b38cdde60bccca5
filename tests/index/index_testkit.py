"""Helpers for the index tests: the tokeniser stand-in and an osmem-ready ES backend.

osmem-server answers 406 to the client's ``compatible-with`` media type, so
the tests (only) pass a transport node that sends plain JSON.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)


def tokenize(text: str) -> list[str]:
    """Stand-in for the classifier's tokeniser: plain jieba accurate mode."""
    return jieba.lcut(text)


def plain_json_node() -> type:
    from elastic_transport import Urllib3HttpNode

    class PlainJsonNode(Urllib3HttpNode):
        """Test-only: rewrites the vendor media type osmem-server rejects."""

        def perform_request(self, method: str, target: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:  # fmt: skip
            if headers is not None:
                headers = headers.copy()
                for key in list(headers.keys()):
                    value = headers[key]
                    if key.lower() in ("accept", "content-type") and "vnd.elasticsearch" in value:
                        headers[key] = (
                            "application/x-ndjson" if "ndjson" in value else "application/json"
                        )
            return super().perform_request(method, target, body=body, headers=headers, **kw)

    return PlainJsonNode


def make_es_backend(
    url: str, name: str | None = None, *, plain_json: bool = True, **kw: Any
) -> Any:
    """``plain_json`` for osmem-server only; a real cluster gets the client as shipped."""
    from elasticsearch import Elasticsearch

    from index.elasticsearch import ElasticsearchBackend

    extra: dict[str, Any] = {"node_class": plain_json_node()} if plain_json else {}
    client_kw = {k: kw.pop(k) for k in ("max_retries", "request_timeout") if k in kw}
    client = Elasticsearch(url, **{"request_timeout": 30, **extra, **client_kw})
    # Small paging window so deep pages take the search_after path in tests.
    opts: dict[str, Any] = {"refresh": True, "deep_page_from": 5, "page_batch": 2}
    opts.update(kw)
    return ElasticsearchBackend(client, name or f"test-{uuid.uuid4().hex[:10]}", tokenize, **opts)


def drop_es(backend: Any) -> None:
    """Delete every versioned index of a test alias (a real cluster outlives the test)."""
    from elasticsearch import NotFoundError

    try:
        names = list(backend.es.indices.get(index=f"{backend.alias}-v*").body)
    except NotFoundError:
        return
    for name in names:  # by name: clusters refuse wildcard deletes by default
        backend.es.indices.delete(index=name, ignore_unavailable=True)


class FlakyProxy:
    """A TCP forwarder on loopback that can go down (connections refused, open ones
    cut) and come back on the same port: an index cluster that becomes unreachable."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._srv: socket.socket | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        srv = socket.create_server(("127.0.0.1", self.port))
        srv.settimeout(0.05)
        self.port = srv.getsockname()[1]
        self._srv = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def down(self) -> None:
        srv, self._srv = self._srv, None
        if srv is not None:
            srv.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    close = down

    def _accept(self, srv: socket.socket) -> None:
        while self._srv is srv:
            try:
                client, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
