"""The 态势 overview in a real headless Chromium: ECharts (served from /static/vendor)
draws its five charts with data, and the page is scoped for a grid worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.analysis.test_overview import PERIOD, scene  # noqa: F401
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

ECHARTS = Path(__file__).parents[2] / "console/static/vendor/echarts/echarts.min.js"

# every chart's series as (type, name, number of points) read back from ECharts itself
SERIES = """return Array.from(document.querySelectorAll('.echart')).map(function (el) {
  var c = echarts.getInstanceByDom(el);
  return [el.closest('figure').id, c.getOption().series.map(function (s) {
    return [s.type, s.name, s.data.length]; })]; });"""


@pytest.fixture
def live(console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:  # noqa: F811
    if not ECHARTS.exists():
        pytest.fail(f"{ECHARTS} is missing: `make vendor` copies it from the npm package")
    with serving(console, driver) as live:
        yield live


def test_the_overview_draws_its_charts_with_data(live: Live, scene: dict[str, Any]) -> None:  # noqa: F811
    live.login("ana")
    live.css("header nav a[href='/overview']").click()
    live.wait(lambda d: "/overview" in d.current_url)
    live.get("/overview?" + urlencode(PERIOD))
    live.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".echart[data-rendered]")) == 5)
    for chart in live.all(".echart"):
        assert chart.size["width"] > 300 and chart.size["height"] >= 240
        assert chart.find_elements(By.CSS_SELECTOR, "svg path")  # drawn, not an empty box
    series = dict(live.driver.execute_script(SERIES))
    assert [(t, n[:2], k) for t, n, k in series["chart-volume"]] == [
        ("line", "本期", 7), ("line", "上期", 7)]  # fmt: skip
    assert [s[1] for s in series["chart-rising"]] == ["本期帖子", "上期帖子"]
    assert series["chart-rising"][0][2] == 3
    assert series["chart-grids"][0][:2] == ["treemap", "帖子"]
    # a tooltip names the series it shows: hover the rising chart's first bar
    text = live.driver.execute_script(
        "var c = echarts.getInstanceByDom(document.querySelector('#chart-rising .echart'));"
        "c.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});"
        "var tip = document.querySelector('#chart-rising .echart > div:last-child');"
        "return tip ? tip.innerText : '';"
    )
    assert "本期帖子" in text and "上期帖子" in text and "条" in text


def test_a_grid_worker_sees_only_their_grid(live: Live, scene: dict[str, Any]) -> None:  # noqa: F811
    live.login("hubin")
    live.get("/overview?" + urlencode(PERIOD))
    live.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-grids .echart[data-rendered]"))
    tree = live.driver.execute_script(
        "return JSON.stringify(echarts.getInstanceByDom("
        "document.querySelector('#chart-grids .echart')).getOption().series[0].data);"
    )
    assert "湖滨社区" in tree and "河西村" not in tree and "文昌社区" not in tree
    assert live.css("#kpi-posts strong").text == "4"
