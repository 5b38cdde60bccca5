"""Text, time and privacy normalisation shared by spiders and file imports.

Pure functions, no Scrapy: the same rules apply to a crawled board post, an RSS
entry and a row of a 12345 hotline export.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

# ------------------------------------------------------------------ text

_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "tr", "table", "section", "article", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dd", "dt", "dl", "header", "footer",
}  # fmt: skip
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# C0 controls other than tab, newline, CR, VT and FF (those are whitespace) and DEL
# say nothing to a reader, and lxml refuses strings holding them.
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F], None)
# A lone surrogate (JSON can carry "\ud800") cannot be stored as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# full-width ASCII letters, digits and a few symbols fold to half-width so that
# masking and search see "13812345678" however it was typed; Chinese punctuation
# (，。：) is kept as residents wrote it.
_FULLWIDTH = {
    **{cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)},  # ０-９
    **{cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)},  # Ａ-Ｚ
    **{cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)},  # ａ-ｚ
    0xFF20: ord("@"),
    0xFF0B: ord("+"),
    0xFF0D: ord("-"),
    0xFF0E: ord("."),
    0xFF3F: ord("_"),
    0x3000: ord(" "),  # ideographic space
    0x00A0: ord(" "),
    0x2002: ord(" "),
    0x2003: ord(" "),
    0x2009: ord(" "),
}
_SPACES = re.compile(r"[ \t\f\v\r]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def scrub(text: str) -> str:
    """Control characters out, lone surrogates to U+FFFD: what a database can store
    (PostgreSQL refuses NUL, UTF-8 has no surrogates). For ids, URLs and names that
    are kept as given otherwise."""
    return _SURROGATE.sub("\ufffd", text.translate(_CONTROLS))


def fold_text(text: str | None) -> str:
    """Fold full-width ASCII, drop zero-width characters, tidy whitespace.

    Runs of spaces become one, lines are stripped, and more than one blank line
    becomes one (paragraphs survive).
    """
    if not text:
        return ""
    text = _SURROGATE.sub("\ufffd", text.translate(_ZERO_WIDTH).translate(_CONTROLS))
    text = text.translate(_FULLWIDTH)
    text = text.replace("\r\n", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(fragment: str | None) -> str:
    """HTML (a whole page or the node a selector chose) to clean, folded text.

    Block elements and ``<br>`` become line breaks; scripts, styles and comments
    go. Plain text without markup passes through (entities unescaped).
    """
    if not fragment:
        return ""
    # lxml refuses control characters (even in text it parsed itself) and surrogates
    fragment = _SURROGATE.sub("\ufffd", fragment.translate(_CONTROLS))
    fragment = fragment.replace("\x0b", " ").replace("\x0c", " ")
    if "<" not in fragment:
        return fold_text(_html.unescape(fragment))
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fold_text(_html.unescape(re.sub(r"<[^>]*>", " ", fragment)))
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    for el in root.iter(etree.Comment, etree.ProcessingInstruction):
        parent = el.getparent()
        if parent is not None:
            tail = el.tail or ""
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
            parent.remove(el)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif tag in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
        elif tag in ("td", "th"):
            el.tail = " " + (el.tail or "")
    return fold_text(root.text_content())


# ------------------------------------------------------------------ numbers

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([万千kKwW]?)")
MAX_COUNT = 2**31 - 1  # the store's integer columns; a bigger "count" is garbage anyway


def parse_count(text: str | int | None) -> int:
    """'赞 12' -> 12, '1.2万' -> 12000, '' -> 0: counts as boards print them."""
    if text is None:
        return 0
    if isinstance(text, int):
        return min(max(int(text), 0), MAX_COUNT)
    m = _NUMBER.search(fold_text(str(text)).replace(",", ""))
    if not m:
        return 0
    scale = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1000, "k": 1000, "K": 1000}
    value = float(m.group(1)) * scale.get(m.group(2), 1)  # inf for 400 digits
    return int(value) if value < MAX_COUNT else MAX_COUNT


# ------------------------------------------------------------------ time

_CN_FULL = re.compile(
    r"(?P<y>\d{4})\s*[年\-/.]\s*(?P<mo>\d{1,2})\s*[月\-/.]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?:[T ]|\s)?\s*(?P<ampm>上午|下午|晚上|凌晨|中午)?\s*"
    r"(?P<h>\d{1,2})\s*[:：时点]\s*(?P<mi>\d{1,2})?\s*分?"
    r"(?:\s*[:：]\s*(?P<s>\d{1,2})(?:\.\d+)?\s*秒?)?)?"
    r"(?P<tz>\s*(?:Z|[+-]\d{2}:?\d{2}))?"
)
_CN_NO_YEAR = re.compile(
    r"(?<!\d)(?P<mo>\d{1,2})\s*[月\-/]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s+|\s*)(?:(?P<h>\d{1,2})\s*[:：]\s*(?P<mi>\d{2}))?(?!\d)"
)
_RELATIVE = re.compile(
    r"(?P<n>\d+|半|一|两|几|兩|幾)\s*(?:个|個)?\s*"
    r"(?P<unit>秒|分钟|分鐘|分|小时|小時|钟头|鐘頭|天|日|周|週|星期|月)\s*(?:以)?前"
)
# a day named relative to today, then perhaps a part of the day, then perhaps a clock
# time: 昨天下午, 今天上午10:30, 昨晚8点半, 上周五, 星期三 15:00, 下午3点
_DAY_WORD = re.compile(
    r"(?P<w>大前天|前天|昨天|昨日|今天|今日|昨晚|今晚|今早|昨早"
    # 下周二 is next week: not a date a post was published on
    r"|(?<!下)(?<!下个)(?<!下個)(?P<week>上|本|这|這)?(?:周|週|星期|礼拜|禮拜)(?P<wd>[一二三四五六日天1-7]))?"
    r"\s*(?P<part>凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|晚间|夜里|深夜|半夜)?"
    r"\s*(?:(?P<h>\d{1,2})\s*(?:[:：]\s*(?P<mi>\d{2})|[点时]\s*(?:(?P<half>半)|(?P<mi2>\d{1,2})\s*分?)?))?"
)
_DAY_BACK = {"今天": 0, "今日": 0, "今晚": 0, "今早": 0, "昨天": 1, "昨日": 1, "昨晚": 1, "昨早": 1,
             "前天": 2, "大前天": 3}  # fmt: skip
_IMPLIED_PART = {"昨晚": "晚上", "今晚": "晚上", "今早": "早上", "昨早": "早上"}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            **{str(i): i - 1 for i in range(1, 8)}}  # fmt: skip
# the hour a part of the day stands for when no clock time is given (marked approximate)
PART_HOURS = {"凌晨": 3, "清晨": 7, "早上": 8, "早晨": 8, "上午": 10, "中午": 12, "下午": 15,
              "傍晚": 18, "晚上": 20, "晚间": 20, "夜里": 23, "深夜": 23, "半夜": 23}  # fmt: skip
_PART_AFTER = re.compile(r"^\s*(?P<part>" + "|".join(PART_HOURS) + ")")
_EPOCH = re.compile(r"^\s*(\d{10}|\d{13})(?:\.\d+)?\s*$")
_UNIT_SECONDS = {"秒": 1, "分钟": 60, "分鐘": 60, "分": 60, "小时": 3600, "小時": 3600,
                 "钟头": 3600, "鐘頭": 3600, "天": 86400, "日": 86400, "周": 604800,
                 "週": 604800, "星期": 604800, "月": 2592000}  # fmt: skip


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _hour(h: int, ampm: str | None) -> int:
    if ampm in ("夜里", "深夜", "半夜"):
        return h + 12 if 6 <= h < 12 else h % 24  # 深夜1点 is 01:00, 夜里11点 23:00
    if ampm in ("下午", "晚上", "晚间", "傍晚") and h < 12:
        return h + 12
    if ampm == "中午" and h < 11:
        return h + 12
    if ampm == "凌晨" and h == 12:
        return 0
    return h


@dataclass(frozen=True, slots=True)
class ParsedTime:
    """A parsed time (aware UTC). ``approximate``: only the day, or the day and a
    part of it (昨天下午), was given; the hour is a representative guess."""

    value: datetime
    approximate: bool = False


def to_utc(value: datetime, tz: str | tzinfo) -> datetime:
    """Aware -> UTC; naive values are read as local time in ``tz``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(tz))
    return value.astimezone(UTC)


