"""The raw item spiders yield, and its normalisation into a CrawledPost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from crawler.encoding import Mojibake, repair_mojibake
from crawler.normalise import ParsedTime, html_to_text, parse_cn_time, parse_count, scrub
from yuqing.contracts import APPROX_KEY, CrawledPost, DeadLetter, Unmasked
from yuqing.privacy import mask_personal_data

# extra[APPROX_KEY] (yuqing.contracts) is True when published_at is a guess within a day
# extra[REPAIRED_KEY]: how mis-decoded text was undone ("latin-1→gb18030")
REPAIRED_KEY = "encoding_repaired"
MOJIBAKE_REASON = "mojibake"  # dead letters' reason starts with it

MAX_DEAD_LETTER_FIELD = 20_000  # keep dead letters inspectable, not a copy of a huge page


@dataclass(slots=True)
class RawPost:
    """What a spider took off a page. ``title``, ``body`` and ``reply`` are HTML
    markup (text from ``::text`` selectors arrives escaped); nothing is cleaned yet."""

    source: str
    url: str | None
    title: str
    body: str
    external_id: str | None = None
    author: str | None = None
    time: str | date | None = None
    likes: str | int | None = None
    replies: str | int | None = None
    reply: str | None = None
    reply_time: str | date | None = None
    area: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    """JSON-ready, truncated and masked: dead letters are read by people too."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) > MAX_DEAD_LETTER_FIELD:
            value = value[:MAX_DEAD_LETTER_FIELD] + "…"
        return mask_personal_data(scrub(value))
    if isinstance(value, dict):
        return {scrub(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def dead_letter(stage: str, raw: RawPost, reason: str, **payload: Any) -> DeadLetter:
    return DeadLetter(
        stage=stage,
        source=raw.source,
        reason=scrub(reason),
        payload=_jsonable({**asdict(raw), **payload}),
        url=scrub(raw.url) if raw.url else raw.url,
    )


def to_crawled_post(
    raw: RawPost, now: datetime, tz: str, *, strict_dates: bool = False, stage: str = "normalise"
) -> CrawledPost | DeadLetter:
    """Clean, mask and date a raw post; an empty post or (when strict) a bad date
    becomes a DeadLetter.

    A date that cannot be read leaves ``published_at`` None and is kept in
    ``extra["unparsed_time"]`` unless ``strict_dates`` (file imports, where a
    row's date is the point of the row).
    """
    clear_title = html_to_text(raw.title).replace("\n", " ")
    clear_text = html_to_text(raw.body)
    clear_reply = html_to_text(raw.reply)
    clear_author = html_to_text(raw.author) if raw.author else ""
    repaired: set[str] = set()
    try:  # text read with the wrong codec is never stored as if it were fine
        fixed = []
        for part in (clear_title, clear_text, clear_reply, clear_author):
            text, how = repair_mojibake(part)
            fixed.append(text)
            if how:
                repaired.add(how)
    except Mojibake as exc:
        return dead_letter(stage, raw, f"{MOJIBAKE_REASON}: {exc}")
    clear_title, clear_text, clear_reply, clear_author = fixed
    title = mask_personal_data(clear_title)
    text = mask_personal_data(clear_text)
    if not text:
        return dead_letter(stage, raw, "empty post: no text in the body")
    if not title:
        title = text.split("\n", 1)[0][:40]
    extra = dict(raw.extra)
    if repaired:
        extra[REPAIRED_KEY] = ", ".join(sorted(repaired))
    published = _time(raw.time, now, tz)
    published_at = published.value if published is not None else None
    if published is not None and published.approximate:
        extra[APPROX_KEY] = True
    if raw.time not in (None, "") and published_at is None:
        if strict_dates:
            return dead_letter(stage, raw, f"unreadable date {str(raw.time)[:60]!r}")
        extra["unparsed_time"] = scrub(str(raw.time))
    reply_text = mask_personal_data(clear_reply) or None
    reply_time = _time(raw.reply_time, now, tz) if reply_text else None
    reply_at = reply_time.value if reply_time is not None else None
    author = mask_personal_data(clear_author) or None
    unmasked = Unmasked(
        {
            "title": clear_title,
            "text": clear_text,
            "author": clear_author or None,
            "reply": clear_reply or None,
        }
    )
    return CrawledPost(
        source=raw.source,
        title=title,
        text=text,
        url=scrub(raw.url) if raw.url else raw.url,
        external_id=scrub(raw.external_id) or None if raw.external_id else None,
        author=author,
        published_at=published_at,
        area=scrub(raw.area) or None if raw.area else raw.area,
        likes=parse_count(raw.likes),
        replies=parse_count(raw.replies),
        reply_text=reply_text,
        reply_at=reply_at,
        extra=extra,
        raw=unmasked,
    )


def _time(value: str | date | None, now: datetime, tz: str) -> ParsedTime | None:
    if value is None or value == "":
        return None
    return parse_cn_time(value if isinstance(value, date) else html_to_text(value), now, tz)
