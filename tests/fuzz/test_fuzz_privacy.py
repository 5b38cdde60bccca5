"""mask_personal_data on generated Chinese text with embedded personal data.

Phone numbers (mobiles 1[3-9]x with +86 prefixes, landlines with area codes), 18-digit
身份证号 (with X), bank cards and e-mail addresses are written the ways residents type
them: separators, full-width digits, ideographic spaces. After masking, none of them
may appear in the output in any normalised form, and masking is idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.items import RawPost, to_crawled_post
from crawler.normalise import fold_text
from yuqing.contracts import CrawledPost
from yuqing.privacy import mask_personal_data

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

# Text around the numbers: Chinese, Chinese punctuation, a little ASCII, no digits
# (so every digit in the output comes from the personal data under test).
_HANZI = "东湖街道社区居民反映楼上漏水联系我电话是请回复身份证号银行卡邮箱张三李四王五的了在和"
_PUNCT = "，。：；！？、（）【】《》“”：:,;!? \u3000\n"
filler = st.text(alphabet=_HANZI + _PUNCT + "abcXYZ", max_size=12)
separator_free = st.text(alphabet=_HANZI + "，。：；！？、", min_size=1, max_size=6)

SEPARATORS = ["", " ", "-", "\u3000", "－", "\u00a0", "\u2002", " - "]
FULLWIDTH_DIGITS = {str(d): chr(0xFF10 + d) for d in range(10)}


@dataclass(frozen=True)
class Secret:
    kind: str
    rendered: str  # as it appears in the text
    digits: str  # the canonical form that must never survive (digits, or the address)
    local: str = ""  # landlines: the number without its area code


@st.composite
def _widen(draw: st.DrawFn, text: str) -> str:
    """Some or all digits written full-width, as Chinese IMEs produce them."""
    mode = draw(st.sampled_from(["none", "all", "some"]))
    if mode == "none":
        return text
    if mode == "all":
        return "".join(FULLWIDTH_DIGITS.get(c, c) for c in text)
    flags = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(FULLWIDTH_DIGITS.get(c, c) if f else c for c, f in zip(text, flags, strict=True))


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def mobiles(draw: st.DrawFn) -> Secret:
    number = "1" + draw(st.sampled_from("3456789")) + draw(_digits(9))
    sep = draw(st.sampled_from(SEPARATORS))
    grouping = draw(st.sampled_from([(3, 4, 4), (3, 8), (11,), (4, 3, 4), (3, 3, 5)]))
    parts, i = [], 0
    for g in grouping:
        parts.append(number[i : i + g])
        i += g
    body = sep.join(parts)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86-", "(+86)", "+86-", "＋86 "]))
    return Secret("mobile", draw(_widen(prefix + body)), number)


@st.composite
def landlines(draw: st.DrawFn) -> Secret:
    area = "0" + draw(st.sampled_from("123456789")) + draw(_digits(draw(st.sampled_from([1, 2]))))
    local = draw(st.sampled_from("2345678")) + draw(_digits(draw(st.sampled_from([6, 7]))))
    style = draw(
        st.sampled_from(["{a}-{l}", "{a}{l}", "({a}){l}", "({a}) {l}", "{a} {l}", "{a}－{l}"])
    )
    if len(local) == 8 and draw(st.booleans()):
        local_shown = local[:4] + draw(st.sampled_from([" ", "-"])) + local[4:]
    else:
        local_shown = local
    return Secret(
        "landline", draw(_widen(style.format(a=area, l=local_shown))), area + local, local
    )


@st.composite
def id_numbers(draw: st.DrawFn) -> Secret:
    region = draw(st.sampled_from("123456789")) + draw(_digits(5))
    born = draw(
        st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2025, 12, 31).date())
    )
    seq = draw(_digits(3))
    check = draw(st.sampled_from("0123456789Xx"))
    number = f"{region}{born:%Y%m%d}{seq}{check}"
    sep = draw(st.sampled_from(["", "", " ", "-"]))
    shown = f"{region}{sep}{born:%Y%m%d}{sep}{seq}{check}" if sep else number
    return Secret("id", draw(_widen(shown)), number.upper())


@st.composite
def bank_cards(draw: st.DrawFn) -> Secret:
    length = draw(st.integers(16, 19))
    number = draw(st.sampled_from(["62", "43", "52", "35", "60"])) + draw(_digits(length - 2))
    sep = draw(st.sampled_from(["", " ", "-", "\u3000"]))
    shown = sep.join(number[i : i + 4] for i in range(0, length, 4))
    return Secret("bank", draw(_widen(shown)), number)


@st.composite
def emails(draw: st.DrawFn) -> Secret:
    local = draw(st.from_regex(r"[a-z][a-z0-9._]{2,11}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(["qq.com", "163.com", "example.com.cn", "mail.gov.cn"]))
    at = draw(st.sampled_from(["@", "＠"]))
    return Secret("email", f"{local}{at}{domain}", f"{local}@{domain}")


secrets = st.one_of(mobiles(), landlines(), id_numbers(), bank_cards(), emails())


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[Secret]]:
    items = draw(st.lists(secrets, min_size=1, max_size=4))
    parts = [draw(filler)]
    for i, s in enumerate(items):
        if i:
            parts.append(draw(separator_free))  # two numbers never run together
        parts.append(s.rendered)
    parts.append(draw(filler))
    return "".join(parts), items


_DROP = re.compile(r"[\s\-－—()（）+＋.·]")


def normalised_views(text: str) -> list[str]:
    """The forms a reader (or a search engine) could recover a number from."""
    folded = unicodedata.normalize("NFKC", text)
    return [text, folded, _DROP.sub("", folded), _DROP.sub("", folded).upper()]


def assert_no_leak(output: str, items: list[Secret]) -> None:
    for view in normalised_views(output):
        for s in items:
            needle = s.digits if s.kind != "email" else s.digits.lower()
            hay = view if s.kind != "email" else view.lower()
            assert needle not in hay, f"{s.kind} {s.rendered!r} leaks in {output!r}"
            if s.kind == "landline":  # the local number alone identifies a household too
                assert s.local not in hay, f"landline {s.rendered!r} leaks in {output!r}"


@settings(max_examples=max(200, settings.default.max_examples * 5))
@given(documents())
@example(
    ("联系电话１３８１２３４５６７８", [Secret("mobile", "１３８１２３４５６７８", "13812345678")])
)
@example(("电话 138 1234 5678。", [Secret("mobile", "138 1234 5678", "13812345678")]))
@example(("电话138－1234－5678", [Secret("mobile", "138－1234－5678", "13812345678")]))
@example(("卡号6222　0212　3456　7890", [Secret("bank", "", "6222021234567890")]))
def test_masking_leaves_no_personal_data(doc: tuple[str, list[Secret]]) -> None:
    text, items = doc
    masked = mask_personal_data(text)
    assert_no_leak(masked, items)
    assert mask_personal_data(masked) == masked  # idempotent


@settings(max_examples=max(100, settings.default.max_examples * 2))
@given(documents())
def test_crawled_posts_are_masked_and_raw_text_kept(doc: tuple[str, list[Secret]]) -> None:
    """The crawler's path (HTML -> fold -> mask): title, text, reply and author."""
    text, items = doc
    raw = RawPost(
        source="fuzz",
        url=None,
        title=text,
        body=f"<p>{text}</p><p>{text}</p>",
        author=text,
        reply=f"<div>{text}</div>",
    )
    post = to_crawled_post(raw, NOW, "Asia/Shanghai")
    if not isinstance(post, CrawledPost):
        return  # an empty body is a dead letter, checked below
    for field in (post.title, post.text, post.author or "", post.reply_text or ""):
        assert_no_leak(field, items)
    assert repr(post).count("Unmasked(<withheld>)") == 1
    assert post.raw is not None
    assert fold_text(text).replace("\n", " ")[:10] in " ".join(
        v or "" for v in post.raw.value.values()
    ).replace("\n", " ")


