"""The duty desk's queue in a real headless Chromium: a new tier I alert appears on an
open 研判队列 page without a reload, and one click confirms it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.console.test_console_browser import (  # noqa: F401  (the module's browser)
    CHROMIUM,
    DRIVER,
    Live,
    driver,
    serving,
)

if TYPE_CHECKING:
    from tests.console.conftest import Console

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="headless browser tests need chromium and chromedriver"
)
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def desk_live(desk_console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:  # noqa: F811
    with serving(desk_console, driver) as live:
        yield live


def test_the_queue_updates_live_and_confirms_in_one_click(desk_live: Live) -> None:
    live = desk_live
    live.login("desk")
    assert "研判队列" in {a.text for a in live.all("header nav a")}
    live.get("/triage")
    assert "目前没有待研判的告警" in live.css(".triage-urgent").text
    c = live.console
    c.add_post("湖滨社区化工厂爆炸", "湖滨社区化工厂发生爆炸。", severity=4, area="湖滨社区")
    c.evaluate()  # the page is not reloaded: its poll brings the new alert
    card = live.wait(lambda d: d.find_elements(By.CSS_SELECTOR, ".triage-card"))[0]
    assert "湖滨社区化工厂爆炸" in card.text and "拟派 湖滨社区网格" in card.text
    assert card.find_element(By.CSS_SELECTOR, ".countdown").text  # counting down
    card.find_element(By.CSS_SELECTOR, "form[action$='/confirm'] button").click()
    live.wait(lambda d: "done=confirm" in d.current_url)
    assert "已确认并派发" in live.css(".notice").text
    live.login("hubin")  # the grid now has it, with the tier's deadlines
    cards = live.all("li.alert-card")
    assert len(cards) == 1 and "湖滨社区化工厂爆炸" in cards[0].text
