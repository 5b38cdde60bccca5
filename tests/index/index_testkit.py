"""Helpers for the index tests: the tokeniser stand-in, an osmem-ready ES backend,
and a cluster backend opened the deploy way (settings -> App -> open_backend).

osmem-server answers 406 to the ``elasticsearch`` client's ``compatible-with``
media type, so the Elasticsearch tests (only) pass a transport node that sends
plain JSON; ``opensearch-py`` talks to it as shipped.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jieba
import yaml

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


def close_test_backend(b: Any) -> None:
    """Close a backend; a cluster's test indices are deleted (a real one outlives us)."""
    if hasattr(b, "alias"):
        drop_es(b)
    b.close()


CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
URL_VARIABLE = {"elasticsearch": "YUQING_ES_URL", "opensearch": "YUQING_OPENSEARCH_URL"}


def cluster_config(
    dst: Path, index: Mapping[str, Any] | None = None, name: str | None = None
) -> Path:
    """A copy of the bundled config whose settings.yaml's ``index`` section has these
    keys, a fresh index name and refresh on (a real cluster shows a write at once)."""
    shutil.copytree(CONFIG_DIR, dst, dirs_exist_ok=True)
    path = dst / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings["index"] = {
        **(settings.get("index") or {}),
        "es_index": name or f"test-{uuid.uuid4().hex[:10]}",
        "refresh": True,
        **(index or {}),
    }
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return dst


def app_backend(
    kind: str, url: str, tmp_path: Path, index: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:  # fmt: skip
    """The backend ``yuqing`` itself opens: settings.yaml and the URL variable ->
    ``load_config`` -> ``App.index`` -> ``open_backend``, no test-only transport."""
    from runtime.app import App
    from yuqing.settings import load_config

    config = cluster_config(tmp_path / f"config-{uuid.uuid4().hex[:6]}", index)
    variables = {"YUQING_VAR_DIR": str(tmp_path / "var"), URL_VARIABLE[kind]: url, **(env or {})}
    app = App(load_config(config, variables))
    backend = app.index
    assert backend.describe()["backend"] == kind
    return backend


def drop_es(backend: Any) -> None:
    """Delete every versioned index of a test alias (a real cluster outlives the test)."""
    try:
        found = backend.client.indices.get(index=f"{backend.alias}-v*")
    except backend.not_found:
        return
    for name in list(getattr(found, "body", found)):  # by name: no wildcard deletes
        backend.client.indices.delete(index=name, ignore_unavailable=True)


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


class SecuredGate:
    """A loopback HTTPS front of a cluster that wants credentials, as a secured
    cluster does: TLS with a certificate signed by its own CA (``ca_file``), and
    an ``Authorization`` header equal to ``expect`` (else 401). Requests that
    pass go on to ``target`` as they came; ``seen`` keeps each one's header."""

    def __init__(self, target: str, expect: str, tmp: Path) -> None:
        import http.client
        import ssl
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        self.ca_file, cert, key = _self_signed(tmp)
        self.seen: list[str] = []
        gate = self
        up = urlsplit(target)

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                auth = self.headers.get("Authorization", "")
                gate.seen.append(auth)
                if auth != expect:
                    self.send_response(401)
                    payload = b'{"error":{"type":"security_exception","reason":"unauthorized"},"status":401}'  # fmt: skip
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=30)
                keep = {"content-type", "accept"}
                headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                hop = {"content-length", "transfer-encoding", "connection", "keep-alive"}
                for k, v in resp.getheaders():
                    if k.lower() not in hop:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _self_signed(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "yuqing test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)  # fmt: skip
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    paths = (tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    return paths
