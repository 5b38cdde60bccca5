"""Near-duplicates (reposts, copy-paste complaints, a 12345 record of the same matter)
join one event through the real sink and store; nothing is dropped."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.imports import read_export
from runtime.app import App
from runtime.ingest import Ingestor
from store.models import Post
from yuqing.clock import FrozenClock
from yuqing.contracts import CrawledPost
from yuqing.settings import load_config

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

BOARD = CrawledPost(
    source="demo-board",
    title="东湖新村路灯坏了一个月没人修",
    text="东湖新村三号楼门口的路灯坏了一个月了，晚上出行黑灯瞎火，老人孩子摔倒好几次，"
    "物业说归街道管，街道说归物业管，互相推诿。",
    url="http://127.0.0.1:1/board/thread/1.html",
    area="云溪县",
)
REPOST = CrawledPost(
    source="demo-feed",
    title="转发：路灯一个月不亮，谁来管？",
    text="【转发】东湖新村三号楼门口的路灯坏了一个月了，晚上出行黑灯瞎火，老人孩子摔倒好几次，"
    "物业说归街道管，街道说归物业管，互相推诿。大家帮忙顶一下！",
    url="http://127.0.0.1:1/feed/9.html",
    area="云溪县",
)
SAME_WORDS_OTHER_PLACE = CrawledPost(
    source="demo-board",
    title="湖滨小区路灯坏了一个月没人修",
    text="湖滨小区三号楼门口的路灯坏了一个月了，晚上出行黑灯瞎火，老人孩子摔倒好几次，"
    "物业说归街道管，街道说归物业管，互相推诿。",
    url="http://127.0.0.1:1/board/thread/2.html",
    area="云溪县",
)
OTHER_MATTER = CrawledPost(
    source="demo-board",
    title="东湖新村菜市场占道经营",
    text="东湖新村菜市场门口每天早上摊贩占道经营，车辆无法通行，垃圾遍地，希望城管管一管。",
    url="http://127.0.0.1:1/board/thread/3.html",
    area="云溪县",
)
HOTLINE_CSV = (
    "工单编号,诉求标题,诉求内容,受理时间,所属街道\n"
    "GD20261120001,路灯故障,"
    "市民来电反映：东湖新村三号楼门口的路灯坏了一个月，晚上出行黑灯瞎火，老人孩子摔倒好几次，"
    "物业和街道互相推诿，请求相关部门尽快维修。,2026-11-20 09:30,东湖街道\n"
)


@pytest.fixture(scope="module")
def shared_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def sink(tmp_path: Path, shared_var: Path, db_url: str) -> Iterator[Ingestor]:
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: demo-board, kind: board, url: 'http://127.0.0.1:1/',"
        " selectors: {item_link: a, title: h1, body: div}}\n"
        "  - {name: demo-feed, kind: feed, url: 'http://127.0.0.1:1/feed'}\n"
        "  - {name: hotline, kind: file, area: 云溪县}\n",
        encoding="utf-8",
    )
    config = load_config(
        directory, {"YUQING_VAR_DIR": str(shared_var), "YUQING_DATABASE_URL": db_url}
    )
    app = App(config, clock=FrozenClock(NOW))
    app.model(demo=True)  # ingesting classifies: the demo model, trained once
    ingestor = Ingestor(app)
    yield ingestor
    ingestor.close()


def event_of(sink: Ingestor, url: str | None = None, external_id: str | None = None) -> int:
    with sink.app.store.session() as s:
        q = select(Post.event_id)
        q = q.where(Post.url == url) if url else q.where(Post.external_id == external_id)
        event_id: int = s.scalars(q).one()
        return event_id


def test_reposts_copies_and_a_12345_record_join_one_event(sink: Ingestor, tmp_path: Path) -> None:
    for post in (BOARD, REPOST, SAME_WORDS_OTHER_PLACE, OTHER_MATTER):
        assert sink.accept(post)
    csv = tmp_path / "12345.csv"
    csv.write_text(HOTLINE_CSV, encoding="utf-8-sig")
    [row] = list(read_export(csv, sink.app.config.source("hotline"), "Asia/Shanghai", now=NOW))
    assert isinstance(row, CrawledPost)
    assert sink.accept(row)

    matter = event_of(sink, BOARD.url)
    assert event_of(sink, REPOST.url) == matter  # a repost with its own title
    assert event_of(sink, external_id="GD20261120001") == matter  # the hotline record
    assert event_of(sink, SAME_WORDS_OTHER_PLACE.url) != matter  # same words, another place
    assert event_of(sink, OTHER_MATTER.url) != matter  # same place, another matter
    with sink.app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 5  # linked, not dropped
        from store.models import Event

        assert s.get(Event, matter).post_count == 3
