"""Shared parts of the fault tests: real `yuqing` processes on a private var dir,
a config copy with overrides, export files, process tools over /proc, and the
reconciliation every fault test ends with (stored once, indexed once, sent once).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
YUQING = str(Path(sys.executable).with_name("yuqing"))
# Crawls without politeness delays: the demo site is ours, on loopback.
FAST_CRAWLER = {"download_delay": 0, "autothrottle": False, "concurrent_requests_per_domain": 8}
HOTLINE = {
    "name": "hotline",
    "kind": "file",
    "area": "云溪县",
    "fields": {
        "external_id": "工单号",
        "title": "标题",
        "text": "内容",
        "published_at": "受理时间",
    },
}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def write_config(
    dst: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    alerts: Mapping[str, Any] | None = None,
    extra_sources: Iterable[Mapping[str, Any]] = (HOTLINE,),
    team_channels: Mapping[str, list[str]] | None = None,
) -> Path:
    """A copy of the bundled config, merged with these overrides."""
    shutil.copytree(CONFIG_DIR, dst, dirs_exist_ok=True)

    def edit(name: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        p = dst / f"{name}.yaml"
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        p.write_text(yaml.safe_dump(fn(data), allow_unicode=True), encoding="utf-8")

    edit("settings", lambda d: _merge(d, {"crawler": FAST_CRAWLER, **(settings or {})}))
    if alerts:
        edit("alerts", lambda d: _merge(d, alerts))
    extra = [dict(s) for s in extra_sources]
    if extra:
        edit("sources", lambda d: {**d, "sources": list(d.get("sources") or []) + extra})
    if team_channels is not None:

        def teams(d: dict[str, Any]) -> dict[str, Any]:
            for t in d["teams"]:
                t["channels"] = list(team_channels.get(t["id"], []))
            return d

        edit("teams", teams)
    return dst


def mail_alerts(smtp_url: str) -> dict[str, Any]:
    """alerts.yaml for the notification fault tests: every alert e-mailed at once,
    deadlines far away (no reminders or escalations muddying the counts)."""
    long = {"acknowledge": "6h", "respond": "12h"}
    return {
        "channels": {
            "log": {"kind": "log"},
            "mail": {
                "kind": "smtp",
                "url": smtp_url,
                "sender": "yuqing@county.example",
                "recipients": ["duty@county.example"],
                "timeout": "5s",
            },
        },
        "tiers": {"I": long, "II": long},
        "notify": {"default_channels": ["mail"], "batch_quiet": False, "remind_at": 0},
        "jobs": {"outbox": "1s", "deadlines": "5s", "digest": "60s", "reports": None},
        # these tests count what the teams' channel delivers; the desk has its own tests,
        # and the records (dated days before the clock) stand for fresh hand-offs here
        "triage": {"enabled": False},
        "discovery": {"max_age": None},
    }


def yuqing_env(config: Path, var: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update(
        YUQING_CONFIG=str(config), YUQING_VAR_DIR=str(var), YUQING_DATABASE_URL=db_url, **extra
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def seed_model(var: Path, models: Path) -> None:
    """Give a var dir the session's trained model (training per test costs minutes)."""
    shutil.copytree(models, var / "models", symlinks=True, dirs_exist_ok=True)


