"""Placing posts (属地) on a small county built here, with the collisions a real one has."""

from __future__ import annotations

import pytest

from alerts.routing import Router
from yuqing.gazetteer import Gazetteer, common_word
from yuqing.settings import AreasFile, load_config

from .conftest import CONFIG_DIR


def _v(name: str, *aliases: str, level: str = "village") -> dict[str, object]:
    return {"name": name, "level": level, "aliases": list(aliases)}


# 刘庄村 in two places, 刘楼 both a township and its seat village, 大屯村 in 城关街道
# beside the township 大屯乡, 东街/果园 that are everyday words, no aliases but two.
AREAS = AreasFile.model_validate(
    {
        "areas": [
            {
                "name": "清河县",
                "level": "county",
                "children": [
                    {
                        "name": "城关街道",
                        "level": "street",
                        "children": [
                            _v("北关社区", level="community"),
                            _v("南门社区", "南门街", level="community"),
                            _v("城关街道刘庄村", "刘庄村"),
                            _v("大屯村"),
                        ],
                    },
                    {
                        "name": "刘楼镇",
                        "level": "township",
                        "children": [
                            _v("刘楼村"),
                            _v("刘楼镇刘庄村", "刘庄村"),
                            _v("孟庄村"),
                            _v("东街村"),
                        ],
                    },
                    {
                        "name": "大屯乡",
                        "level": "township",
                        "children": [_v("薛庄村"), _v("果园村"), _v("王屯村")],
                    },
                ],
            }
        ]
    }
)


@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return Gazetteer(AREAS)


def area(
    g: Gazetteer, text: str, title: str | None = None, default: str | None = None
) -> str | None:
    return g.place(text, default, title=title).area


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刘楼镇人民政府门口天天堵车", "刘楼镇"),
        ("北关社区居委会没人值班", "北关社区"),
        ("城关街办的窗口排长队", "城关街道"),
        ("孟庄村委会的喇叭天天响", "孟庄村"),
        ("薛庄那边的路没修好", "薛庄村"),  # the bare name of a village
        ("大屯乡薛庄的路没修好", "薛庄村"),
        ("清河县大屯乡王屯村停电", "王屯村"),  # the most specific place wins
    ],
)
def test_the_ways_residents_write_a_place(g: Gazetteer, text: str, expected: str) -> None:
    assert area(g, text) == expected


def test_a_shared_village_name_is_settled_by_the_hierarchy(g: Gazetteer) -> None:
    assert area(g, "刘楼镇刘庄村停水三天") == "刘楼镇刘庄村"
    assert area(g, "刘庄村停水三天了，我们城关街道别的地方都有水") == "城关街道刘庄村"
    # a neighbouring village of the same township settles it too
    assert area(g, "刘庄村停水三天", title=None) == "清河县"
    assert area(g, "刘庄村到孟庄村这段路停水三天", title="刘庄村停水") == "刘楼镇刘庄村"
    # unsettled it stays at the level that is certain: here the county
    p = g.place("刘庄村的路灯坏了")
    assert (p.area, p.reason) == ("清河县", "named")
    # the source's area is evidence as well
    assert area(g, "刘庄村的路灯坏了", default="刘楼镇") == "刘楼镇刘庄村"


def test_a_village_named_like_a_township(g: Gazetteer) -> None:
    assert area(g, "刘楼那边停电了") == "刘楼镇"  # 刘楼镇 or 刘楼村: the township is certain
    assert area(g, "刘楼村停电了") == "刘楼村"
    assert area(g, "刘楼镇刘楼村停电了") == "刘楼村"
    assert area(g, "刘楼乡停电了") == "刘楼镇"  # the old name, a level word after the stem
    assert area(g, "大屯村的路") == "大屯村"  # in 城关街道, not in 大屯乡
    assert area(g, "大屯乡的路") == "大屯乡"
    assert area(g, "大屯那边的路") == "清河县"  # 大屯村 or 大屯乡: only the county is certain


def test_common_words_need_a_place_beside_them(g: Gazetteer) -> None:
    assert area(g, "东街的早点摊占道经营") is None
    assert area(g, "刘楼镇东街的早点摊占道经营") == "东街村"
    assert area(g, "果园里的苹果卖不出去") is None
    assert area(g, "大屯乡果园的苹果卖不出去") == "果园村"
    assert area(g, "东街村的早点摊") == "东街村"  # the full name is no common word
    assert common_word("东街") and common_word("团结") and common_word("中心")
    assert not common_word("薛庄") and not common_word("孟庄")


def test_roads_named_after_a_place_are_roads(g: Gazetteer) -> None:
    assert area(g, "刘楼路上大货车超速") is None
    assert area(g, "刘楼路上的北关社区门口大货车超速") == "北关社区"
    assert area(g, "刘楼路口发生车祸") == "刘楼镇"  # 路口: the crossroads at 刘楼


def test_two_grids_go_to_their_common_parent_or_the_title(g: Gazetteer) -> None:
    p = g.place("北关社区和南门社区同时停水")
    assert (p.area, p.reason) == ("城关街道", "common parent")
    assert set((p.matched or "").split("、")) == {"北关社区", "南门社区"}
    assert area(g, "北关社区和孟庄村都停水") == "清河县"
    p = g.place("隔壁南门社区早就来水了，我们这里还没有", title="北关社区停水三天")
    assert (p.area, p.reason) == ("北关社区", "title")
    # the title naming both decides nothing
    assert area(g, "两个社区都停水", title="北关社区南门社区停水") == "城关街道"


def test_misspelt_by_a_homophone(g: Gazetteer) -> None:
    assert area(g, "留楼镇的路灯坏了") == "刘楼镇"
    assert area(g, "薛装村的路灯坏了") == "薛庄村"
    assert area(g, "孟装村委会不管事") == "孟庄村"
    # one character off but not the same sound: another place, not ours
    assert area(g, "高楼镇的路灯坏了") is None
    assert area(g, "张集镇的路灯坏了") is None


def test_no_place_keeps_the_source_area(g: Gazetteer) -> None:
    p = g.place("请问社保卡丢了怎么补办", default="大屯乡")
    assert (p.area, p.matched, p.reason) == ("大屯乡", None, "source")
    assert area(g, "请问社保卡丢了怎么补办") is None
    # naming only an area that contains the source's keeps the source's
    assert area(g, "清河县的社保卡怎么补办", default="薛庄村") == "薛庄村"
    assert area(g, "孟庄村的社保卡怎么补办", default="大屯乡") == "孟庄村"


def test_an_injected_common_word_test(g: Gazetteer) -> None:
    strict = Gazetteer(AREAS, common=lambda stem: True)
    assert area(strict, "薛庄那边的路没修好") is None
    assert area(strict, "大屯乡薛庄那边的路没修好") == "薛庄村"
    assert area(g, "薛庄那边的路没修好") == "薛庄村"


def test_the_demo_nanmen_street_case_routes_to_the_title_grid() -> None:
    config = load_config(CONFIG_DIR)
    g = Gazetteer(config.areas)
    p = g.place(
        "南门街靠近东湖新村的一栋居民楼发生燃气爆炸，整面墙倒塌，多人受伤。",
        title="南门街一居民楼燃气爆炸",
    )
    assert (p.area, p.reason) == ("南门社区", "title")
    assert Router(config.teams, g).route(p.area, "城乡建设") == "chengguan-nanmen"
    # without a title to decide, two grids in two streets go to the county
    assert g.place("南门街靠近东湖新村的一栋居民楼发生燃气爆炸").area == "云溪县"
