"""The sources.yaml models: each configured source (feed, board, api, file) and its options."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from yuqing.settings.base import Duration, Name, _Model


class BoardSelectors(_Model):
    """CSS selectors (or XPath when they start with '/') for a list+detail board."""

    item_link: str  # on a list page: links to detail pages
    next_page: str | None = None
    title: str
    body: str
    author: str | None = None
    time: str | None = None
    likes: str | None = None
    replies: str | None = None
    reply: str | None = None
    reply_time: str | None = None


class ApiPagination(_Model):
    """How an api source pages: a cursor read from each response, or page numbers."""

    kind: Literal["cursor", "page"]
    param: str = "page"  # query parameter that carries the cursor or page number
    cursor_path: str | None = None  # cursor: dotted path of the next cursor in a response
    start: int = 1  # page: the first page number
    size_param: str | None = None
    size: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _cursor_needs_path(self) -> ApiPagination:
        if self.kind == "cursor" and not self.cursor_path:
            raise ValueError("按游标翻页需要 cursor_path / cursor pagination needs cursor_path")
        return self


class ApiSpec(_Model):
    """A JSON endpoint. ``items`` is the dotted path of the list of posts ('' when
    the response is the list); header and cookie values may be ``${ENV_NAME}``."""

    items: str = ""
    pagination: ApiPagination | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)


class Source(_Model):
    name: Name
    kind: Literal["feed", "board", "api", "file"]
    enabled: bool = True
    demo: bool = False  # served by the bundled demo site; URL may use {demo_url}
    url: str | None = None
    area: str | None = None
    interval: Duration = timedelta(minutes=30)
    cron: str | None = (
        None  # crontab line in settings.timezone, e.g. "*/15 8-20 * * *"; wins over interval
    )
    max_pages: int = Field(20, ge=1, le=10_000)
    encoding: str | None = None  # force a page encoding when a site lies about it
    selectors: BoardSelectors | None = None
    fields: dict[str, str] = Field(default_factory=dict)  # api/file: our field -> theirs
    api: ApiSpec | None = None  # kind api: the endpoint's shape
    owner_team: str | None = None  # team told when the source stops yielding

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"不是有效的 crontab 写法：{v!r}（应为“分 时 日 月 周”五段）/ "
                f"not a crontab line {v!r}: {exc}"
            ) from None
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding_exists(cls, v: str | None) -> str | None:
        import codecs

        if v is not None:
            try:
                codecs.lookup(v)
            except (LookupError, ValueError):
                raise ValueError(
                    f"没有这种编码：{v!r}（例如 gb18030、utf-8）/ "
                    f"unknown encoding {v!r} (e.g. gb18030, utf-8)"
                ) from None
        return v

    @model_validator(mode="after")
    def _api_needs(self) -> Source:
        if self.kind == "api" and (self.api is None or not self.fields):
            raise ValueError(
                "api 来源需要 api（items、pagination）和 fields / "
                "an api source needs api (items, pagination) and fields"
            )
        return self

    @model_validator(mode="after")
    def _kind_needs(self) -> Source:
        if self.kind in ("feed", "board", "api") and not self.url:
            raise ValueError(f"{self.kind} 来源需要 url / a {self.kind} source needs url")
        if self.kind == "board" and self.selectors is None:
            raise ValueError("board 来源需要 selectors / a board source needs selectors")
        return self


class SourcesFile(_Model):
    sources: list[Source] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique(cls, v: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for s in v:
            if s.name in seen:
                raise ValueError(f"来源名称重复：{s.name!r} / duplicate source name {s.name!r}")
            seen.add(s.name)
        return v
