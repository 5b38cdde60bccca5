from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.encoding import choose_encoding
from crawler.normalise import (
    fold_text,
    html_to_text,
    parse_cn_datetime,
    parse_count,
)
from yuqing.privacy import mask_personal_data

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
TZ = "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月20日 10:05", utc(2026, 11, 20, 2, 5)),
        ("发表于 2026年11月20日 10:05:30", utc(2026, 11, 20, 2, 5, 30)),
        ("2026年11月20日 下午3:05", utc(2026, 11, 20, 7, 5)),
        ("2026年11月20日", utc(2026, 11, 19, 16, 0)),
        ("2026-11-20 10:05:00", utc(2026, 11, 20, 2, 5)),
        ("2026/11/20 10:05", utc(2026, 11, 20, 2, 5)),
        ("2026-11-20T10:05:00+08:00", utc(2026, 11, 20, 2, 5)),
        ("2026-11-20T02:05:00Z", utc(2026, 11, 20, 2, 5)),
        ("Fri, 20 Nov 2026 02:05:00 GMT", utc(2026, 11, 20, 2, 5)),
        ("Fri, 20 Nov 2026 10:05:00 +0800", utc(2026, 11, 20, 2, 5)),
        ("11月20日 10:05", utc(2026, 11, 20, 2, 5)),
        ("12月25日 08:00", utc(2025, 12, 25, 0, 0)),  # not in the future: last year
        ("3小时前", NOW - timedelta(hours=3)),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("2天前", NOW - timedelta(days=2)),
        ("刚刚", NOW),
        ("今天 09:30", utc(2026, 11, 20, 1, 30)),
        ("昨天 10:05", utc(2026, 11, 19, 2, 5)),
        ("前天 23:10", utc(2026, 11, 18, 15, 10)),
        ("１１月２０日　１０：０５", utc(2026, 11, 20, 2, 5)),  # full-width
        ("1763625600", utc(2025, 11, 20, 8, 0)),
        ("1763625600000", utc(2025, 11, 20, 8, 0)),
    ],
)
def test_parse_cn_datetime(text: str, expected: datetime) -> None:
    got = parse_cn_datetime(text, NOW, TZ)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", None, "垃圾", "2026年13月40日", "不详"])
def test_parse_cn_datetime_gives_none_for_nonsense(text: str | None) -> None:
    assert parse_cn_datetime(text, NOW, TZ) is None


def test_parse_cn_datetime_takes_datetimes_and_other_zones() -> None:
    naive = datetime(2026, 11, 20, 10, 5)
    assert parse_cn_datetime(naive, NOW, TZ) == utc(2026, 11, 20, 2, 5)
    assert parse_cn_datetime("2026-11-20 10:05", NOW, "UTC") == utc(2026, 11, 20, 10, 5)
    aware = datetime(2026, 11, 20, 10, 5, tzinfo=timezone(timedelta(hours=8)))
    assert parse_cn_datetime(aware, NOW, "UTC") == utc(2026, 11, 20, 2, 5)
    with pytest.raises(ValueError):
        parse_cn_datetime("3小时前", datetime(2026, 11, 20), TZ)


def test_fold_text() -> None:
    assert fold_text(
        "  电话：１３８　１２３４\u200b５６７８  \r\n\n\n\n第二段 "
    ) == "电话:138 12345678\n\n第二段".replace(":", "：")
    assert fold_text("ＡＢＣ＠ｅｘａｍｐｌｅ．ｃｏｍ，好。") == "ABC@example.com，好。"
    assert fold_text(None) == ""


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = (
        "<div class='message'><p>第一段&nbsp;内容</p><script>alert(1)</script>"
        "<style>p{}</style><p>第二段<br>换行</p><!-- 注释 -->尾巴 &lt;5000元</div>"
    )
    assert html_to_text(html) == "第一段 内容\n\n第二段\n换行\n尾巴 <5000元"
    assert html_to_text("纯文本 &amp; 实体") == "纯文本 & 实体"
    assert html_to_text("") == ""
    assert html_to_text("<table><tr><td>甲</td><td>乙</td></tr></table>") == "甲 乙"


@pytest.mark.parametrize(
    ("text", "masked", "gone"),
    [
        ("电话13812345678谢谢", "电话138****5678谢谢", "13812345678"),
        ("手机 139 1234 5678。", "手机 139****5678。", "1234 5678"),
        ("+86-13712345678", "137****5678", "13712345678"),
        ("手机１３８１２３４５６７８", "手机138****5678", "12345678"),
        ("身份证110101199003071234", "身份证110***********1234", "110101199003071234"),
        ("身份证号11010119900307123x", "身份证号110***********123X", "19900307"),
        ("卡号6222 0212 3456 7890 123", "卡号****0123", "6222 0212"),
        ("卡号6222021234567890", "卡号****7890", "6222021234567890"),
        ("座机0571-88123456", "座机0571-****3456", "88123456"),
        ("邮箱zhang.san@example.com联系", "邮箱z***@example.com联系", "zhang.san"),
    ],
)
def test_mask_personal_data(text: str, masked: str, gone: str) -> None:
    out = mask_personal_data(fold_text(text))
    assert out == masked
    assert gone not in out


@pytest.mark.parametrize(
    "text",
    [
        "工单编号20261120000123",  # 14 digits: a ticket, not a person
        "2026年11月20日 10:05",
        "共有120户，损失3000元",
        "编号 12345",
    ],
)
def test_mask_leaves_ordinary_numbers(text: str) -> None:
    assert mask_personal_data(text) == text


def test_parse_count() -> None:
    assert parse_count("赞 12") == 12
    assert parse_count("1.2万") == 12000
    assert parse_count("1,024") == 1024
    assert parse_count(None) == 0
    assert parse_count("") == 0
    assert parse_count(7) == 7


def test_choose_encoding_sees_through_lying_declarations() -> None:
    text = "<html><head><meta charset='{}'></head><body><p>东湖新村物业不作为，电梯坏了两个星期，老人上下楼很困难。</p></body></html>"
    gbk_lying = text.format("utf-8").encode("gbk")
    utf8_lying = text.format("gbk").encode("utf-8")
    assert choose_encoding(gbk_lying) == "gb18030"
    assert choose_encoding(utf8_lying) == "utf-8"
    assert choose_encoding(text.format("gbk").encode("gbk")) == "gb18030"
    assert choose_encoding(gbk_lying, header_charset="GBK") == "gb18030"
    # a header that cannot be right gives way to the body
    assert choose_encoding(utf8_lying, header_charset="ascii") == "utf-8"
    assert choose_encoding(utf8_lying, forced="gb2312") == "gb18030"