@given(st.text(max_size=300))
def test_masking_any_text_is_idempotent_and_total(text: str) -> None:
    once = mask_personal_data(text)
    assert isinstance(once, str)
    assert mask_personal_data(once) == once


# Each of these leaked whole before the masker matched on a folded view.
@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("联系电话１３８１２３４５６７８", "13812345678", "联系电话138****5678"),
        ("电话138－1234－5678", "13812345678", "电话138****5678"),
        ("电话 1381-234-5678", "13812345678", "电话 138****5678"),
        ("电话 138 - 1234 - 5678", "13812345678", "电话 138****5678"),
        ("卡号6222\u30000212\u30003456\u30007890", "6222021234567890", "卡号****7890"),
        ("ID110101199001011234", "110101199001011234", "ID110***********1234"),
        ("身份证 110101 19900101 123x", "11010119900101123X", "身份证 110***********123X"),
        ("邮箱ｚｈａｎｇｓａｎ＠qq.com", "zhangsan@qq.com", "邮箱z***@qq.com"),
        ("座机0571－88886666", "057188886666", "座机0571-****6666"),
        ("（0571）88886666", "057188886666", "(0571)****6666"),
    ],
)
def test_masking_regressions(text: str, secret: str, expected: str) -> None:
    masked = mask_personal_data(text)
    assert masked == expected
    assert all(secret not in view.upper() for view in normalised_views(masked))
