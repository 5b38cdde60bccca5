"""The alerts.yaml models: deadlines per tier, channels and their options, the rule kinds
(a discriminated union), the outbox, jobs, triage, discovery and matter signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from yuqing.settings.base import Duration, Name, Severity, _Model
from yuqing.settings.teams import WorkingTime


class TierPolicy(_Model):
    acknowledge: Duration
    respond: Duration
    # Count the team's working time only (1d = one working day); else wall-clock time.
    working_time: bool = False


# What each channel kind needs, and the options it would silently ignore (with the reason
# shown when alerts.yaml sets one). A table here rather than on the channel classes in
# alerts/channels, so that loading the config imports no stage.
CHANNEL_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "webhook": (("url",), {}),
    "smtp": (("url", "sender", "recipients"), {}),
    "wecom": (
        ("url",),
        {"secret": "a WeCom group robot has no signature (the key in its url is its only secret)"},
    ),
    "dingtalk": (("url", "secret"), {}),
    "feishu": (("url", "secret"), {}),
    "log": ((), {}),
}
REFUSED_ZH = {"secret": "企业微信群机器人不做签名，url 中的 key 就是它唯一的密钥"}


class Channel(_Model):
    kind: Literal["webhook", "smtp", "wecom", "dingtalk", "feishu", "log"]
    url: str | None = None
    secret: str | None = None
    recipients: list[str] = Field(default_factory=list)
    sender: str | None = None  # smtp: the From address
    starttls: bool = False  # smtp
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _required_options(self) -> Channel:
        required, refused = CHANNEL_OPTIONS[self.kind]
        missing = [o for o in required if not getattr(self, o, None)]
        if missing:
            raise ValueError(
                f"{self.kind} 通知渠道缺少 {'、'.join(missing)} / "
                f"a {self.kind} channel needs {', '.join(missing)}"
            )
        for option, why in refused.items():
            if getattr(self, option, None):
                raise ValueError(
                    f"{self.kind} 通知渠道不用 {option}：{REFUSED_ZH[option]} / "
                    f"a {self.kind} channel takes no {option}: {why}"
                )
        return self


# Alert rules: one model per kind, told apart by ``kind`` (a discriminated union), so a
# rule accepts only the options its kind reads. Each kind is evaluated by its module in
# alerts/rules/ (the registry RULE_KINDS there); adding a kind adds a model here, a
# module there, a line in the registry and the docs.
class _RuleBase(_Model):
    name: Name
    enabled: bool = True


class SinglePostRule(_RuleBase):
    """A post the classifier graded at ``min_tier`` or above, at the post's own tier."""

    kind: Literal["single_post"]
    min_tier: Severity = 3


class KeywordRule(_RuleBase):
    """A post naming one of ``keywords``, at ``tier`` (or the post's own, if higher)."""

    kind: Literal["keyword"]
    keywords: list[str] = Field(default_factory=list)
    tier: Severity | None = None

    @model_validator(mode="after")
    def _kw(self) -> KeywordRule:
        if not self.keywords:
            raise ValueError("关注词规则需要填写 keywords / a keyword rule needs keywords")
        return self


class SpikeRule(_RuleBase):
    """Posts of one category in one area per ``window`` against that pair's own
    ``baseline``, by a Poisson upper-tail test at ``p_value``."""

    kind: Literal["spike"]
    tier: Severity | None = None  # default III
    window: Duration = timedelta(hours=1)
    baseline: Duration = timedelta(days=7)
    min_count: int = Field(5, ge=1)
    p_value: float = Field(0.001, gt=0, lt=1)


class GrowingEventRule(_RuleBase):
    """One matter (event) posted by ``min_authors`` distinct people within ``window``."""

    kind: Literal["growing_event"]
    tier: Severity | None = None  # default III
    window: Duration = timedelta(hours=1)
    min_authors: int = Field(3, ge=2)


Rule = Annotated[
    SinglePostRule | KeywordRule | SpikeRule | GrowingEventRule, Field(discriminator="kind")
]
RULE_MODELS: tuple[type[_RuleBase], ...] = (
    SinglePostRule,
    KeywordRule,
    SpikeRule,
    GrowingEventRule,
)


