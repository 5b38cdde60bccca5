"""Events that form on text in the real store (SQLite, and PostgreSQL when configured):
one matter from two sources with no place name, unrelated posts in one area kept
apart, staff's merge and split kept across a re-cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from analysis import linking
from analysis.events import Item, cluster_all, vector
from analysis.linking import Linker
from store.db import Store
from store.models import AuditLog, Event, EventPin, Post
from store.posts import upsert_posts
from yuqing.contracts import Classification, CrawledPost

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

BOARD = (
    "伊景园滨河苑捆绑销售车位",
    "伊景园滨河苑是面向铁路职工的定向商品房，开发商要求购房必须同时购买12万元的车位，"
    "不买车位就取消购房资格，这种捆绑销售车位的做法合法吗？",
)
HOTLINE = (
    "关于购房被要求捆绑车位的诉求",
    "市民来电反映：其购买伊景园滨河苑定向商品房，开发商强制捆绑销售车位，每个车位12万元，"
    "职工不愿购买车位即被取消购房资格，请求相关部门核查处理。",
)
STREETLIGHT = ("路灯坏了一个月没人修", "东门路口的路灯已经坏了一个多月，晚上行人摔倒好几次。")
SEWAGE = ("工厂夜间偷排污水", "河边有家工厂每天夜里往河里排放污水，河水发黑发臭，鱼都死了。")
NOISE = ("夜宵摊噪音扰民", "楼下的夜宵摊每天营业到凌晨三点，喝酒划拳声音很大，孩子无法睡觉。")


def _post(source: str, title: str, text: str, n: int, area: str | None = None) -> CrawledPost:
    return CrawledPost(
        source=source,
        title=title,
        text=text,
        url=f"http://{source}.invalid/{n}",
        published_at=NOW - timedelta(hours=n),
        area=area,
    )


def _cls(category: str = "城乡建设") -> Classification:
    return Classification(category, 0.9, 2, reasons=["test"])


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    s = Store(db_url)
    yield s
    s.close()


def _store(store: Store, posts: list[CrawledPost], at: datetime = NOW) -> list[int]:
    with store.session() as s:
        return [
            r.post_id for r in upsert_posts(s, [(p, _cls()) for p in posts], at, linking=Linker)
        ]


def _events(store: Store, ids: list[int]) -> list[int]:
    with store.session() as s:
        got = dict(s.execute(select(Post.id, Post.event_id).where(Post.id.in_(ids))).tuples().all())
    return [got[i] for i in ids]


def test_one_matter_from_two_sources_without_a_place_is_one_event(store: Store) -> None:
    board = _store(store, [_post("board", *BOARD, 1)])
    # another batch, another source, other words, no place name anywhere
    hotline = _store(store, [_post("hotline-12345", *HOTLINE, 2)], NOW + timedelta(hours=3))
    e = _events(store, board + hotline)
    assert e[0] == e[1]
    with store.session() as s:
        assert s.get(Event, e[0]).post_count == 2  # type: ignore[union-attr]


def test_one_matter_in_one_batch_is_one_event(store: Store) -> None:
    ids = _store(store, [_post("board", *BOARD, 1), _post("hotline-12345", *HOTLINE, 2)])
    assert len(set(_events(store, ids))) == 1


def test_unrelated_posts_in_one_area_stay_apart(store: Store) -> None:
    posts = [
        _post("board", *t, i, area="湖滨社区")
        for i, t in enumerate([STREETLIGHT, SEWAGE, NOISE, BOARD])
    ]
    ids = _store(store, posts[:2]) + _store(store, posts[2:], NOW + timedelta(hours=1))
    assert len(set(_events(store, ids))) == 4


def test_posts_placed_in_two_counties_stay_apart() -> None:
    at = NOW
    a = Item(vector(*BOARD), at, area="芙蓉区")
    b = Item(vector(*HOTLINE), at, area="岳麓区")
    c = Item(vector(*HOTLINE), at, area="芙蓉区")
    assert cluster_all([a, b, c]) == [0, 1, 0]


def test_an_event_quiet_for_longer_than_the_window_is_not_joined() -> None:
    a = Item(vector(*BOARD), NOW)
    b = Item(vector(*HOTLINE), NOW + timedelta(days=45))
    assert cluster_all([a, b]) == [0, 1]


def test_merge_and_split_by_hand_survive_a_recluster(store: Store) -> None:
    ids = _store(store, [_post("board", *BOARD, 1), _post("hotline-12345", *HOTLINE, 2)])
    lamp, noise = _store(
        store, [_post("board", *STREETLIGHT, 3), _post("feed", *NOISE, 4)], NOW + timedelta(hours=1)
    )
    matter, lamp_event, noise_event = _events(store, [ids[0], lamp, noise])
    later = NOW + timedelta(hours=2)
    with store.session() as s:
        # staff: the street light post belongs with the noise (say, one street's night)
        assert linking.merge(s, lamp_event, noise_event, "ana", later) == noise_event
        # and the hotline record is a matter of its own
        split_off = linking.split(s, matter, [ids[1]], "ana", later)
    assert _events(store, [ids[0], ids[1], lamp, noise]) == [
        matter, split_off, noise_event, noise_event,
    ]  # fmt: skip
    with store.session() as s:
        counts = linking.recluster(s, NOW - timedelta(days=1), later)
        assert counts["posts"] == 4
        assert {a.action for a in s.scalars(select(AuditLog))} >= {"event.merge", "event.split"}
        assert s.scalar(select(EventPin.event_id).where(EventPin.post_id == ids[1])) == split_off
        assert s.get(Event, lamp_event).merged_into == noise_event  # type: ignore[union-attr]
        assert s.get(Event, noise_event).post_count == 2  # type: ignore[union-attr]
    # the machine would put the hotline record back with the board post: the pin wins
    assert _events(store, [ids[0], ids[1], lamp, noise]) == [
        matter, split_off, noise_event, noise_event,
    ]  # fmt: skip
    # a new post with the merged-away event's exact title goes where it was merged
    again = _store(store, [_post("feed", *STREETLIGHT, 9)], later + timedelta(hours=1))
    assert _events(store, again) == [noise_event]


def test_recluster_keeps_ids_and_is_idempotent(store: Store) -> None:
    ids = _store(store, [_post("board", *BOARD, 1), _post("hotline-12345", *HOTLINE, 2)])
    ids += _store(store, [_post("board", *SEWAGE, 3)], NOW + timedelta(hours=1))
    before = _events(store, ids)
    with store.session() as s:
        linking.recluster(s, NOW - timedelta(days=1), NOW + timedelta(hours=2))
    assert _events(store, ids) == before
    with store.session() as s:
        assert linking.recluster(s, NOW - timedelta(days=1), NOW + timedelta(hours=3))["moved"] == 0


def test_merge_and_split_refuse_nonsense(store: Store) -> None:
    ids = _store(store, [_post("board", *BOARD, 1)])
    (e,) = _events(store, ids)
    with store.session() as s, pytest.raises(linking.EventError):
        linking.merge(s, e, e, "ana", NOW)
    with store.session() as s, pytest.raises(linking.EventError):
        linking.split(s, e, ids, "ana", NOW)  # nothing would be left


def test_two_writers_joining_one_event_at_once(store: Store) -> None:
    """Two ingest processes' batches join one event together: both are stored (the
    event's row is locked first, its words then replaced), none is lost."""
    import threading

    (first,) = _store(store, [_post("board", *BOARD, 1)])
    (event,) = _events(store, [first])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    done: list[int] = []

    def write(source: str, n: int) -> None:
        try:
            barrier.wait(timeout=30)
            done.extend(_store(store, [_post(source, *HOTLINE, n)], NOW + timedelta(hours=1)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"hotline-{i}", 10 + i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert _events(store, done) == [event, event]
    with store.session() as s:
        assert s.get(Event, event).post_count == 3  # type: ignore[union-attr]


def test_two_matters_in_one_named_village_stay_apart() -> None:
    """The village's name is a gate, not evidence: short records that share it and one
    word more are two matters."""
    at = NOW
    items = [
        Item(vector("白塔村卫生院夜里没人值班", "白塔村卫生院夜里没有医生值班。"), at),
        Item(vector("白塔村路口广告牌挡住视线", "白塔村路口的广告牌挡住了司机视线。"), at),
        Item(vector("咨询白塔村高龄补贴怎么办理", "白塔村的高龄补贴怎么办理？"), at),
        Item(vector("白塔村培训补贴半年没到账", "白塔村职业技能培训补贴半年没到账。"), at),
    ]
    assert cluster_all(items) == [0, 1, 2, 3]


def test_a_backfill_links_by_the_posts_own_times(store: Store) -> None:
    """An import of last year's records in one go: the time gate reads each post's own
    time, not the moment it was stored, so the same matter a year apart is two events
    and days apart is one (as the clustering benchmark measures it), batch after batch."""
    year_ago = NOW - timedelta(days=365)

    def at(title_text: tuple[str, str], n: int, when: datetime) -> CrawledPost:
        return CrawledPost(source="import", title=title_text[0], text=title_text[1],
                           url=f"http://import.invalid/{n}", published_at=when)  # fmt: skip

    first = _store(store, [at(BOARD, 1, year_ago)])
    later = _store(
        store,
        [at(HOTLINE, 2, year_ago + timedelta(days=3)), at(HOTLINE, 3, NOW - timedelta(days=1))],
    )
    e = _events(store, first + later)
    assert e[0] == e[1]  # three days apart: one matter
    assert e[2] != e[0]  # a year later: a new one
    with store.session() as s:
        profile = s.get(Event, e[0]).profile  # type: ignore[union-attr]
        assert datetime.fromisoformat(profile["last_at"]) == year_ago + timedelta(days=3)
