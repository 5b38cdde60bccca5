"""A monitoring scheme in a real headless Chromium: an analyst saves it through the form,
a new post matches it, the scheduler's tick records the match and mails the scheme's
subscription to a real SMTP server on loopback, and the scheme's page charts it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from console import accounts
from console.web import create_app
from runtime.app import App
from runtime.service import Service
from tests.alerts.alerts_testkit import SmtpSink
from tests.console.conftest import CONFIG_DIR, PASSWORD, START, Console, without_triage
from tests.console.test_console_browser import (  # noqa: F401  (the module's browser)
    CHROMIUM,
    DRIVER,
    Live,
    driver,
    serving,
)
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="headless browser tests need chromium and chromedriver"
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def mail_console(tmp_path: Path, smtp: SmtpSink) -> Iterator[Console]:
    """The bundled config with an e-mail channel ``mail`` pointing at the SMTP sink."""
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    alerts = yaml.safe_load((cfg / "alerts.yaml").read_text(encoding="utf-8"))
    alerts["channels"]["mail"] = {
        "kind": "smtp",
        "url": f"smtp://127.0.0.1:{smtp.port}",
        "sender": "yuqing@example.org",
        "recipients": ["analyst@example.org"],
    }
    (cfg / "alerts.yaml").write_text(yaml.safe_dump(alerts, allow_unicode=True), "utf-8")
    config = without_triage(load_config(cfg, {"YUQING_VAR_DIR": str(tmp_path / "var")}))
    clock = FrozenClock(START)
    app = App(config, clock=clock)
    with app.store.session() as s:
        accounts.add_user(s, config, "ana", PASSWORD, "analyst", START)
    with TestClient(create_app(app)) as client:
        yield Console(app, client, clock)
    app.close()


@pytest.fixture
def live(mail_console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:  # noqa: F811
    with serving(mail_console, driver) as live:
        yield live


def test_a_scheme_saved_in_the_form_matches_and_mails_its_subscriber(
    live: Live, mail_console: Console, smtp: SmtpSink
) -> None:
    mail_console.add_post("垃圾焚烧厂选址", "居民担心空气", severity=2, area="湖滨社区")
    live.login("ana")
    live.css("header nav a[href='/schemes']").click()
    live.wait(lambda d: d.current_url.endswith("/schemes"))
    assert "还没有监测方案" in live.css("main").text
    form = live.css("#scheme-form")
    form.find_element(By.NAME, "name").send_keys("焚烧厂")
    form.find_element(By.NAME, "must").send_keys("垃圾")
    form.find_element(By.NAME, "any_of").send_keys("焚烧，填埋")
    Select(form.find_element(By.NAME, "channels")).select_by_visible_text("mail")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    live.wait(lambda d: "done=saved" in d.current_url)
    assert "垃圾焚烧厂选址" in live.css("#scheme-posts").text  # the look back

    mail_console.add_post("垃圾填埋场渗漏", "河水发黑", severity=2, area="河西村")
    service = Service(mail_console.app, holder="browser-test")
    assert service.lock.acquire(mail_console.clock.now())
    service.tick()
    service.job_outbox()
    mails = [m for m in smtp.messages if "监测方案" in str(m["Subject"])]
    assert len(mails) == 1 and "焚烧厂 新增 1 条" in str(mails[0]["Subject"])

    live.driver.refresh()
    live.wait(lambda d: "垃圾填埋场渗漏" in d.find_element(By.ID, "scheme-posts").text)
    # ECharts drew the daily matches (its SVG inside the chart box), data table beside it
    live.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-scheme-volume .echart svg"))
    total = live.driver.execute_script(
        "const o = JSON.parse(document.querySelector('#chart-scheme-volume .echart-option')"
        ".textContent); return o.series[0].data.reduce((a, b) => a + (b || 0), 0);"
    )
    assert total == 2