class Notify(_Model):
    """The notification outbox: retries with exponential backoff, digest, batching."""

    default_channels: list[str] = Field(default_factory=list)  # for teams that list none
    max_attempts: int = Field(20, ge=1)
    backoff_base: Duration = timedelta(seconds=15)
    backoff_max: Duration = timedelta(minutes=10)
    digest_time: str = Field("08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # tier IV, local
    batch_quiet: bool = True  # tier III-IV held over quiet hours go out as one message
    # Remind the owning team once this share of a deadline's window has passed (0: never).
    remind_at: float = Field(0.8, ge=0, lt=1)


class AlertJobs(_Model):
    """How often the scheduler runs the alert jobs, and the scheduler lock's lease."""

    deadlines: Duration = timedelta(seconds=30)
    outbox: Duration = timedelta(seconds=5)
    digest: Duration = timedelta(minutes=5)
    lock_ttl: Duration = timedelta(seconds=60)
    reports: Duration | None = timedelta(hours=1)  # write missing briefs to <var>/reports


class Aftermath(_Model):
    """After a reply: did the matter calm down, and when does a flare-up reopen it."""

    window: Duration = timedelta(days=3)  # posts in this long before vs after the reply
    reopen_posts: int = Field(3, ge=1)  # new posts on a resolved alert that reopen it
    reopen_on_higher_tier: bool = True  # a post above the alert's tier reopens at once


class CertainTriggers(_Model):
    """What makes a tier I-II alert certain enough to skip the duty desk."""

    min_authors: int | None = Field(3, ge=2)  # distinct authors on one matter
    min_sources: int | None = Field(2, ge=2)  # distinct sources on one matter
    sources: list[str] = Field(default_factory=list)  # official sources (sources.yaml names)
    rules: list[Name] = Field(default_factory=list)  # alert rules whose findings are certain
    terms: list[str] = Field(default_factory=list)  # rubric terms (taxonomy.yaml) that are certain


class SecondLook(_Model):
    """复核: a post the classifier graded below II whose I-II probability clears the
    model's review line goes before the desk as "possibly II"; nobody is paged."""

    enabled: bool = True
    window: Duration = timedelta(hours=2)  # wall clock; unread, the machine's verdict stands


class Triage(_Model):
    """人工研判: tier I-II alerts resting on the model or rubric alone go to the duty desk
    first; with no decision in the window they fail open (routed as if confirmed)."""

    enabled: bool = True
    windows: dict[Severity, Duration] = Field(
        default_factory=lambda: {4: timedelta(minutes=10), 3: timedelta(minutes=15)}
    )
    fail_open: bool = True  # False: an undecided alert waits, and the desk is reminded
    certain: CertainTriggers = CertainTriggers()
    review: SecondLook = SecondLook()

    @field_validator("windows")
    @classmethod
    def _urgent_tiers(cls, v: dict[int, timedelta]) -> dict[int, timedelta]:
        if set(v) - {3, 4}:
            raise ValueError("windows 只能设 I 级和 II 级 / windows are for tiers I and II only")
        return v


class Discovery(_Model):
    """A post found long after it was published (a new source's first crawl, a
    backfill, an import of old records) goes to the desk's backlog, not to a pager."""

    max_age: Duration | None = timedelta(hours=24)  # None: page whatever the age
    review_within: Duration = timedelta(days=1)  # the desk's backlog window (working time)
    # A late post below this tier raises no alert at all: it is stored, searchable and in
    # the briefs, but an old everyday complaint needs no one's review today.
    backlog_min_tier: Severity = 3


class MatterSignals(_Model):
    """Event-level severity: an alert's tier is its matter's, raised by these signals."""

    enabled: bool = True
    authors: int = Field(3, ge=2)  # distinct authors
    sources: int = Field(2, ge=2)  # distinct sources
    growth_window: Duration = timedelta(hours=6)
    growth_posts: int = Field(4, ge=2)  # posts within growth_window ...
    growth_ratio: float = Field(2.0, gt=1)  # ... and this many times the window before
    engagement: int = Field(200, ge=1)  # likes + replies over the matter's posts
    hotline_sources: list[str] = Field(default_factory=list)  # 12345 records; default: file sources
    max_raise: int = Field(1, ge=0, le=3)  # tiers the signals may add to the posts' own
    max_tier: Severity = 3  # signals raise at most to II: tier I needs a post's own words
    uncertain_cap: Severity = 2  # a single post the classifier is unsure of stays at most here


class AlertsFile(_Model):
    tiers: dict[Severity, TierPolicy]
    rules: list[Rule] = Field(default_factory=list)
    channels: dict[str, Channel] = Field(default_factory=dict)
    working_time: WorkingTime = WorkingTime()
    notify: Notify = Notify()
    jobs: AlertJobs = AlertJobs()
    aftermath: Aftermath = Aftermath()
    triage: Triage = Triage()
    discovery: Discovery = Discovery()
    matter: MatterSignals = MatterSignals()

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, v: dict[int, TierPolicy]) -> dict[int, TierPolicy]:
        if set(v) != {1, 2, 3, 4}:
            raise ValueError(
                "tiers 须定义 I、II、III、IV 四级 / tiers must define I, II, III and IV"
            )
        return v
