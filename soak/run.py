"""The soak: the whole service against the demo world at N x speed, for M minutes.

Processes (all real, on loopback):

* ``world``   - ``python -m soak.world``: the demo site publishing new posts as
  the scaled clock passes, an SMTP server and a webhook receiver;
* ``service`` - ``yuqing run`` with ``YUQING_CLOCK`` set to the same scaled
  clock: APScheduler crawls both sources, indexes, evaluates rules, checks
  deadlines, escalates and notifies (job intervals divided by the speed, so a
  60 s crawl interval is 60 simulated seconds), and serves the console;
* ``crawl``   - the crawl children ``yuqing run`` starts (one per crawl).

RSS (VmRSS, and VmHWM for the peak) of each is sampled every few seconds. At
the end the service is stopped, each source is crawled once more and due
notifications are delivered (``yuqing crawl``, then the outbox), and the
figures are reconciled: posts published by the site == stored == indexed;
every notification row sent once (messages received per channel == rows sent);
anything pending is explained by its due time; dead letters are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
# Monday 08:00 in Asia/Shanghai: the run covers a working day, its quiet night and
# the next morning (tier III-IV notifications wait for working hours; digests go out).
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
MIB = 1024
# Shorter runs report RSS but are not judged: warm-up growth would dominate them.
JUDGE_MEMORY_MINUTES = 10
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Proc:
    name: str
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (t, RSS KiB)
    peak: int = 0  # VmHWM KiB

    def sample(self, t: float) -> bool:
        cur, hwm = rss_kib(self.pid)
        if not cur:
            return False
        self.samples.append((t, cur))
        self.peak = max(self.peak, hwm)
        return True


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB; (0, 0) when it is gone."""
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


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def wait_ready(service: subprocess.Popen[str], port: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise RuntimeError(f"yuqing run exited with {service.returncode}; see service.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the console did not answer on port {port} in {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scaled(seconds: float, speed: float, floor: float = 1.0) -> str:
    return f"{max(floor, seconds / speed):.3f}s"


# ------------------------------------------------------------------ set-up


def write_config(dst: Path, world: dict[str, str], speed: float) -> Path:
    """The bundled config with the demo sources pointed at the world, every team
    notified by webhook and e-mail there, and job intervals divided by ``speed``."""
    shutil.copytree(CONFIG_DIR, dst, dirs_exist_ok=True)

    def edit(name: str, fn: Any) -> None:
        p = dst / f"{name}.yaml"
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        p.write_text(yaml.safe_dump(fn(data), allow_unicode=True), encoding="utf-8")

    def settings(d: dict[str, Any]) -> dict[str, Any]:
        d.setdefault("crawler", {}).update(
            download_delay=0, autothrottle=False, concurrent_requests_per_domain=8
        )
        d.setdefault("scheduler", {})["pipeline_interval"] = scaled(60, speed)
        d.setdefault("console", {})["brief_channels"] = []
        return d

    def sources(d: dict[str, Any]) -> dict[str, Any]:
        out = []
        for s in d["sources"]:
            if s.get("demo"):
                s = {**s, "name": s["name"].replace("demo-", "soak-"), "demo": False}
                s["url"] = s["url"].replace("{demo_url}", world["site"])
                s["interval"] = scaled(60, speed)
                out.append(s)
        return {**d, "sources": out}

    def alerts(d: dict[str, Any]) -> dict[str, Any]:
        d["channels"] = {
            "log": {"kind": "log"},
            "hook": {"kind": "webhook", "url": world["hook"]},
            "mail": {
                "kind": "smtp",
                "url": world["smtp"],
                "sender": "yuqing@county.example",
                "recipients": ["duty@county.example"],
                "timeout": "10s",
            },
        }
        n = d.setdefault("notify", {})
        n["default_channels"] = ["hook", "mail"]
        n["batch_quiet"] = False  # one message per notification row: countable
        j = d.setdefault("jobs", {})
        j.update(
            deadlines=scaled(30, speed),
            outbox=scaled(5, speed),
            digest=scaled(300, speed),
            reports=scaled(3600, speed),
            # the lease is renewed every third of it in clock time: at 50x a 60 s lease
            # would leave a busy machine ~0.4 s of slack; 12 real seconds leave 4
            lock_ttl=f"{max(60.0, 12 * speed):.0f}s",
        )
        return d

    def teams(d: dict[str, Any]) -> dict[str, Any]:
        for t in d["teams"]:
            t["channels"] = ["hook", "mail"]
        return d

    edit("settings", settings)
    edit("sources", sources)
    edit("alerts", alerts)
    edit("teams", teams)
    return dst


def base_env(config: Path, var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update(
        YUQING_CONFIG=str(config),
        YUQING_VAR_DIR=str(var),
        YUQING_DATABASE_URL=f"sqlite:///{var / 'yuqing.db'}",
        YUQING_ADMIN_PASSWORD="soak-admin-password",
        PYTHONUNBUFFERED="1",
    )
    return env


def yuqing_bin() -> str:
    return str(Path(sys.executable).with_name("yuqing"))


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    from yuqing.clock import ScaledClock

    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    var = work / "var"
    var.mkdir(parents=True)
    log = print if not args.quiet else (lambda *a, **k: None)

    # the classifier first (training is not what a soak measures)
    if args.models:
        shutil.copytree(args.models, var / "models", symlinks=True)
    else:
        log("soak: training the demo classifier ...", file=sys.stderr)
        placeholder = {
            "site": "http://127.0.0.1:9",
            "hook": "http://127.0.0.1:9/",
            "smtp": "smtp://127.0.0.1:9",
        }
        write_config(work / "config", placeholder, 1)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; from runtime.app import App; from yuqing.settings import load_config;"
                "App(load_config(os.environ['YUQING_CONFIG'], os.environ)).model(demo=True)",
            ],
            env=base_env(work / "config", var),
            check=True,
        )

    minutes, speed = args.minutes, args.speed
    clock = ScaledClock(START, speed)
    until = START + timedelta(minutes=minutes * speed)
    end_at = clock.epoch + minutes * 60
    world_log = (work / "world.log").open("w")
    world = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soak.world",
            "--clock",
            clock.spec(),
            "--until",
            until.isoformat(),
            "--per-hour",
            str(args.per_hour),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=world_log,
        text=True,
    )
    procs: dict[str, Proc] = {}
    crawl_peaks: dict[int, int] = {}
    service: subprocess.Popen[str] | None = None
    try:
        assert world.stdout is not None
        addresses = json.loads(world.stdout.readline())
        config = write_config(work / "config", addresses, speed)
        env = base_env(config, var)
        env["YUQING_CLOCK"] = clock.spec()
        port = free_port()
        run_log = (work / "service.log").open("w")
        service = subprocess.Popen(
            [yuqing_bin(), "run", "--port", str(port)],
            env=env,
            stdout=run_log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs = {"service": Proc("service", service.pid), "world": Proc("world", world.pid)}
        wait_ready(service, port)  # RSS "start" is the service up, not the bare interpreter
        log(
            f"soak: {minutes:g} min at {speed:g}x ({minutes * speed / 60:.1f} simulated hours), "
            f"site {addresses['site']}, console http://127.0.0.1:{port}/, work {work}",
            file=sys.stderr,
        )
        t0 = time.monotonic()
        next_line = 0.0
        while time.time() < end_at:
            if service.poll() is not None:
                raise RuntimeError(f"yuqing run exited with {service.returncode}; see service.log")
            t = time.monotonic() - t0
            for p in procs.values():
                p.sample(t)
            for kid in children(service.pid):
                _, hwm = rss_kib(kid)
                if hwm:
                    crawl_peaks[kid] = max(crawl_peaks.get(kid, 0), hwm)
            if t >= next_line:
                rss = procs["service"].samples[-1][1] if procs["service"].samples else 0
                log(
                    f"soak: {t / 60:5.1f} min, simulated {clock.now().astimezone(SHANGHAI):%a %H:%M}, "
                    f"service RSS {rss / MIB:.0f} MiB, {len(crawl_peaks)} crawls",
                    file=sys.stderr,
                )
                next_line = t + 60
            time.sleep(min(args.sample, max(0.1, end_at - time.time())))
        for p in procs.values():
            p.sample(time.monotonic() - t0)
        service.send_signal(signal.SIGINT)
        try:
            service.wait(timeout=120)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        service_exit = service.returncode

        # the last publishing time has passed: crawl each source once more, deliver what is due
        final = []
        for name in ("soak-board", "soak-feed"):
            r = subprocess.run(
                [yuqing_bin(), "crawl", name, "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            final.append({"source": name, "exit": r.returncode, "tail": r.stdout[-400:]})
        delivered = deliver_rest(config, env)
        with urllib.request.urlopen(addresses["stats"], timeout=30) as resp:
            world_stats = json.loads(resp.read())
        report = reconcile(config, env, addresses, world_stats)
        report["final_crawls"] = final
        report["final_delivery"] = delivered
        report["service_exit"] = service_exit
    finally:
        if service is not None and service.poll() is None:
            service.kill()
            service.wait()
        world.terminate()
        try:
            world.wait(timeout=30)
        except subprocess.TimeoutExpired:
            world.kill()
            world.wait()
        world_log.close()

    report["run"] = {
        "minutes": minutes,
        "speed": speed,
        "simulated_hours": round(minutes * speed / 60, 2),
        "start": START.isoformat(),
        "until": until.isoformat(),
        "work": str(work),
    }
    report["memory"] = memory_report(procs, crawl_peaks, judge=minutes >= JUDGE_MEMORY_MINUTES)
    report["ok"] = not report["problems"] and report["memory"]["service"]["flat"] is not False
    return report


def deliver_rest(config: Path, env: dict[str, str]) -> dict[str, int]:
    """Deliver every notification due now (the service was stopped mid-interval)."""
    from alerts.outbox import deliver_due
    from runtime.app import App
    from yuqing.settings import load_config

    app = App(load_config(config, env))
    sent = failed = 0
    try:
        for _ in range(50):
            st = deliver_due(app.store, app.config, app.clock)
            sent, failed = sent + st.sent, failed + st.failed
            if not st.sent:
                break
    finally:
        app.close()
    return {"sent": sent, "failed_attempts": failed}


def reconcile(
    config: Path, env: dict[str, str], addresses: dict[str, str], world: dict[str, Any]
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from runtime.app import App
    from store.alerting_models import NotificationOutbox
    from store.models import Alert, DeadLetterRow, IndexOutbox, Post, PostSighting
    from store.posts import url_identity
    from yuqing.contracts import tier_name
    from yuqing.settings import load_config

    app = App(load_config(config, env))
    problems: list[str] = []
    try:
        now = app.now()
        expected = {
            "url:" + url_identity(f"{addresses['site']}/board/thread/{i}.html"): i
            for i in world["published_ids"]
        }
        with app.store.session() as s:
            keys = Counter(s.scalars(select(Post.key)))
            sightings = Counter(s.scalars(select(PostSighting.source)))
            backlog = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
            dead = Counter(f"{d.stage}: {d.reason[:120]}" for d in s.scalars(select(DeadLetterRow)))
            alerts_by = Counter(f"{a.status}/{tier_name(a.tier)}" for a in s.scalars(select(Alert)))
            n_alerts = s.scalar(select(func.count()).select_from(Alert)) or 0
            rows = list(s.scalars(select(NotificationOutbox)))
        indexed = app.index.count()
    finally:
        app.close()

    missing = sorted(set(expected) - set(keys))
    extra = sorted(set(keys) - set(expected))
    if missing:
        problems.append(f"{len(missing)} published posts not stored, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} stored posts nobody published, e.g. {extra[:3]}")
    if sightings["soak-board"] != len(expected):
        problems.append(f"board sighted {sightings['soak-board']} of {len(expected)} posts")
    if indexed != len(keys) or backlog:
        problems.append(f"index holds {indexed} docs for {len(keys)} posts, backlog {backlog}")
    if dead:
        problems.append(f"dead letters: {dict(dead)}")

    by_status = Counter(f"{r.channel}/{r.status}" for r in rows)
    hook_items = 0
    for body in world["hooks"]:
        hook_items += len(body.get("items") or []) if body.get("kind") == "batch" else 1
    sent = Counter(r.channel for r in rows if r.status == "sent")
    if hook_items != sent["hook"]:
        problems.append(f"webhook received {hook_items} notifications, {sent['hook']} rows sent")
    if len(world["mails"]) != sent["mail"]:
        problems.append(f"SMTP received {len(world['mails'])} messages, {sent['mail']} rows sent")
    identical = sum(
        n - 1 for n in Counter(json.dumps(b, sort_keys=True) for b in world["hooks"]).values()
    )
    if identical:
        problems.append(f"{identical} webhook bodies received twice")
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        problems.append(f"{len(failed)} notifications failed: {failed[0].last_error}")
    pending = [r for r in rows if r.status == "pending"]
    overdue = [r for r in pending if _aware(r.next_attempt_at) <= now]
    if overdue:
        problems.append(f"{len(overdue)} notifications due but not sent")
    retried = sum(1 for r in rows if r.attempts > 1)
    return {
        "published": world["published"],
        "stored": len(keys),
        "indexed": indexed,
        "index_backlog": int(backlog),
        "sightings": dict(sightings),
        "dead_letters": dict(dead),
        "alerts": n_alerts,
        "alerts_by_status": dict(alerts_by),
        "notifications": dict(by_status),
        "webhook_received": hook_items,
        "smtp_received": len(world["mails"]),
        "notifications_retried": retried,
        "pending_not_yet_due": len(pending) - len(overdue),
        "pending_next_due": min((_aware(r.next_attempt_at) for r in pending), default=None),
        "problems": problems,
    }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def memory_report(
    procs: dict[str, Proc], crawl_peaks: dict[int, int], judge: bool = True
) -> dict[str, Any]:
    """RSS figures per process; ``flat`` is None when the run was too short to judge."""
    out: dict[str, Any] = {}
    for name, p in procs.items():
        if not p.samples:
            out[name] = {"flat": False, "samples": 0}
            continue
        values = [v for _, v in p.samples]
        # warmed up: the model, jieba and the first crawls loaded (a tenth of the run in)
        warm = values[min(len(values) - 1, max(1, len(values) // 10))]
        tail = p.samples[len(p.samples) // 2 :]
        slope = 0.0
        if len(tail) >= 3:
            ts = [t for t, _ in tail]
            vs = [v for _, v in tail]
            mt, mv = statistics.fmean(ts), statistics.fmean(vs)
            den = sum((t - mt) ** 2 for t in ts) or 1.0
            slope = sum((t - mt) * (v - mv) for t, v in tail) / den  # KiB/s
        growth = values[-1] - warm
        out[name] = {
            "start_mib": round(values[0] / MIB, 1),
            "warm_mib": round(warm / MIB, 1),
            "end_mib": round(values[-1] / MIB, 1),
            "peak_mib": round(p.peak / MIB, 1),
            "growth_after_warmup_mib": round(growth / MIB, 1),
            "second_half_slope_mib_per_10min": round(slope * 600 / MIB, 2),
            "samples": len(values),
            # flat: under 10 % (at least 16 MiB) above the warmed-up size at the end
            "flat": growth <= max(16 * MIB, warm // 10) if judge else None,
        }
    peaks = list(crawl_peaks.values())
    if peaks:
        first, last = peaks[:5], peaks[-5:]
        out["crawl"] = {
            "children": len(peaks),
            "peak_mib": round(max(peaks) / MIB, 1),
            "median_peak_mib": round(statistics.median(peaks) / MIB, 1),
            "first5_peak_mib": round(statistics.fmean(first) / MIB, 1),
            "last5_peak_mib": round(statistics.fmean(last) / MIB, 1),
        }
    return out


def format_report(r: dict[str, Any]) -> str:
    m = r["memory"]
    lines = [
        f"soak: {r['run']['minutes']:g} min at {r['run']['speed']:g}x "
        f"({r['run']['simulated_hours']} simulated hours from {r['run']['start']})",
        "",
        "process   RSS start   warm     end    peak   growth  slope/10min",
    ]
    for name in ("service", "world"):
        p = m.get(name) or {}
        if not p.get("samples"):
            continue
        lines.append(
            f"{name:8} {p['start_mib']:8.1f} {p['warm_mib']:7.1f} {p['end_mib']:7.1f} "
            f"{p['peak_mib']:7.1f} {p['growth_after_warmup_mib']:+7.1f} "
            f"{p['second_half_slope_mib_per_10min']:+8.2f} MiB {_verdict(p['flat'])}"
        )
    if "crawl" in m:
        c = m["crawl"]
        lines.append(
            f"crawl    {c['children']} children: peak {c['peak_mib']} MiB, median "
            f"{c['median_peak_mib']}, first 5 {c['first5_peak_mib']}, last 5 {c['last5_peak_mib']}"
        )
    lines += [
        "",
        f"posts     published {r['published']}  stored {r['stored']}  indexed {r['indexed']}"
        f"  (index backlog {r['index_backlog']})",
        f"sightings {r['sightings']}",
        f"alerts    {r['alerts']} raised: {r['alerts_by_status']}",
        f"notify    rows {r['notifications']}; received webhook {r['webhook_received']}, "
        f"smtp {r['smtp_received']}; retried {r['notifications_retried']}; "
        f"pending not yet due {r['pending_not_yet_due']} (next {r['pending_next_due']})",
        f"dead      {r['dead_letters'] or 'none'}",
        "",
        "RECONCILED" if not r["problems"] else "PROBLEMS:\n  " + "\n  ".join(r["problems"]),
        f"memory (service): {_verdict(m['service']['flat'])}",
    ]
    return "\n".join(lines)


def _verdict(flat: bool | None) -> str:
    if flat is None:
        return f"not judged (under {JUDGE_MEMORY_MINUTES} min)"
    return "flat" if flat else "GROWING"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=float(os.environ.get("SOAK_MINUTES") or 30),
        help="real minutes to run (env SOAK_MINUTES; default 30)",
    )
    parser.add_argument("--speed", type=float, default=50.0, help="clock speed-up (default 50)")
    parser.add_argument("--per-hour", type=float, default=24.0, help="new posts per simulated hour")
    parser.add_argument("--work", default=str(ROOT / "var" / "soak"), help="scratch directory")
    parser.add_argument("--models", default=None, help="a trained model directory to copy")
    parser.add_argument("--sample", type=float, default=2.0, help="RSS sampling period (s)")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the report here")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # run()'s clean-up stops the service and the world

    signal.signal(signal.SIGTERM, interrupted)
    report = run(args)
    text = format_report(report)
    print(text)
    out = Path(args.json_out) if args.json_out else Path(args.work) / "report.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    (Path(args.work) / "report.txt").write_text(text + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1
