"""Model admin: versions, confusion matrix, labelling queue, retrain, promote, roll back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from classifier.bootstrap import active_version, save_version, set_active
from classifier.training import train
from store.classifier_models import ClassifierCorrection
from store.models import AuditLog
from tests.classifier.synthetic import examples

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.console.conftest import Console


@pytest.fixture
def first_model(console: Console, three_alerts: dict[str, int]) -> str:
    config = console.app.config
    model = train(examples(), config.taxonomy)
    # its training data recorded with it (small and quick): what retraining starts from
    save_version(model, config.model_dir, embed=examples())
    set_active(config.model_dir, model.version)
    return model.version


def _csrf(c: TestClient) -> str:
    html = c.get("/admin/models").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_admin_sees_versions_and_the_queue(console: Console, first_model: str) -> None:
    c = console.browser("admin")
    html = c.get("/admin/models").text
    assert first_model in html and "启用中" in html
    assert "待标注" in html and html.count('class="action label"') == 4  # the four posts
    assert "13812345678" not in html
    for user in ("sup", "ana", "hubin"):
        assert console.as_user(user).get("/admin/models").status_code == 403


def test_label_retrain_promote_rollback(console: Console, first_model: str, three_alerts) -> None:  # type: ignore[no-untyped-def]
    c = console.browser("admin")
    csrf = _csrf(c)
    pid = three_alerts["quiet"]
    r = c.post(f"/admin/posts/{pid}/label", data={"category": "交通运输", "tier": "III",
                                                  "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with console.app.store.session() as s:
        corr = s.scalars(select(ClassifierCorrection)).one()
        assert (corr.new_category, corr.new_severity, corr.actor) == ("交通运输", 2, "admin")
    assert c.post(f"/admin/posts/{pid}/label", data={"category": "天文", "csrf_token": csrf}
                  ).status_code == 400  # fmt: skip
    assert c.post("/admin/models/retrain").status_code == 403  # CSRF
    r = c.post("/admin/models/retrain", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    retrainer = console.client.app.state.retrainer
    retrainer.thread.join(timeout=240)
    assert retrainer.state["state"] == "done", retrainer.state
    new = retrainer.state["version"]
    assert new != first_model and retrainer.state["corrections"] == 1
    html = c.get("/admin/models", params={"version": new}).text
    assert new in html and "混淆矩阵" in html and 'id="confusion"' in html
    assert active_version(console.app.config.model_dir) == first_model  # not promoted by itself
    r = c.post(f"/admin/models/{new}/promote", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert active_version(console.app.config.model_dir) == new
    r = c.post("/admin/models/rollback", data={"csrf_token": csrf}, follow_redirects=False)
    assert active_version(console.app.config.model_dir) == first_model
    r = c.post("/admin/models/nonesuch/promote", data={"csrf_token": csrf})
    assert r.status_code == 200 and "nonesuch" in r.text  # shown as an error on the page
    with console.app.store.session() as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.target_type == "model")))
    assert actions == {"model.retrain", "model.promote", "model.rollback"}


def test_no_model_yet(console: Console, three_alerts: dict[str, int]) -> None:
    html = console.browser("admin").get("/admin/models").text
    assert "尚无启用的模型" in html and "尚无模型" in html
