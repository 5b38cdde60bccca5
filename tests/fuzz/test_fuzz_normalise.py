"""Parsers and normalisers on hostile input: no crash, only documented errors, and
idempotence where it holds (normalise(normalise(x)) == normalise(x), canonical URLs
stable)."""

from __future__ import annotations

import codecs
import shutil
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from classifier.text import normalise
from crawler.encoding import (
    Mojibake,
    canonical_encoding,
    choose_encoding,
    decode_body,
    find_mojibake,
    repair_mojibake,
)
from crawler.items import RawPost, to_crawled_post
from crawler.normalise import MAX_COUNT, fold_text, html_to_text, parse_cn_datetime, parse_count
from crawler.spiders.base import page_url
from store.posts import content_hash, post_key, url_identity
from yuqing.contracts import CrawledPost, DeadLetter
from yuqing.settings import ConfigError, load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Text that looks like what boards carry: Chinese (simplified and traditional),
# full-width forms, odd spaces, control and zero-width characters, markup pieces.
_TRICKY = (
    "东湖街道居民反映污水直排處理環境噪音臺灣"
    "０１２３４５６７８９ＡＢＣａｂｃ＠．－＿　\u00a0\u2002\u2003\u2009"
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u2028\u2029\r\n\t\x0b\x0c\x00\x1b"
    "<>&;\"'/=!-?[]"
)
tricky_text = st.text(alphabet=st.sampled_from(_TRICKY), max_size=80) | st.text(max_size=80)

_TAGS = ["p", "div", "br", "span", "script", "style", "table", "td", "li", "a", "b", "iframe"]


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["text", "open", "close", "comment", "entity", "pi", "cdata"]))
        if kind == "text":
            parts.append(draw(tricky_text))
        elif kind == "open":
            attr = draw(st.sampled_from(["", ' class="x"', " onclick=alert(1)", ' a="<b>"']))
            parts.append(f"<{draw(st.sampled_from(_TAGS))}{attr}>")
        elif kind == "close":
            parts.append(f"</{draw(st.sampled_from(_TAGS))}>")
        elif kind == "comment":
            parts.append(f"<!--{draw(tricky_text)}-->")
        elif kind == "entity":
            parts.append(
                draw(
                    st.sampled_from(
                        ["&amp;", "&lt;", "&#x4e1c;", "&#0;", "&#99999999;", "&nbsp;", "&bogus;"]
                    )
                )
            )
        elif kind == "pi":
            parts.append("<?xml version='1.0'?>")
        else:
            parts.append(f"<![CDATA[{draw(tricky_text)}]]>")
    return "".join(parts)


# ------------------------------------------------------------------ text


