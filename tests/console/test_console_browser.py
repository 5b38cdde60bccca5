"""The console in a real headless Chromium (Debian `chromium` + `chromium-driver`) via Selenium.

A real uvicorn server on 127.0.0.1 serves the test console; the browser logs
in through the form as each role, works an alert from open to resolved,
searches with a facet, opens the dashboard and checks its charts are drawn,
and downloads a brief as PDF. Skipped, with the reason, when Chromium or its
driver is not installed (`make` installs them when run as root).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from store.models import Post
from store.posts import index_doc
from tests.console.conftest import PASSWORD, USERS

if TYPE_CHECKING:
    from tests.console.conftest import Console

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="headless browser tests need Debian chromium and chromium-driver "
    "(apt-get install -y chromium chromium-driver; `make test` does it as root)",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 20  # seconds a page may take on a busy 2-core machine (a ceiling, not a measurement)


@dataclass
class Live:
    console: Console
    url: str
    driver: Any
    downloads: Path

    def get(self, path: str) -> None:
        self.driver.get(self.url + path)

    def wait(self, cond: Callable[[Any], Any]) -> Any:
        return WebDriverWait(self.driver, WAIT).until(cond)

    def css(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.driver.delete_all_cookies()
        self.get("/login")
        self.css("input[name=username]").send_keys(username)
        self.css("input[name=password]").send_keys(password)
        self.css(".login-form button[type=submit]").click()
        self.wait(lambda d: "/login" not in d.current_url)

    def logout(self) -> None:
        self.css("form.logout button").click()
        self.wait(lambda d: "/login" in d.current_url)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=zh-CN"):  # fmt: skip
        opts.add_argument(arg)
    opts.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "plugins.always_open_pdf_externally": True,
        },
    )
    d = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)
    d.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield d, downloads
    finally:
        d.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:
    """The console on a real uvicorn server on loopback, driven by the module's browser
    (every browser test's ``live`` fixture is this)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(console.client.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # wait for the socket; the thread ends the test if it dies
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    d, downloads = driver
    try:
        yield Live(console, f"http://127.0.0.1:{port}", d, downloads)
    finally:
        d.delete_all_cookies()
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live(
    console: Console, three_alerts: dict[str, int], driver: tuple[Any, Path]
) -> Iterator[Live]:
    with console.app.store.session() as s:  # the analyst searches: index every post
        docs = [index_doc(p) for p in s.scalars(select(Post))]
    assert console.app.index.index(docs) == []
    with serving(console, driver) as live:
        yield live


NAV = {  # what each role's menu offers
    "responder": {"告警收件箱", "态势总览"},
    "analyst": {"告警收件箱", "态势总览", "事件", "舆情检索", "监测方案"},
    "supervisor": {
        "告警收件箱",
        "研判队列",
        "态势总览",
        "事件",
        "舆情检索",
        "监测方案",
        "督办统计",
        "舆情简报",
    },
    "admin": {
        "告警收件箱",
        "研判队列",
        "态势总览",
        "事件",
        "舆情检索",
        "监测方案",
        "督办统计",
        "舆情简报",
        "模型管理",
    },
}


def test_each_role_logs_in_and_sees_its_menu_and_scope(live: Live) -> None:
    live.get("/")
    assert "/login" in live.driver.current_url  # anonymous: sent to the login form
    live.css("input[name=username]").send_keys("sup")
    live.css("input[name=password]").send_keys("wrong password")
    live.css(".login-form button[type=submit]").click()
    live.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".error"))
    assert "用户名或密码错误" in live.css(".error").text
    for username, (role, _team) in USERS.items():
        live.login(username)
        # the inbox link carries the count of alerts waiting for a confirmation
        nav = {a.text.rstrip("0123456789 ") for a in live.all("header nav a")}
        assert nav == NAV[role], username
        cards = live.all("li.alert-card")
        if username == "hubin":
            assert len(cards) == 1 and "湖滨社区" in cards[0].text
        elif username == "hexi":
            assert len(cards) == 1 and "河西村" in cards[0].text
        elif role != "responder":
            assert len(cards) == 3
        # the session cookie is out of JavaScript's reach
        assert live.driver.execute_script("return document.cookie") == ""
        live.logout()
    live.get("/")
    assert "/login" in live.driver.current_url