def parse_cn_datetime(
    text: str | datetime | date | None, now: datetime, tz: str | tzinfo = "Asia/Shanghai"
) -> datetime | None:
    """Parse the dates Chinese sites print; return aware UTC or None.

    Understands "2026年11月20日 10:05", "2026-11-20 10:05:00", ISO 8601 with an
    offset, RFC 822 ("Fri, 20 Nov 2026 02:05:00 GMT"), "11月20日 10:05" (this
    year, or last year when that would lie in the future), "3小时前", "半小时前",
    "刚刚", "昨天 10:05", "前天", "昨天下午", "今天上午", "昨晚8点半", "上周五",
    and Unix epoch seconds/milliseconds. Naive times are local time in ``tz``;
    ``now`` anchors relative expressions. :func:`parse_cn_time` also says whether
    the time is a guess.
    """
    parsed = parse_cn_time(text, now, tz)
    return parsed.value if parsed is not None else None


def parse_cn_time(
    text: str | datetime | date | None, now: datetime, tz: str | tzinfo = "Asia/Shanghai"
) -> ParsedTime | None:
    """:func:`parse_cn_datetime` with its precision: a day alone (昨天, 3天前,
    2026年11月20日) or a day and a part of it (昨天下午 -> 15:00) is approximate, and
    an approximate time never lies after ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        parsed = _parse_cn_time(text, now, _zone(tz))
    except OverflowError:  # 9999年12月31日 -14:00, 99999999999天前: past datetime's range
        return None
    if parsed is not None and parsed.approximate and parsed.value > now:
        # 今天下午 read at 14:00: the post cannot be from the future
        return ParsedTime(now.astimezone(UTC), approximate=True)
    return parsed


def _local(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    return to_utc(datetime(day.year, day.month, day.day, hour, minute), zone)


def _parse_cn_time(
    text: str | datetime | date | None, now: datetime, zone: tzinfo
) -> ParsedTime | None:
    if text is None:
        return None
    if isinstance(text, datetime):
        return ParsedTime(to_utc(text, zone))
    if isinstance(text, date):
        return ParsedTime(to_utc(datetime(text.year, text.month, text.day), zone), True)
    s = fold_text(str(text))
    if not s:
        return None
    local_now = now.astimezone(zone)

    if m := _EPOCH.match(s):
        stamp = int(m.group(1))
        value = datetime.fromtimestamp(stamp / 1000 if len(m.group(1)) == 13 else stamp, UTC)
        return ParsedTime(value)

    if m := _CN_FULL.search(s):
        approximate = not m["h"]
        h = _hour(int(m["h"]), m["ampm"]) if m["h"] else 0
        if not m["h"] and (part := _PART_AFTER.match(s[m.end() :])):
            h = PART_HOURS[part["part"]]  # 2026年11月20日下午
        try:
            value = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), h,
                             int(m["mi"] or 0), int(m["s"] or 0))  # fmt: skip
        except ValueError:
            return None  # 2026年13月40日: a date, but not a real one
        if m["tz"]:
            off = m["tz"].strip()
            if off == "Z":
                return ParsedTime(value.replace(tzinfo=UTC), approximate)
            sign = 1 if off[0] == "+" else -1
            digits = off[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return ParsedTime((value - sign * delta).replace(tzinfo=UTC), approximate)
        return ParsedTime(to_utc(value, zone), approximate)

    if s in ("刚刚", "刚才", "just now"):
        return ParsedTime(now.astimezone(UTC))
    if m := _RELATIVE.search(s):
        words = {"半": 0.5, "一": 1.0, "两": 2.0, "兩": 2.0, "几": 3.0, "幾": 3.0}
        n = words.get(m["n"]) or float(m["n"])
        value = (now - timedelta(seconds=n * _UNIT_SECONDS[m["unit"]])).astimezone(UTC)
        # 3小时前 is as exact as boards print it; 2天前 says only the day
        return ParsedTime(value, approximate=_UNIT_SECONDS[m["unit"]] >= 86400)
    if (rel := _relative_day(s, local_now)) is not None:
        day, part, clock = rel
        if clock is not None:
            h, mi = clock
            h = _hour(h, part)
            if h > 23 or mi > 59:
                return None
            return ParsedTime(_local(day, h, mi, zone))
        return ParsedTime(_local(day, PART_HOURS.get(part or "", 0), 0, zone), True)

    try:  # RFC 822 / 2822, as RSS writes pubDate
        return ParsedTime(to_utc(parsedate_to_datetime(s), zone))
    except (TypeError, ValueError, IndexError):
        pass

    if m := _CN_NO_YEAR.search(s):
        try:
            h, mi = (int(m["h"]), int(m["mi"])) if m["h"] else (0, 0)
            value = datetime(local_now.year, int(m["mo"]), int(m["d"]), h, mi)
        except ValueError:
            return None
        if value.replace(tzinfo=zone) > local_now + timedelta(days=1):
            value = value.replace(year=value.year - 1)
        return ParsedTime(to_utc(value, zone), approximate=not m["h"])
    return None


def _relative_day(
    s: str, local_now: datetime
) -> tuple[date, str | None, tuple[int, int] | None] | None:
    """(day, part of the day, clock time) of 昨天下午3点, 上周五, 下午3:05 ...; None
    when ``s`` names no day and no part of one."""
    for m in _DAY_WORD.finditer(s):
        word, part = m["w"], m["part"]
        if not word and not part:
            continue
        today = local_now.date()
        if m["wd"]:
            weekday = _WEEKDAY[m["wd"]]
            monday = today - timedelta(days=today.weekday())
            if m["week"] == "上":
                day = monday - timedelta(days=7) + timedelta(days=weekday)
            elif m["week"]:  # 本周, 这周
                day = monday + timedelta(days=weekday)
            else:  # 周五: the last Friday up to today
                day = today - timedelta(days=(today.weekday() - weekday) % 7)
        else:
            day = today - timedelta(days=_DAY_BACK.get(word or "今天", 0))
            part = part or _IMPLIED_PART.get(word or "")
        clock = None
        if m["h"]:
            minute = 30 if m["half"] else int(m["mi"] or m["mi2"] or 0)
            clock = (int(m["h"]), minute)
        return day, part, clock
    return None