@given(tricky_text)
def test_fold_text_is_idempotent_and_clean(text: str) -> None:
    once = fold_text(text)
    assert fold_text(once) == once
    assert once == once.strip()
    assert not any(ch in once for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\r\u3000")
    assert not any(0xFF10 <= ord(ch) <= 0xFF19 for ch in once)  # full-width digits folded
    assert "\n\n\n" not in once


@given(html_fragments() | tricky_text)
@example("<p>a</p><!-- c -->b<?pi x?>")
@example("<")
@example("\x00<p>\x00</p>")
def test_html_to_text_is_total(fragment: str) -> None:
    text = html_to_text(fragment)
    assert isinstance(text, str)
    assert fold_text(text) == text  # already folded
    assert "<script" not in text.lower() or "<script" in fragment.lower()


@given(st.text(max_size=60) | tricky_text)
@example("臺灣處理環境")
@example("ＡＢＣ　Ｔｅｓｔ")
def test_classifier_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(
    st.one_of(
        st.none(),
        st.integers(-(10**30), 10**30),
        tricky_text,
        st.text(alphabet="0123456789.,万千kKwW ", max_size=500),
    )
)
@example("9" * 400)
@example("1" + "0" * 400 + "万")
def test_parse_count_is_total_and_non_negative(value: str | int | None) -> None:
    n = parse_count(value)
    assert isinstance(n, int) and n >= 0


# ------------------------------------------------------------------ dates

_DATE_ALPHABET = "0123456789年月日时分秒:：-/.T Z+上午下午晚上凌晨中午前天昨今刚才小钟头周星期半一两几个以GMTFriNov,"


@given(
    st.text(alphabet=_DATE_ALPHABET, max_size=40)
    | tricky_text
    | st.from_regex(r"\d{10,13}(\.\d+)?", fullmatch=True)
)
@example("9999年12月31日 23:59 -14:00")
@example("0001-01-01 00:00 +14:00")
@example("99999999999天前")
@example("9" * 13)
@example("Fri, 31 Dec 9999 23:59:59 -1200")
@example("2026年1月1日 25:61")
def test_parse_cn_datetime_returns_aware_utc_or_none(text: str) -> None:
    value = parse_cn_datetime(text, NOW)
    assert value is None or (value.tzinfo is not None and value.utcoffset() == timedelta(0))


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from(
        [
            "%Y年%m月%d日 %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y/%m/%d %H:%M",
            "%Y.%m.%d %H:%M",
            "%Y年%m月%d日%H时%M分",
        ]
    ),
    st.booleans(),
)
def test_parse_cn_datetime_reads_what_sites_print(when: datetime, fmt: str, wide: bool) -> None:
    when = when.replace(second=when.second if "%S" in fmt else 0, microsecond=0)
    printed = when.strftime(fmt)
    if wide:  # full-width digits, as some IMEs type them
        printed = printed.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    assert parse_cn_datetime(printed, NOW) == when.replace(tzinfo=SHANGHAI).astimezone(UTC)


# ------------------------------------------------------------------ encodings

# Page text: mostly hanzi with some punctuation (a page of only “” is not a page).
_CHINESE = st.lists(
    st.text(alphabet="东湖街道居民反映污水直排噪音扰民河道发黑发臭", min_size=2, max_size=8)
    | st.sampled_from(["，", "。", "：", "“", "”", "！", " ", "abc", "123"]),
    min_size=3,
    max_size=40,
).map("".join)


@given(
    _CHINESE,
    st.sampled_from(["gb18030", "gbk", "utf-8"]),
    st.sampled_from([None, "utf-8", "gbk", "iso-8859-1", "x-bogus", "", '"utf-8"']),
    st.sampled_from(
        ["", '<meta charset="utf-8">', '<meta charset="gb2312">', "<meta charset=bogus>"]
    ),
)
def test_choose_encoding_recovers_chinese_pages_whatever_they_declare(
    text: str, real: str, header: str | None, meta: str
) -> None:
    body = f"<html><head>{meta}</head><body><p>{text}</p></body></html>".encode(real)
    chosen = choose_encoding(body, header)
    codecs.lookup(chosen)  # a real codec
    decoded = body.decode(chosen, errors="replace")
    if len(text.encode(real)) >= 12 and (header in (None, "", "x-bogus") or header == real):
        assert text in decoded


@given(
    st.binary(max_size=400),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.none(), st.text(max_size=20)),
)
@example(b"\xff\xfe\x00", "utf-16", None)
@example(b"abc", "\x00", "gbk")
def test_choose_encoding_is_total_on_bytes(
    body: bytes, header: str | None, forced: str | None
) -> None:
    chosen = choose_encoding(body, header, forced)
    assert isinstance(chosen, str) and chosen
    if not forced:
        codecs.lookup(chosen)
        body.decode(chosen, errors="replace")
    assert canonical_encoding(header) is None or codecs.lookup(canonical_encoding(header))


# ------------------------------------------------------------------ URLs and keys