def test_responder_works_an_alert_from_open_to_resolved(live: Live) -> None:
    live.login("hubin")
    live.css("li.alert-card a.title").click()
    live.wait(lambda d: "/alerts/" in d.current_url)
    assert "待确认" in live.css(".alert-detail").text
    live.css("form.action[action$='/acknowledge'] button").click()
    live.wait(lambda d: "done=acknowledge" in d.current_url)
    assert "已确认" in live.css(".notice").text
    live.css("#reply-text").send_keys("已联系社区和消防，现场已处置。")
    live.css("form.action.reply button").click()
    live.wait(lambda d: "done=reply" in d.current_url)
    live.css("form.action[action$='/resolve'] button").click()
    live.wait(lambda d: "done=resolve" in d.current_url)
    assert "已办结" in live.css(".alert-detail").text
    history = live.css("ol.responses").text
    assert "确认" in history and "回复" in history and "办结" in history and "hubin" in history
    assert "现场已处置" in history


def test_inbox_fits_a_phone(live: Live) -> None:
    live.login("hubin")
    live.driver.set_window_size(390, 844)
    try:
        live.get("/")
        assert live.all("li.alert-card")
        overflow = live.driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
    finally:
        live.driver.set_window_size(1280, 900)


def test_analyst_searches_with_a_facet(live: Live) -> None:
    live.login("ana")
    live.get("/search")
    box = live.css("form.search input[name=q]")
    box.send_keys("社区")
    box.submit()
    live.wait(lambda d: "q=" in d.current_url)
    before = len(live.all(".hit"))
    assert before >= 2
    facet = next(a for a in live.all(".facets a") if "湖滨社区" in a.text)
    facet.click()
    live.wait(lambda d: "area=" in d.current_url)
    hits = live.all(".hit")
    assert hits and all("湖滨社区" in h.text for h in hits)
    assert len(hits) < before


def test_supervisor_dashboard_draws_its_charts(live: Live) -> None:
    c = live.console
    alerts = c.client.get("/api/v1/alerts").json()["alerts"]
    c.clock.advance(timedelta(minutes=10))
    assert c.client.post(f"/api/v1/alerts/{alerts[0]['id']}/acknowledge").status_code == 200
    c.clock.advance(timedelta(hours=1))
    live.login("sup")
    live.css("header nav a[href='/dashboard']").click()
    live.wait(lambda d: "/dashboard" in d.current_url)
    live.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".echart[data-rendered]")) == 3)
    for chart in live.all(".echart"):
        assert chart.size["width"] > 300 and chart.size["height"] >= 240  # legible, not 6 px
    # each chart's series carry their own names, one bar per group
    names = live.driver.execute_script(
        "return Array.from(document.querySelectorAll('.echart')).map(function (el) {"
        "  return echarts.getInstanceByDom(el).getOption().series.map(function (s) {"
        "    return s.name + ':' + s.data.length; }); });"
    )
    groups = len(live.all("table.stats tbody tr")) - 1  # less the total row
    assert names[0] == [f"确认用时中位数:{groups}", f"办结用时中位数:{groups}"]
    assert names[2] == [f"积压:{groups}", f"超时:{groups}"]
    assert "湖滨社区网格" in live.css("table.stats").text
    assert "治理效能指数" in live.css("#efficiency").text


def test_supervisor_downloads_a_brief_as_pdf(live: Live) -> None:
    live.login("sup")
    live.get("/reports?kind=daily&date=2026-03-02")
    assert "舆情日报" in live.driver.page_source or "日报" in live.css(".count").text
    for old in live.downloads.glob("*"):
        old.unlink()
    live.css("#brief-pdf").click()
    target = live.downloads / "yuqing-daily-2026-03-02.pdf"
    live.wait(lambda d: target.exists() and not list(live.downloads.glob("*.crdownload")))
    assert target.read_bytes().startswith(b"%PDF")
