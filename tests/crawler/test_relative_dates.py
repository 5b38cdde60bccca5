"""Golden tests: relative and partial dates as boards and 12345 exports print them,
read against an injected clock in Asia/Shanghai. A day part alone (昨天下午) gives a
representative hour marked approximate; a clock time makes it exact."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.items import APPROX_KEY, RawPost, to_crawled_post
from crawler.normalise import PART_HOURS, parse_cn_time
from yuqing.contracts import CrawledPost

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_2PM = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # Fri 20 Nov 2026, 14:00 in Shanghai
# 00:30 on Saturday in Shanghai while it is still Friday in UTC: "yesterday" is Friday
SATURDAY_0030 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
MONDAY_9AM = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Mon 23 Nov, 09:00 in Shanghai


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


GOLDEN = [
    # (now, text, expected, approximate)
    (FRIDAY_2PM, "刚刚", FRIDAY_2PM, False),
    (FRIDAY_2PM, "3小时前", local(11, 20, 11), False),
    (FRIDAY_2PM, "3小時前", local(11, 20, 11), False),
    (FRIDAY_2PM, "半小时前", local(11, 20, 13, 30), False),
    (FRIDAY_2PM, "2天前", local(11, 18, 14), True),
    (FRIDAY_2PM, "今天上午", local(11, 20, 10), True),
    (FRIDAY_2PM, "今天上午10:30", local(11, 20, 10, 30), False),
    (FRIDAY_2PM, "今天下午", FRIDAY_2PM, True),  # 15:00 has not come yet: now, not later
    (FRIDAY_2PM, "昨天下午", local(11, 19, 15), True),
    (FRIDAY_2PM, "昨天下午3点", local(11, 19, 15), False),
    (FRIDAY_2PM, "昨天下午3点半", local(11, 19, 15, 30), False),
    (FRIDAY_2PM, "昨天 下午 3:05", local(11, 19, 15, 5), False),
    (FRIDAY_2PM, "昨晚", local(11, 19, 20), True),
    (FRIDAY_2PM, "昨晚8点", local(11, 19, 20), False),
    (FRIDAY_2PM, "前天晚上", local(11, 18, 20), True),
    (FRIDAY_2PM, "前天凌晨", local(11, 18, 3), True),
    (FRIDAY_2PM, "昨天", local(11, 19, 0), True),
    (FRIDAY_2PM, "上周五", local(11, 13, 0), True),
    (FRIDAY_2PM, "上星期三下午", local(11, 11, 15), True),
    (FRIDAY_2PM, "周三", local(11, 18, 0), True),
    (FRIDAY_2PM, "本周一 09:00", local(11, 16, 9), False),
    (FRIDAY_2PM, "2026年11月18日下午", local(11, 18, 15), True),
    (FRIDAY_2PM, "2026年11月18日", local(11, 18, 0), True),
    (FRIDAY_2PM, "2026年11月18日 下午4:20", local(11, 18, 16, 20), False),
    (SATURDAY_0030, "昨天下午", local(11, 20, 15), True),
    (SATURDAY_0030, "今天凌晨", SATURDAY_0030, True),  # 03:00 is still ahead
    (SATURDAY_0030, "深夜1点", local(11, 21, 1), False),
    (MONDAY_9AM, "上周五", local(11, 20, 0), True),
    (MONDAY_9AM, "上周五下午", local(11, 20, 15), True),
    (MONDAY_9AM, "周日", local(11, 22, 0), True),
    (MONDAY_9AM, "星期一 08:15", local(11, 23, 8, 15), False),
]


@pytest.mark.parametrize(("now", "text", "expected", "approximate"), GOLDEN)
def test_relative_dates_resolve_in_shanghai(
    now: datetime, text: str, expected: datetime, approximate: bool
) -> None:
    parsed = parse_cn_time(text, now, "Asia/Shanghai")
    assert parsed is not None, text
    assert (parsed.value, parsed.approximate) == (expected, approximate), text
    assert parsed.value <= now or not approximate  # a guess never lies in the future


def test_day_parts_are_in_order_through_the_day() -> None:
    hours = [
        PART_HOURS[p] for p in ("凌晨", "早上", "上午", "中午", "下午", "傍晚", "晚上", "深夜")
    ]
    assert hours == sorted(hours)


@pytest.mark.parametrize(
    "text", ["上午好", "周", "下周", "下周二左右", "下个星期三", "今天25点", "昨天 99:99"]
)
def test_what_is_not_a_time_is_none_or_not_exact(text: str) -> None:
    parsed = parse_cn_time(text, FRIDAY_2PM, "Asia/Shanghai")
    # "上午好" still names a part of today; anything else read must be a marked guess
    assert parsed is None or parsed.approximate, (text, parsed)


def test_a_12345_record_dated_yesterday_afternoon_is_stored_as_approximate() -> None:
    raw = RawPost(
        source="hotline", url=None, title="路灯不亮", body="东湖新村路灯坏了", time="昨天下午"
    )
    post = to_crawled_post(raw, FRIDAY_2PM, "Asia/Shanghai")
    assert isinstance(post, CrawledPost)
    assert post.published_at == local(11, 19, 15)  # the afternoon, not 00:00
    assert post.extra[APPROX_KEY] is True
    exact = to_crawled_post(
        RawPost(source="hotline", url=None, title="t", body="b", time="昨天下午3点10分"),
        FRIDAY_2PM,
        "Asia/Shanghai",
    )
    assert isinstance(exact, CrawledPost) and APPROX_KEY not in exact.extra
    assert exact.published_at == local(11, 19, 15, 10)