_URL_CHARS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=% 东湖"


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "", "javascript"]))
    host = draw(
        st.sampled_from(
            ["example.com", "EXAMPLE.com", "127.0.0.1", "[::1]", "东湖.gov.cn", "", "[::1", "a..b"]
        )
    )
    port = draw(st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":abc", ":"]))
    path = draw(st.text(alphabet=_URL_CHARS, max_size=30))
    query = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["utm_source", "spm", "id", "page", "a", "B", "from", "ts", ""]),
                st.text(alphabet=_URL_CHARS, max_size=8),
            ),
            max_size=4,
        )
    )
    q = "&".join(f"{k}={v}" for k, v in query)
    frag = draw(st.sampled_from(["", "#top", "#"]))
    sep = "://" if scheme else "//"
    return f"{scheme}{sep}{host}{port}/{path}" + (f"?{q}" if q else "") + frag


@given(urls() | st.text(max_size=60))
@example("http://example.com:99999/a")
@example("http://[::1/a")
@example("http://example.com:abc/")
def test_url_identities_and_page_urls_are_total_and_stable(url: str) -> None:
    once = url_identity(url)  # the store's: total, a post always gets a key
    assert url_identity(once) == once
    try:  # the crawler's: a ValueError (documented) for what it cannot request
        crawled = page_url(url)
    except ValueError:
        return
    assert page_url(crawled) == crawled


