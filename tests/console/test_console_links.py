"""A robot message links straight to the alert (settings console.public_url), and the
login returns there; ?next= never leads off the site."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from alerts.messages import render_alert
from console.auth_pages import _safe_next
from store.models import Alert
from tests.console.conftest import PASSWORD

if TYPE_CHECKING:
    from tests.console.conftest import Console


def test_a_robot_message_links_to_the_alert(console: Console) -> None:
    console.add_post("湖滨社区化工厂爆炸", "湖滨社区化工厂发生爆炸。", severity=4, area="湖滨社区")
    console.evaluate()
    config = console.app.config
    with console.app.store.session() as s:
        alert = s.query(Alert).one()
        plain = render_alert(config, alert, "open", alert.team_id)
        assert plain.data["url"] is None and "http" not in plain.markdown
        cs = config.settings.console.model_copy(update={"public_url": "https://yq.example.cn/"})
        settings = config.settings.model_copy(update={"console": cs})
        linked = render_alert(dataclasses.replace(config, settings=settings), alert, "open", "x")
    url = f"https://yq.example.cn/alerts/{alert.id}"
    assert linked.data["url"] == url
    assert f"[打开告警处理]({url})" in linked.markdown and url in linked.text
    # the link, followed by someone not logged in, goes through the login and back
    anon = console.anonymous()
    r = anon.get(f"/alerts/{alert.id}", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Falerts%2F{alert.id}"
    form = {"username": "hubin", "password": PASSWORD, "next": f"/alerts/{alert.id}"}
    r = anon.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{alert.id}"


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example",
     "javascript:alert(1)", "/\r\n/evil", "evil.example", ""],
)  # fmt: skip
def test_next_never_leaves_the_site(console: Console, target: str) -> None:
    assert _safe_next(target) == "/"
    r = console.anonymous().post(
        "/login",
        data={"username": "hubin", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_next_keeps_a_local_path() -> None:
    assert _safe_next("/alerts/7?done=acknowledge") == "/alerts/7?done=acknowledge"
    assert _safe_next("/search?q=a:b") == "/search?q=a:b"