def run_yuqing(
    args: list[str], env: Mapping[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [YUQING, *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


def last_json(out: str) -> dict[str, Any]:
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    raise AssertionError(f"no JSON line in output:\n{out[-2000:]}")


# ------------------------------------------------------------------ export files


def hotline_rows(n: int, start: int = 0) -> list[dict[str, str]]:
    """``n`` 12345 records, each a distinct matter (texts from the demo corpus,
    numbered so no two are the same post)."""
    from crawler.demo.corpus import demo_corpus

    corpus = demo_corpus(datetime(2026, 11, 20, tzinfo=UTC))
    rows = []
    for i in range(start, start + n):
        p = corpus[i % len(corpus)]
        rows.append(
            {
                "工单号": f"GD{i:06d}",
                "标题": f"{p.title}（工单{i}）",
                "内容": f"{p.body}\n工单编号GD{i:06d}。",
                "受理时间": f"2026-11-{10 + i % 10:02d} {8 + i % 10:02d}:{i % 60:02d}",
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


# ------------------------------------------------------------- processes (/proc)


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) in KiB from /proc/<pid>/status; (0, 0) when gone."""
    cur = peak = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    except OSError:
        pass
    return cur, peak


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def wait_while_progressing(
    what: str, progress: Callable[[], Any], done: Callable[[Any], bool], stall: float,
    every: float = 1.0,
) -> Any:  # fmt: skip
    """Wait until ``done(progress())``, for as long as ``progress()`` keeps changing: a
    busy machine only slows the service down, a stuck one stops changing for ``stall``
    seconds and fails here, saying what it was waiting for and where it stopped."""
    last = progress()
    since = time.monotonic()
    while not done(last):
        time.sleep(every)
        now = progress()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stall:
            raise AssertionError(f"no progress for {stall:.0f}s waiting for {what}: at {last}")
    return last


def kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------- reconciliation


@dataclass
class Tally:
    """What the store and the index hold, counted the way a fault must not change."""

    posts: int
    keys: Counter[str]
    sightings: Counter[tuple[int, str]]  # (post id, source) -> rows
    sightings_per_source: Counter[str]
    backlog: int
    dead_letters: list[str]
    index_ids: Counter[int] = field(default_factory=Counter)
    post_ids: set[int] = field(default_factory=set)

    def assert_once(self, expected_keys: set[str], source: str) -> None:
        """Every expected item stored once, sighted once by ``source``, indexed once."""
        assert not self.dead_letters, f"unexpected dead letters: {self.dead_letters[:5]}"
        doubled = [k for k, n in self.keys.items() if n > 1]
        assert not doubled, f"posts stored twice: {doubled[:5]}"
        missing = expected_keys - set(self.keys)
        assert not missing, f"{len(missing)} items lost, e.g. {sorted(missing)[:5]}"
        extra = set(self.keys) - expected_keys
        assert not extra, f"posts nobody published: {sorted(extra)[:5]}"
        assert self.sightings_per_source[source] == len(expected_keys)
        assert max(self.sightings.values()) == 1
        assert self.backlog == 0, f"{self.backlog} posts still queued for the index"
        assert set(self.index_ids) == self.post_ids, (
            f"index holds {len(self.index_ids)} posts, the store {len(self.post_ids)}"
        )
        assert max(self.index_ids.values()) == 1, "a post indexed twice"


def tally(app: Any) -> Tally:
    """Count the store (and the index, searched for every document) of ``app``."""
    from index.base import SearchQuery
    from store.models import DeadLetterRow, IndexOutbox, Post, PostSighting

    with app.store.session() as s:
        rows = s.execute(select(Post.id, Post.key)).all()
        sight = s.execute(select(PostSighting.post_id, PostSighting.source)).all()
        backlog = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
        dead = [f"{d.stage} {d.source}: {d.reason}" for d in s.scalars(select(DeadLetterRow))]
    ids: Counter[int] = Counter()
    total = app.index.count()
    page = 500  # the query language's largest page
    for offset in range(0, total, page):
        q = SearchQuery(limit=page, offset=offset, sort="newest", facets=False, histogram=None)
        ids.update(h.id for h in app.index.search(q).hits)
    return Tally(
        posts=len(rows),
        keys=Counter(k for _, k in rows),
        sightings=Counter((p, src) for p, src in sight),
        sightings_per_source=Counter(src for _, src in sight),
        backlog=int(backlog),
        dead_letters=dead,
        index_ids=ids,
        post_ids={i for i, _ in rows},
    )


def count_posts(db_url: str) -> int:
    """Posts stored so far, read with a short-lived engine (another process writes)."""
    from sqlalchemy import create_engine

    from store.models import Post

    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as c:
            return int(c.scalar(select(func.count()).select_from(Post.__table__)) or 0)
    except Exception:  # the table may not exist yet (migrations run at first open)
        return 0
    finally:
        engine.dispose()


# ----------------------------------------------------------------------- SMTP


class MailSink:
    """aiosmtpd on 127.0.0.1 at a fixed port, so it can be down and come back."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.messages: list[Any] = []
        self._controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> MailSink:
        import email
        import email.policy

        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                sink.messages.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def texts(self) -> list[str]:
        out = []
        for m in self.messages:
            part = m.get_body(preferencelist=("plain",))
            out.append(part.get_content() if part is not None else "")
        return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fault_seconds(name: str, short: float) -> float:
    """A fault's duration: the env variable (``make faults`` sets the full ones),
    else the short one ``make test`` uses."""
    return float(os.environ.get(name) or short)


# ---------------------------------------------------- a private PostgreSQL cluster


class PgCluster:
    """A throw-away PostgreSQL cluster on a free loopback port, ours to stop and
    start (the machine's shared server is never touched). As root it runs as the
    ``postgres`` OS user through runuser."""

    def __init__(self) -> None:
        import glob
        import pwd
        import tempfile

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.bin = Path(bins[-1]).parent
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user") from None
            if not shutil.which("runuser"):
                raise RuntimeError("running as root and runuser is missing")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        # its own directory under /tmp: pytest's tmp_path is private to root
        self.root = Path(tempfile.mkdtemp(prefix="yuqing-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def _run(self, *args: str) -> None:
        r = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {r.stderr.strip() or r.stdout}")

    def init(self) -> PgCluster:
        if self.prefix:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", opts, "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------ the index (osmem)


def plain_json_node() -> type:
    """Test-only transport node: osmem-server (the Elasticsearch stand-in) answers
    406 to the client's vendor media type, so send plain JSON to it."""
    from elastic_transport import Urllib3HttpNode

    class PlainJsonNode(Urllib3HttpNode):
        def perform_request(self, method: str, target: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:  # fmt: skip
            if headers is not None:
                headers = headers.copy()
                for key in list(headers.keys()):
                    if key.lower() in ("accept", "content-type") and "vnd.elasticsearch" in headers[key]:  # fmt: skip
                        ndjson = "ndjson" in headers[key]
                        headers[key] = "application/x-ndjson" if ndjson else "application/json"
            return super().perform_request(method, target, body=body, headers=headers, **kw)

    return PlainJsonNode


class TcpGate:
    """A loopback TCP forwarder that can close (connections refused, open ones cut)
    and open again on the same port: an index cluster going away for maintenance."""

    def __init__(self, target_host: str, target_port: int) -> None:
        import socket
        import threading

        self._socket, self._threading = socket, threading
        self.target = (target_host, target_port)
        self.port = 0
        self._conns: set[Any] = set()
        self._lock = threading.Lock()
        self._srv: Any = None
        self.open()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        srv = self._socket.create_server(("127.0.0.1", self.port))
        srv.settimeout(0.05)
        self.port = srv.getsockname()[1]
        self._srv = srv
        self._threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def close(self) -> None:
        import contextlib

        srv, self._srv = self._srv, None
        if srv is not None:
            srv.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(self._socket.SHUT_RDWR)
            c.close()

    def _accept(self, srv: Any) -> None:
        while self._srv is srv:
            try:
                client, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = self._socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: Any, dst: Any) -> None:
        import contextlib

        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(self._socket.SHUT_RDWR)


class ShiftedClock:
    """Wall-clock time plus an offset the test can push forward (to pass a backoff
    without waiting it out)."""

    def __init__(self) -> None:
        from datetime import timedelta

        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: Any) -> None:
        self.offset += delta