@st.composite
def readable_urls(draw: st.DrawFn) -> str:
    """URLs urllib can read (good scheme, host and port), so the property is about
    tracking parameters and not about which URLs are kept whole."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    host = draw(st.sampled_from(["example.com", "EXAMPLE.com", "127.0.0.1", "东湖.gov.cn"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = draw(st.text(alphabet=_URL_CHARS.replace("#", "").replace("?", ""), max_size=30))
    query = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["id", "page", "a", "B"]),
                st.text(alphabet=string.ascii_letters + string.digits, max_size=8),
            ),
            max_size=3,
        )
    )
    q = "&".join(f"{k}={v}" for k, v in query)
    return f"{scheme}://{host}{port}/{path}" + (f"?{q}" if q else "")


@given(readable_urls(), st.sampled_from(["utm_source=x", "spm=a.b", "from=timeline", "ts=1"]))
def test_tracking_parameters_do_not_change_the_key(url: str, tracking: str) -> None:
    joined = url + ("&" if "?" in url else "?") + tracking
    assert url_identity(joined) == url_identity(url)


@given(
    st.one_of(st.none(), urls()),
    st.one_of(st.none(), st.text(max_size=20)),
    tricky_text,
    tricky_text,
)
def test_post_key_is_total_and_stable(
    url: str | None, external_id: str | None, title: str, text: str
) -> None:
    post = CrawledPost(
        source="fuzz", title=title, text=text or "x", url=url, external_id=external_id
    )
    key = post_key(post)
    assert key == post_key(post)
    assert key.split(":", 1)[0] in ("url", "id", "hash")
    # the key survives a round trip through its canonical URL
    if url:
        assert (
            post_key(CrawledPost(source="fuzz", title="", text="x", url=key.removeprefix("url:")))
            == key
        )
    assert len(content_hash(title, text)) == 64


# ------------------------------------------------------------------ whole items


@given(
    html_fragments() | tricky_text,
    html_fragments() | tricky_text,
    st.one_of(st.none(), tricky_text, st.text(alphabet=_DATE_ALPHABET, max_size=30)),
    st.one_of(st.none(), st.integers(), tricky_text),
    st.booleans(),
)
def test_to_crawled_post_yields_a_post_or_a_dead_letter(
    title: str, body: str, when: str | None, likes: str | int | None, strict: bool
) -> None:
    raw = RawPost(
        source="fuzz",
        url="http://example.com/t/1",
        title=title,
        body=body,
        time=when,
        likes=likes,
        author=title or None,
    )
    result = to_crawled_post(raw, NOW, "Asia/Shanghai", strict_dates=strict)
    assert isinstance(result, CrawledPost | DeadLetter)
    if isinstance(result, CrawledPost):
        assert result.text and "\n\n\n" not in result.text
        assert result.likes >= 0
        assert result.published_at is None or result.published_at.utcoffset() == timedelta(0)


# ------------------------------------------------------------------ regressions
# Each of these raised (or, for the encoding, read Chinese as Korean) before.


def test_regressions_found_by_fuzzing(tmp_path: Path) -> None:
    assert html_to_text("<p>a\x00b</p><!--c-->\x1bd") == "ab\nd"  # lxml refused controls
    assert fold_text("a\ud800b") == "a\ufffdb"  # a lone surrogate cannot be stored
    assert parse_count("9" * 400) == MAX_COUNT  # float overflow
    assert parse_count(10**30) == MAX_COUNT  # the store's int column
    assert parse_cn_datetime("0001-01-01 00:00 +14:00", NOW) is None  # OverflowError
    assert parse_cn_datetime("99999999999天前", NOW) is None
    assert parse_cn_datetime("Fri, 31 Dec 9999 23:59:59 -1200", NOW) is None
    assert canonical_encoding("utf\x008") is None  # ValueError: embedded null character
    assert url_identity("http://example.com:99999/a") == "http://example.com:99999/a"
    assert url_identity("http://[::1/a") == "http://[::1/a"
    assert url_identity("http://example.com/ #top") == "http://example.com/"
    gbk = "<p>东湖街道居民反映小区路灯坏了一个月</p>".encode("gbk")
    for lie in ("utf-16", "euc-kr", "shift_jis", "iso-8859-1"):  # declared or in the header
        assert decode_body(f'<meta charset="{lie}">'.encode() + gbk).encoding == "gb18030"
        assert decode_body(gbk, lie).encoding == "gb18030"
    assert decode_body("한국어 페이지".encode("euc-kr"), "euc-kr").encoding == "euc_kr"
    page = "<html><body><p>东湖街道居民反映</p></body></html>".encode("gb18030")
    assert choose_encoding(page) == "gb18030"
    assert "东湖街道居民反映" in page.decode(choose_encoding(page))
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    sources = yaml.safe_load((cfg / "sources.yaml").read_text(encoding="utf-8"))
    sources["sources"][0]["encoding"] = "gbk-typo"
    (cfg / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "sources.yaml: sources.0.encoding: unknown encoding 'gbk-typo'" in str(err.value)


# ------------------------------------------------------------------ decoding and mojibake

_TRADITIONAL = st.lists(
    st.text(alphabet="東湖街道居民反映汙水直排噪音擾民河道發黑發臭", min_size=2, max_size=8)
    | st.sampled_from(["，", "。", "：", "「", "」", "！", " ", "abc", "123"]),
    min_size=3,
    max_size=40,
).map("".join)
# Text made of words, as posts are (random hanzi in random order is not Chinese to
# a reader either: a declaration naming the other family decides such a tie).
_SIMPLIFIED_WORDS = ["东湖街道", "居民", "反映", "污水", "直排", "噪音扰民", "河道", "发黑发臭",
                     "路灯", "不亮", "小区", "物业", "，", "。", "：", " ", "123"]  # fmt: skip
_TRADITIONAL_WORDS = ["東湖街道", "居民", "反映", "汙水", "直排", "噪音擾民", "河道", "發黑發臭",
                      "路燈", "不亮", "社區", "物業", "，", "。", "：", " ", "123"]  # fmt: skip
_SIMPLIFIED_TEXT = st.lists(st.sampled_from(_SIMPLIFIED_WORDS), min_size=3, max_size=16).map(
    "".join
)
_TRADITIONAL_TEXT = st.lists(st.sampled_from(_TRADITIONAL_WORDS), min_size=3, max_size=16).map(
    "".join
)
_LABELS = st.sampled_from(
    [None, "", "utf-8", "gbk", "gb2312", "gb18030", "big5", "iso-8859-1", "windows-1252",
     "ascii", "shift_jis", "x-bogus", "utf-16"]
)  # fmt: skip


@given(st.binary(max_size=400), _LABELS, st.one_of(st.none(), st.text(max_size=12)))
@example(b"\xcf\xeb\xd2\xaa\xb7\xc9", "iso-8859-1", None)
@example(b"\xef\xbb\xbf\xe4\xb8\x9c", None, None)
@example(b"<?xml version='1.0' encoding='big5'?>\xb6\xab", "utf-8", None)
def test_decode_body_never_raises_and_never_calls_mojibake_fine(
    body: bytes, header: str | None, forced: str | None
) -> None:
    decoded = decode_body(body, header, forced)
    assert isinstance(decoded.text, str) and codecs.lookup(decoded.encoding)
    # the decoder's verdict is the guard's: text the guard flags is never returned as fine
    assert decoded.mojibake == find_mojibake(decoded.text)


@given(
    st.one_of(
        st.tuples(_SIMPLIFIED_TEXT, st.sampled_from(["gb18030", "gbk", "utf-8"])),
        st.tuples(_TRADITIONAL_TEXT, st.sampled_from(["big5", "utf-8"])),
    ),
    st.sampled_from([None, "utf-8", "iso-8859-1", "gbk", "big5"]),
    st.sampled_from(["", "utf-8", "iso-8859-1", "gb2312", "big5", "gbk"]),
)
def test_decode_body_reads_chinese_through_lying_headers_and_declarations(
    case: tuple[str, str], header: str | None, declared: str
) -> None:
    text, real = case
    decl = f"<?xml version='1.0' encoding='{declared}'?>" if declared else "<?xml version='1.0'?>"
    body = f"{decl}<rss><channel><item><title>{text}</title></item></channel></rss>".encode(real)
    decoded = decode_body(body, header)
    assert decoded.mojibake is None
    if sum(ord(ch) > 0x7F for ch in text) >= 8:  # a handful of hanzi at least
        assert text in decoded.text, (decoded.encoding, decoded.how)


@given(
    st.one_of(
        st.tuples(_CHINESE, st.sampled_from(["gb18030", "gbk", "utf-8"])),
        st.tuples(_TRADITIONAL, st.sampled_from(["big5", "utf-8"])),
    ),
    st.sampled_from(["latin-1", "cp1252"]),
)
def test_mojibake_is_undone_exactly_or_refused_never_guessed(
    case: tuple[str, str], wrong: str
) -> None:
    text, real = case
    garbled = text.encode(real).decode(wrong, errors="replace")
    try:
        repaired, how = repair_mojibake(garbled)
    except Mojibake:
        return  # kept as a dead letter by the caller
    if how is not None:
        assert repaired == text, (garbled, repaired, how)
    else:  # nothing looked mis-decoded: only possible with (almost) no hanzi in it
        assert find_mojibake(garbled) is None
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in text) <= 1 or garbled == text


@given(st.text(max_size=60) | tricky_text)
@example("café °C ± 5 张·三")
@example("ÏëÒª·É")
def test_repair_mojibake_is_total(text: str) -> None:
    try:
        repaired, _ = repair_mojibake(text)
    except Mojibake as exc:
        assert "latin-1" in str(exc)
        return
    assert find_mojibake(repaired) is None


@given(_CHINESE)
def test_a_mojibake_post_is_repaired_or_dead_lettered(text: str) -> None:
    garbled = text.encode("gbk").decode("latin-1")
    post = to_crawled_post(RawPost(source="s", url=None, title=garbled, body=garbled), NOW, "UTC")
    if isinstance(post, DeadLetter):
        assert post.reason.startswith(("mojibake", "empty post")), post.reason
    else:
        assert find_mojibake(post.title) is None and find_mojibake(post.text) is None
