"""Figure: time from a post being stored to its alert's notification leaving the
outbox, through the real scheduler (APScheduler, SQLAlchemy job store, store lock),
the pipeline tick (index + rule evaluation) and a webhook on loopback; reported
as a ratio to the rule-evaluation interval (the reference measured alongside)."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, Row, say

TOPICS = [
    "工地坍塌",
    "燃气爆炸",
    "危化品泄漏",
    "山体滑坡",
    "校车侧翻",
    "桥梁垮塌",
    "食物中毒",
    "踩踏事故",
    "堤坝管涌",
    "高楼火灾",
    "矿井透水",
    "电梯坠落",
]


class _Sink(BaseHTTPRequestHandler):
    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _config(tmp: Path, hook: str, interval: float) -> Path:
    cfg = tmp / "config"
    shutil.copytree(ROOT / "config", cfg)
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    s = yaml.safe_load((cfg / "settings.yaml").read_text(encoding="utf-8")) or {}
    s.setdefault("scheduler", {})["pipeline_interval"] = f"{interval}s"
    (cfg / "settings.yaml").write_text(yaml.safe_dump(s, allow_unicode=True), encoding="utf-8")
    a = yaml.safe_load((cfg / "alerts.yaml").read_text(encoding="utf-8"))
    a["channels"] = {"log": {"kind": "log"}, "hook": {"kind": "webhook", "url": hook}}
    a.setdefault("notify", {})["default_channels"] = ["hook"]
    a["jobs"] = {
        "deadlines": "30s",
        "outbox": f"{interval / 2}s",
        "digest": "5m",
        "lock_ttl": "60s",
    }
    (cfg / "alerts.yaml").write_text(yaml.safe_dump(a, allow_unicode=True), encoding="utf-8")
    t = yaml.safe_load((cfg / "teams.yaml").read_text(encoding="utf-8"))
    for team in t["teams"]:
        team["channels"] = []
    (cfg / "teams.yaml").write_text(yaml.safe_dump(t, allow_unicode=True), encoding="utf-8")
    return cfg


def run(quick: bool) -> list[Row]:
    from sqlalchemy import select

    from analysis.linking import Linker
    from runtime.app import App
    from runtime.service import Service
    from store.alerting_models import NotificationOutbox
    from store.models import Alert, Post
    from store.posts import upsert_post
    from yuqing.contracts import Classification, CrawledPost
    from yuqing.settings import load_config

    n = 12 if quick else 60
    interval = 1.0
    rng = random.Random(6)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-alerts-") as tmp_name:
        tmp = Path(tmp_name)
        env = {"YUQING_DATABASE_URL": f"sqlite:///{tmp / 'yuqing.db'}", "YUQING_VAR_DIR": str(tmp)}
        config = load_config(_config(tmp, hook, interval), env)
        app = App(config)
        svc = Service(app, holder="bench")
        app.index.search  # noqa: B018 - open the index and load jieba first: steady state
        app.tokenize("预热分词器")
        svc.start()
        say(f"alerts: {n} tier I posts stored at random moments, evaluation every {interval:g} s")
        try:
            areas = ["湖滨社区", "文昌社区", "南门社区", "东湖新村社区", "河西镇"]
            for i in range(n):
                time.sleep(rng.uniform(0, interval))
                what = TOPICS[i % len(TOPICS)]
                post = CrawledPost(
                    source="bench",
                    title=f"{what}（第{i}起）",
                    text=f"{areas[i % len(areas)]}{what}，{rng.randint(2, 99)}人受伤。编号{i * 7919}",
                    url=f"http://bench.invalid/{i}",
                    area=areas[i % len(areas)],
                    published_at=datetime.now(UTC),
                )
                cls = Classification("城乡建设", 0.9, 4, ["bench"], "bench")
                with app.store.session() as s:
                    upsert_post(s, post, cls, datetime.now(UTC), linking=Linker)
            deadline = time.monotonic() + 30 + 5 * interval
            while time.monotonic() < deadline:
                with app.store.session() as s:
                    sent = s.scalars(
                        select(NotificationOutbox.id).where(NotificationOutbox.status == "sent")
                    ).all()
                if len(sent) >= n:
                    break
                time.sleep(0.1)
            with app.store.session() as s:
                rows = s.execute(
                    select(Post.fetched_at, NotificationOutbox.sent_at)
                    .join(Alert, Alert.latest_post_id == Post.id)
                    .join(NotificationOutbox, NotificationOutbox.alert_id == Alert.id)
                    .where(
                        Alert.rule == "severe-post",  # not the spike alerts these posts cause
                        # machine-only tier I: the duty desk is paged first (研判)
                        NotificationOutbox.kind.in_(("open", "triage")),
                        NotificationOutbox.status == "sent",
                    )
                ).all()
        finally:
            svc.stop()
            app.close()
            server.shutdown()
            server.server_close()
    lat = sorted((sent - stored).total_seconds() for stored, sent in rows if sent is not None)
    if not lat:
        return [Row("alert notification latency", "none sent", f"{interval:g} s", None, "failed")]
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    note = (
        f"{len(lat)} alerts opened by {n} tier I posts (near-duplicates join one); stored -> rule evaluation (pipeline tick) -> outbox -> "
        f"webhook on loopback, real APScheduler; the first page goes to the duty desk (研判, "
        f"machine-only tier I); ratio = latency / evaluation interval"
    )
    return [
        Row(
            "alert latency p50 (post stored → sent)",
            f"{p50:.2f} s",
            f"{interval:g} s interval",
            p50 / interval,
            note,
        ),
        Row(
            "alert latency p95 (post stored → sent)",
            f"{p95:.2f} s",
            f"{interval:g} s interval",
            p95 / interval,
            note,
        ),
    ]
