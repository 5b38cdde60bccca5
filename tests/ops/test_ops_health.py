"""/healthz, /readyz and /metrics on the console app over a real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ops_kit import (
    CONFIG_DIR,
    START,
    add_post,
    edit_yaml,
    free_port,
    install_models,
    trained_models,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from alerts.engine import evaluate_new_posts
from alerts.lock import StoreLock
from console.web import create_app
from runtime.app import App
from store.alerting_models import NotificationOutbox
from store.models import Alert, DeadLetterRow
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

__all__ = ["trained_models"]  # the fixture, used by name
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def make_app(tmp_path: Path, db_url: str) -> Iterator[object]:
    apps: list[App] = []

    def make(database_url: str | None = None, **settings: object) -> App:
        cfg = tmp_path / f"config{len(apps)}"
        import shutil

        shutil.copytree(CONFIG_DIR, cfg)
        edit_yaml(cfg / "settings.yaml", lambda d: d.update(settings))
        env = {
            "YUQING_DATABASE_URL": database_url or db_url,
            "YUQING_VAR_DIR": str(tmp_path / "var"),
        }
        app = App(load_config(cfg, env), clock=FrozenClock(START))
        apps.append(app)
        return app

    yield make
    for a in apps:
        a.close()


def _ready(app: App) -> tuple[int, dict]:
    r = TestClient(create_app(app)).get("/readyz")
    return r.status_code, r.json()


def test_readyz_names_a_missing_model_then_is_ready(make_app: object, trained_models: Path) -> None:
    app = make_app()  # type: ignore[operator]
    status, body = _ready(app)
    assert status == 503 and body["failing"] == ["model"], body
    assert "no active model" in body["checks"]["model"]["detail"]
    assert body["checks"]["store"]["ok"] and body["checks"]["migrations"]["detail"] == "at head"
    install_models(trained_models, app.config.var_dir)
    status, body = _ready(app)
    assert status == 200 and body["status"] == "ready", body
    assert body["checks"]["model"]["detail"].startswith("v")


def test_readyz_when_the_store_is_unreachable_healthz_still_ok(
    make_app: object, trained_models: Path
) -> None:
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")  # type: ignore[operator]
    install_models(trained_models, app.config.var_dir)
    client = TestClient(create_app(app))
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 503
    assert {"store", "migrations"} <= set(r.json()["failing"]), r.json()
    assert "cannot reach the database" in r.json()["checks"]["store"]["detail"]
    m = client.get("/metrics", headers={"Authorization": "Bearer x"})
    assert m.status_code == 403  # not loopback, no token configured


def test_readyz_when_migrations_are_behind(make_app: object, trained_models: Path) -> None:
    from alembic.script import ScriptDirectory

    from store.db import MIGRATIONS

    app = make_app()  # type: ignore[operator]
    install_models(trained_models, app.config.var_dir)
    head = ScriptDirectory(str(MIGRATIONS)).get_revision("heads")
    older = head.down_revision if isinstance(head.down_revision, str) else head.down_revision[0]
    with app.store.engine.begin() as c:
        c.execute(text("DELETE FROM alembic_version"))
        c.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": older})
    status, body = _ready(app)
    assert status == 503 and body["failing"] == ["migrations"], body
    assert head.revision in body["checks"]["migrations"]["detail"]


def test_readyz_when_the_index_is_unreachable(make_app: object, trained_models: Path) -> None:
    app = make_app(  # type: ignore[operator]
        index={"backend": "elasticsearch", "es_url": f"http://127.0.0.1:{free_port()}"}
    )
    install_models(trained_models, app.config.var_dir)
    status, body = _ready(app)
    assert status == 503 and body["failing"] == ["index"], body


def _metrics(client: TestClient, **headers: str) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_figures_come_from_the_store(make_app: object, trained_models: Path) -> None:
    app = make_app(ops={"metrics_token": TOKEN})  # type: ignore[operator]
    install_models(trained_models, app.config.var_dir)
    now = app.now()
    for i in range(3):
        add_post(app.store, now, f"化工厂爆炸起火{i}", severity=4, area="湖滨社区")
    add_post(app.store, now, "路灯不亮", severity=1, area="湖滨社区")
    with app.store.session() as s:
        evaluate_new_posts(s, app.config, app.router, now)
        s.add(DeadLetterRow(at=now, stage="normalise", reason="bad date", payload={}))
    StoreLock(app.store, "scheduler", "host:42:abc", timedelta(seconds=60)).acquire(now)

    client = TestClient(create_app(app))
    assert client.get("/metrics").status_code == 403  # the test client is not loopback
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    m = _metrics(client, Authorization=f"Bearer {TOKEN}")

    with app.store.session() as s:
        alerts = s.execute(
            select(Alert.status, Alert.tier, func.count()).group_by(Alert.status, Alert.tier)
        ).all()
        pending = s.scalar(
            select(func.count())
            .select_from(NotificationOutbox)
            .where(NotificationOutbox.status == "pending")
        )
    assert m[("yuqing_store_up", ())] == 1
    assert m[("yuqing_posts_stored_total", ())] == 4
    assert m[("yuqing_posts_fetched_last_hour", ())] == 4
    assert m[("yuqing_index_outbox_backlog", ())] == 4  # nothing indexed yet
    assert m[("yuqing_index_outbox_oldest_seconds", ())] == 0  # queued at the frozen now
    assert alerts, "a tier I post raises an alert"
    from yuqing.contracts import tier_name

    for status, tier, n in alerts:
        assert m[("yuqing_alerts", (("status", status), ("tier", tier_name(tier))))] == n
    assert pending and m[("yuqing_notification_outbox", (("status", "pending"),))] == pending
    assert m[("yuqing_notification_outbox_due", ())] == pending  # tier I: due at once
    assert m[("yuqing_notification_failed_attempts_total", ())] == 0
    app.clock.advance(timedelta(minutes=5))  # nobody delivers: the backlog ages
    later = _metrics(client, Authorization=f"Bearer {TOKEN}")
    assert later[("yuqing_notification_outbox_oldest_due_seconds", ())] == 300
    assert later[("yuqing_index_outbox_oldest_seconds", ())] == 300
    assert m[("yuqing_dead_letters", (("resolved", "false"), ("stage", "normalise")))] == 1
    assert m[("yuqing_scheduler_lease_seconds", (("holder", "host:42:abc"),))] == 60
    version = app.config.model_dir.joinpath("current").read_text().strip()
    assert m[("yuqing_model_info", (("version", version),))] == 1
