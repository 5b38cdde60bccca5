"""Real local receivers for the alert channel tests (loopback only).

``Receiver`` is an http.server that plays the generic webhook, the WeCom robot,
the DingTalk robot (verifying its timestamp+sign query parameters) and the Feishu
bot (verifying the signature in the body). ``SmtpSink`` is an aiosmtpd server.
Both can be stopped and restarted on the same port to play an outage.
"""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import hashlib
import hmac
import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from analysis.linking import Linker
from store.db import Store
from store.posts import upsert_post
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import AppConfig, Triage

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
# Friday 2026-11-20 10:00 in Asia/Shanghai: working hours.
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DING_SECRET = "SEC-ding-test-secret"
FEISHU_SECRET = "feishu-test-secret"


@dataclass
class Hit:
    path: str
    body: dict[str, Any]
    query: dict[str, str]


@dataclass
class Receiver:
    """One HTTP server on 127.0.0.1 playing every robot; ``now`` is the pinned clock."""

    now: Callable[[], datetime]
    hits: list[Hit] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                u = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(u.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._reply(400, {"error": "not JSON"})
                problem = recv.verify(u.path, body, query)
                if problem:
                    recv.rejected.append((u.path, problem))
                    code = {"/feishu": {"code": 19021, "msg": problem}}.get(
                        u.path, {"errcode": 310000, "errmsg": problem}
                    )
                    return self._reply(200, code)
                recv.hits.append(Hit(u.path, body, query))
                if u.path == "/feishu":
                    return self._reply(200, {"code": 0, "msg": "success"})
                return self._reply(200, {"errcode": 0, "errmsg": "ok"})

            def _reply(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def verify(self, path: str, body: dict[str, Any], query: dict[str, str]) -> str | None:
        now = self.now()
        if path == "/dingtalk":
            ts = query.get("timestamp", "")
            if not ts.isdigit() or abs(int(ts) - now.timestamp() * 1000) > 3600_000:
                return "bad timestamp"
            want = base64.b64encode(
                hmac.new(
                    DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            return None if query.get("sign") == want else "sign not match"
        if path == "/feishu":
            ts = str(body.get("timestamp", ""))
            if not ts.isdigit() or abs(int(ts) - now.timestamp()) > 3600:
                return "bad timestamp"
            key = f"{ts}\n{FEISHU_SECRET}".encode()
            want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            return None if body.get("sign") == want else "sign match fail"
        return None

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


class SmtpSink:
    """aiosmtpd on 127.0.0.1 keeping every message it accepts."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._controller: Any = None

    def start(self) -> SmtpSink:
        import socket

        from aiosmtpd.controller import Controller

        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                sink.messages.append(msg)  # type: ignore[arg-type]
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def write_config(
    dst: Path,
    *,
    channels: dict[str, dict[str, Any]] | None = None,
    team_channels: dict[str, list[str]] | None = None,
    default_channels: list[str] | None = None,
    alerts: dict[str, Any] | None = None,
) -> Path:
    """A copy of the bundled config with these channels and alert settings. Duty-desk
    triage is off unless ``alerts`` sets it: these tests are about what a team hears."""
    shutil.copytree(CONFIG_DIR, dst, dirs_exist_ok=True)
    a = yaml.safe_load((dst / "alerts.yaml").read_text(encoding="utf-8"))
    if channels is not None:
        a["channels"] = {"log": {"kind": "log"}, **channels}
    if default_channels is not None:
        a.setdefault("notify", {})["default_channels"] = default_channels
    a["triage"] = {"enabled": False}
    for k, v in (alerts or {}).items():
        a[k] = v
    (dst / "alerts.yaml").write_text(yaml.safe_dump(a, allow_unicode=True), encoding="utf-8")
    if team_channels is not None:
        t = yaml.safe_load((dst / "teams.yaml").read_text(encoding="utf-8"))
        for team in t["teams"]:
            team["channels"] = team_channels.get(team["id"], [])
        (dst / "teams.yaml").write_text(yaml.safe_dump(t, allow_unicode=True), encoding="utf-8")
    return dst


_n = [0]


def add_post(
    store: Store,
    now: datetime,
    title: str,
    *,
    severity: int = 2,
    area: str | None = "湖滨社区",
    category: str = "城乡建设",
    author: str | None = None,
    text: str | None = None,
    published_at: datetime | None = None,
    reasons: list[str] | None = None,
    source: str = "test",
    review: bool = False,
    severe_p: float | None = None,
) -> int:
    _n[0] += 1
    n = _n[0]
    why = reasons if reasons is not None else [f"规则: 测试{severity}"]
    cls = Classification(category, 0.9, severity, why, "v-test", severe_p=severe_p, review=review)
    post = CrawledPost(
        source=source,
        title=title,
        text=text or f"{title}（第{n}帖）",
        url=f"http://127.0.0.1/t/{n}",
        author=author or f"user{n}",
        area=area,
        published_at=published_at or now,
    )
    with store.session() as s:
        return upsert_post(s, post, cls, now, linking=Linker).post_id


def without_triage(config: AppConfig) -> AppConfig:
    """The config with duty-desk triage off (tests of what happens after routing)."""
    off = config.alerts.model_copy(update={"triage": Triage(enabled=False)})
    return dataclasses.replace(config, alerts=off)


def receivers_config(dst: Path, receiver: Receiver, smtp: SmtpSink, **alerts: Any) -> Path:
    """Config whose teams notify the local receivers: the hubin grid by webhook and
    e-mail, the donghu street by DingTalk, the county centre by Feishu and WeCom."""
    return write_config(
        dst,
        channels={
            "hook": {"kind": "webhook", "url": receiver.url + "/hook"},
            "ding": {
                "kind": "dingtalk",
                "url": receiver.url + "/dingtalk?access_token=t",
                "secret": DING_SECRET,
            },
            "feishu": {"kind": "feishu", "url": receiver.url + "/feishu", "secret": FEISHU_SECRET},
            "wecom": {"kind": "wecom", "url": receiver.url + "/wecom?key=k"},
            "mail": {
                "kind": "smtp",
                "url": smtp.url,
                "sender": "yuqing@county.example",
                "recipients": ["hubin@example.org"],
                "timeout": "5s",
            },
        },
        team_channels={
            "donghu-hubin": ["hook", "mail"],
            "donghu": ["ding"],
            "county-centre": ["feishu", "wecom"],
        },
        default_channels=["log"],
        alerts=alerts,
    )
