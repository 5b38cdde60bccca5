"""The world a soak runs against, in its own process: the demo site publishing
posts as the (scaled) clock passes, an SMTP server and a webhook receiver.

    python -m soak.world --clock SPEC --until ISO [--per-hour 24]

Prints one JSON line with its addresses, then serves until SIGTERM. ``GET
/stats`` on the receiver answers what was published and what was received.
"""

from __future__ import annotations

import argparse
import dataclasses
import email
import email.policy
import json
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crawler.demo.corpus import DemoPost, demo_corpus
from crawler.demo.site import DemoSite
from yuqing.clock import Clock, clock_from_spec

FIRST_NEW_ID = 10_000  # posts published during the soak; the initial corpus keeps 1..~160


def timeline(start: datetime, until: datetime, per_hour: float) -> list[DemoPost]:
    """The demo corpus as of ``start`` (its ~160 posts of the ten days before),
    then new posts every 1/``per_hour`` hours up to ``until``, written from
    corpora of other seeds (other places, numbers and people)."""
    posts = list(demo_corpus(start))
    step = timedelta(hours=1 / per_hour)
    fresh: list[DemoPost] = []
    seed = 8
    at = start + step
    while at <= until:
        for p in demo_corpus(start, seed=seed):
            if at > until:
                break
            fresh.append(
                dataclasses.replace(
                    p,
                    id=FIRST_NEW_ID + len(fresh),
                    published_at=at.replace(microsecond=0),
                    reply=None,
                    reply_at=None,
                )
            )
            at += step
        seed += 1
    return posts + fresh


class CappedClock:
    """The site stops publishing at ``until`` (so the end of a soak is countable)."""

    def __init__(self, inner: Clock, until: datetime) -> None:
        self.inner, self.until = inner, until

    def now(self) -> datetime:
        return min(self.inner.now(), self.until)


class World:
    def __init__(self, clock: Clock, until: datetime, per_hour: float) -> None:
        start = clock.now()
        self.capped = CappedClock(clock, until)
        self.posts = timeline(start, until, per_hour)
        self.site = DemoSite(self.posts, clock=self.capped)
        self.hooks: list[dict[str, Any]] = []
        self.mails: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._smtp: Any = None
        self.smtp_port = 0

    def start(self) -> dict[str, Any]:
        self.site.start()
        self._start_smtp()
        self._start_http()
        assert self._http is not None
        return {
            "site": self.site.url,
            "smtp": f"smtp://127.0.0.1:{self.smtp_port}",
            "hook": f"http://127.0.0.1:{self._http.server_address[1]}/hook",
            "stats": f"http://127.0.0.1:{self._http.server_address[1]}/stats",
        }

    def stats(self) -> dict[str, Any]:
        published = self.site.posts()
        with self._lock:
            return {
                "now": self.capped.now().isoformat(),
                "published": len(published),
                "published_ids": sorted(p.id for p in published),
                "hooks": list(self.hooks),
                "mails": list(self.mails),
            }

    def _start_smtp(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.smtp_port = s.getsockname()[1]
        world = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with world._lock:
                    world.mails.append({"subject": str(msg["Subject"])})
                return "250 OK"

        self._smtp = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()

    def _start_http(self) -> None:
        world = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unreadable": raw[:200].decode("utf-8", "replace")}
                with world._lock:
                    world.hooks.append(body)
                self._send(200, {"errcode": 0, "errmsg": "ok"})

            def do_GET(self) -> None:  # noqa: N802
                self._send(200, world.stats())

            def _send(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
        if self._smtp is not None:
            self._smtp.stop()
        self.site.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak.world")
    parser.add_argument("--clock", required=True, help="a ScaledClock spec")
    parser.add_argument("--until", required=True, help="last publishing time (ISO 8601)")
    parser.add_argument("--per-hour", type=float, default=24.0)
    args = parser.parse_args(argv)
    world = World(clock_from_spec(args.clock), datetime.fromisoformat(args.until), args.per_hour)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps(world.start()), flush=True)
    stop.wait()
    world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
