"""The event page in a real headless Chromium: posts from two sources, a split and a
merge by hand, and the 事件专报 downloaded as PDF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analysis.test_event_pages import matter  # noqa: F401
from tests.console.conftest import Console, console  # noqa: F401
from tests.console.test_console_browser import (  # noqa: F401  (the module's browser)
    CHROMIUM,
    DRIVER,
    Live,
    driver,
    serving,
)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="headless browser tests need chromium and chromedriver"
)
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def live(console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:  # noqa: F811
    with serving(console, driver) as live:
        yield live


def test_event_page_split_merge_and_report(live: Live, matter: dict[str, int]) -> None:  # noqa: F811
    live.login("ana")
    event = matter["event"]
    live.get(f"/events/{event}")
    sources = {e.text for e in live.all(".timeline .meta .source")}
    assert sources == {"demo-board", "hotline-12345"}
    # the spread curve, drawn by ECharts: both posts on the matter's one day
    live.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-spread .echart[data-rendered]"))
    data = live.driver.execute_script(
        "return echarts.getInstanceByDom(document.querySelector('#chart-spread .echart'))"
        ".getOption().series[0].data;"
    )
    assert data == [2]
    # split the 12345 record off by hand
    live.css(f"input[name=post_ids][value='{matter['hotline']}']").click()
    live.css("#split-form button[type=submit]").click()
    live.wait(lambda d: "done=split" in d.current_url)
    split_off = int(live.driver.current_url.split("/events/")[1].split("?")[0])
    assert split_off != event
    assert [e.text for e in live.all(".timeline .meta .source")] == ["hotline-12345"]
    # and merge it back
    live.css("form[action$='/merge'] input[name=into]").send_keys(str(event))
    live.css("form[action$='/merge'] button").click()
    live.wait(lambda d: "done=merge" in d.current_url)
    assert f"/events/{event}" in live.driver.current_url
    assert len(live.all(".timeline li")) == 2
    assert "event.merge" in live.driver.page_source and "event.split" in live.driver.page_source
    for old in live.downloads.glob("*"):
        old.unlink()
    live.driver.find_element(By.CSS_SELECTOR, "a[href$='report.pdf']").click()
    target = live.downloads / f"event-{event}.pdf"
    live.wait(lambda d: target.exists() and not list(live.downloads.glob("*.crdownload")))
    assert target.read_bytes().startswith(b"%PDF")
