"""The inbox page shows 50 alerts a page with a 更多 link to the next, filters kept; the
live list polls the page it is on. Over HTTP, and in a real headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert

from console.pages import INBOX_PAGE
from store.models import Alert
from tests.console.conftest import START

if TYPE_CHECKING:
    from tests.console.conftest import Console

N = 2 * INBOX_PAGE + 20  # three pages: 50, 50, 20


def _many(console: Console, n: int = N, team: str = "donghu-hubin") -> None:
    """``n`` open alerts of one grid, ack deadlines a minute apart (so their order is fixed)."""
    with console.app.store.session() as s:
        s.execute(
            insert(Alert),
            [
                {
                    "dedup_key": f"paging:{team}:{i}", "rule": "test", "tier": 2,
                    "status": "open", "team_id": team, "title": f"告警{i:03d}",
                    "reason": "测试", "category": "城乡建设", "area": "湖滨社区",
                    "post_count": 1, "opened_at": START, "updated_at": START,
                    "ack_deadline": START + timedelta(hours=1, minutes=i),
                    "respond_deadline": START + timedelta(days=1), "escalation_level": 0,
                }
                for i in range(n)
            ],
        )  # fmt: skip


def _titles(html: str) -> list[str]:
    return re.findall(r'data-title="(告警\d{3})"', html)


def _more(html: str) -> str | None:
    m = re.search(r'<a class="more" rel="next" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def test_inbox_pages_by_fifty_with_a_more_link_keeping_filters(console: Console) -> None:
    _many(console)
    _many(console, 3, team="hexi")  # another team's: the team filter leaves them out
    c = console.browser("sup")
    page1 = c.get("/", params={"team": "donghu-hubin", "status": "open"}).text
    assert _titles(page1) == [f"告警{i:03d}" for i in range(INBOX_PAGE)]
    assert f"共 {N} 条" in page1 and f"第 1–{INBOX_PAGE} 条" in page1
    assert "更多" in page1 and "上一页" not in page1
    nxt = _more(page1)
    assert nxt is not None
    query = parse_qs(urlsplit(nxt).query)
    assert query == {"team": ["donghu-hubin"], "status": ["open"], "page": ["2"]}
    # the live list polls this page, filters and all
    assert 'data-refresh="/inbox/list?team=donghu-hubin&amp;status=open"' in page1

    page2 = c.get(nxt).text
    assert _titles(page2) == [f"告警{i:03d}" for i in range(INBOX_PAGE, 2 * INBOX_PAGE)]
    assert "上一页" in page2
    assert 'data-refresh="/inbox/list?team=donghu-hubin&amp;status=open&amp;page=2"' in page2
    frag = c.get("/inbox/list", params={**{k: v[0] for k, v in query.items()}})
    assert frag.status_code == 200 and _titles(frag.text) == _titles(page2)

    page3 = c.get(_more(page2) or "").text
    assert _titles(page3) == [f"告警{i:03d}" for i in range(2 * INBOX_PAGE, N)]
    assert _more(page3) is None and "上一页" in page3

    everything = c.get("/").text  # no filter: every team's, still 50 a page
    assert len(re.findall(r'class="alert-card', everything)) == INBOX_PAGE
    assert f"共 {N + 3} 条" in everything


def test_a_page_past_the_end_says_so(console: Console) -> None:
    _many(console, 5)
    c = console.browser("sup")
    assert "这一页没有告警了" in c.get("/", params={"page": "9"}).text
    assert len(_titles(c.get("/", params={"page": "0"}).text)) == 5  # read as page 1
    assert c.get("/", params={"page": "x"}).status_code == 422


# ------------------------------------------------------------------- browser

try:  # the browser module's fixture ``driver`` (one Chromium per module)
    from tests.console.test_console_browser import (  # noqa: F401
        CHROMIUM,
        DRIVER,
        Live,
        driver,
        serving,
    )
except pytest.skip.Exception:  # selenium missing: the browser test below skips
    CHROMIUM = DRIVER = None


@pytest.fixture
def paged(console: Console, driver: tuple[Any, Path]) -> Iterator[Live]:  # noqa: F811
    _many(console)
    with serving(console, driver) as live:
        yield live


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver")
def test_more_leads_to_the_next_page_and_its_list_stays_live(paged: Live) -> None:
    from selenium.webdriver.common.by import By

    def cards(d: Any) -> list[str]:
        return [e.get_attribute("data-title") for e in d.find_elements(
            By.CSS_SELECTOR, "li.alert-card")]  # fmt: skip

    paged.login("hubin")
    assert len(cards(paged.driver)) == INBOX_PAGE
    paged.css("a.more").click()
    paged.wait(lambda d: "page=2" in d.current_url)
    assert cards(paged.driver)[0] == f"告警{INBOX_PAGE:03d}"
    # the second page's poll follows a change written elsewhere (its first alert renamed)
    with paged.console.app.store.session() as s:
        s.execute(
            Alert.__table__.update()
            .where(Alert.title == f"告警{INBOX_PAGE:03d}")
            .values(title="已改名的告警")
        )
    paged.wait(lambda d: "已改名的告警" in paged.css("#inbox-live").text)
    assert not paged.all("li.alert-card.fresh")  # a page further on announces nothing
