"""The console as people live in it, in a real headless Chromium: a new alert appears
in an open inbox without a reload, a countdown turns amber then red as the injected
clock passes its warning point and its deadline, an escalated alert's history names
the level it went to and the notification sent, and at 390 px the header fits one
line while the acknowledge button is on screen without sideways scrolling."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.console.test_console_browser import (  # noqa: F401  (the module's browser)
    CHROMIUM,
    DRIVER,
    Live,
    driver,
    live,
)
from tests.console.test_console_live import escalate

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="headless browser tests need chromium and chromedriver"
)
from selenium.webdriver.common.by import By  # noqa: E402


def _cards(d: Any) -> list[Any]:
    return list(d.find_elements(By.CSS_SELECTOR, "li.alert-card"))


def test_a_new_alert_appears_in_an_open_inbox(live: Live) -> None:  # noqa: F811
    live.login("hubin")
    assert len(live.all("li.alert-card")) == 1
    assert live.driver.title.startswith("(1) ")
    c = live.console
    c.add_post("湖滨社区燃气泄漏", "湖滨社区燃气泄漏，居民已疏散。", severity=3, area="湖滨社区")
    c.evaluate()  # no reload: the page's poll brings it
    live.wait(lambda d: len(_cards(d)) == 2)
    fresh = live.all("li.alert-card.fresh")
    assert len(fresh) == 1 and "湖滨社区燃气泄漏" in fresh[0].text
    live.wait(lambda d: d.title.startswith("(2) "))
    assert live.css("#unread-nav").text == "2"


def _countdown(d: Any) -> tuple[str, str]:
    """The first countdown's classes and text, read in one go (the poll replaces nodes)."""
    got = d.execute_script(
        "var e = document.querySelector('li.alert-card .countdown');"
        "return e ? [e.className, e.textContent] : ['', ''];"
    )
    return str(got[0]), str(got[1])


def test_a_countdown_turns_amber_then_red_with_the_servers_clock(live: Live) -> None:  # noqa: F811
    live.login("hubin")  # a tier I alert: 15 minutes to acknowledge
    cls, text = _countdown(live.driver)
    assert "cd-ok" in cls and text.startswith("剩 1"), (cls, text)
    live.console.clock.advance(timedelta(minutes=12))  # 3 of 15 minutes left: amber
    live.wait(lambda d: "cd-warn" in _countdown(d)[0])
    assert _countdown(live.driver)[1] in ("剩 3 分", "剩 2 分")
    live.console.clock.advance(timedelta(minutes=5))
    live.wait(lambda d: "cd-late" in _countdown(d)[0])
    assert _countdown(live.driver)[1].startswith("已超时")
    live.wait(lambda d: "overdue" in d.execute_script(
        "return document.querySelector('li.alert-card').className"
    ))  # fmt: skip


def test_an_escalated_alerts_history_names_level_and_notification(live: Live) -> None:  # noqa: F811
    escalate(live.console)
    live.login("hubin")
    live.css("li.alert-card a.title").click()
    live.wait(lambda d: "/alerts/" in d.current_url)
    assert "已升级" in live.css(".alert-detail").text
    history = live.css("#history").text
    assert "尚无处置记录" not in history
    assert "超时升级至第 1 级" in history and "东湖街道" in history
    assert "超时上报：经" in history and "已送达" in history


def test_at_390px_the_header_fits_one_line_and_acknowledge_is_on_screen(live: Live) -> None:  # noqa: F811
    live.login("sup")  # the longest menu
    d = live.driver
    d.set_window_size(390, 844)
    try:
        for path in ("/", "/triage"):
            live.get(path)
            header = live.css("header.top")
            assert header.size["height"] < 70, path  # one line (was three)
            toggle = live.css("#menu-toggle")
            assert toggle.is_displayed()
            assert toggle.location["y"] < header.location["y"] + header.size["height"]
            assert not any(a.is_displayed() for a in live.all("header nav a"))
            assert (
                d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                <= 0
            )
        toggle.click()
        links = [a for a in live.all("header nav a") if a.is_displayed()]
        assert {a.text for a in links} >= {"研判队列", "督办统计"}
        live.get("/")
        live.css("li.alert-card a.title").click()
        live.wait(lambda d: "/alerts/" in d.current_url)
        ack = live.css("form.action.ack button")
        rect = d.execute_script(
            "var r = arguments[0].getBoundingClientRect();"
            "return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight];",
            ack,
        )
        left, right, top, bottom, width, height = rect
        assert left >= 0 and right <= width, rect
        assert top >= 0 and bottom <= height, rect  # on screen as the page opens
        assert ack.size["height"] >= 40  # a thumb's size
        assert (
            d.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
        )
        ack.click()
        live.wait(lambda d: "done=acknowledge" in d.current_url)
    finally:
        d.set_window_size(1280, 900)
