"""The typed configuration: every setting has one home with its default.

``config/*.yaml`` hold a deployment's values; :func:`load_config` reads them
once, validates every file and the references between them, and returns one
:class:`AppConfig` that is passed down. No other module reads config files or
environment variables: :data:`ENV_OVERRIDES` is the single table of variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from yuqing.contracts import parse_tier

CONFIG_FILES = ("settings", "sources", "taxonomy", "areas", "teams", "alerts")

ENV_OVERRIDES: dict[str, str] = {
    "YUQING_CONFIG": "config directory (default ./config)",
    "YUQING_DATABASE_URL": "settings.database_url: the store (SQLAlchemy URL)",
    "YUQING_ES_URL": "settings.index.es_url, and selects the Elasticsearch backend",
    "YUQING_OPENSEARCH_URL": "settings.index.es_url, and selects the OpenSearch backend",
    "YUQING_VAR_DIR": "settings.var_dir: runtime files (database, index, models)",
    "YUQING_ADMIN_PASSWORD": "settings.console.admin_password: the first admin `yuqing init` creates",
    "YUQING_REDIS_URL": "settings.crawler.redis_url: a shared Redis frontier for `yuqing crawler-worker`",
    "YUQING_CLOCK": "settings.clock: 'system' or a scaled clock spec (soak runs; crawl children)",
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '5h', '2d', 30 (seconds) -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 5h, 2d)")
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # 1e30 seconds, .inf
        raise ValueError(f"duration too long: {value!r}") from None


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Severity = Annotated[int, BeforeValidator(parse_tier)]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- settings.yaml


class IndexSettings(_Model):
    backend: Literal["embedded", "elasticsearch", "opensearch"] = "embedded"
    embedded_path: str | None = None  # default: <var_dir>/index.sqlite
    es_url: str | None = None  # the cluster's URL, Elasticsearch or OpenSearch
    es_index: str = "yuqing-posts"
    # Analyzer of the ES text fields. They hold jieba tokens, so "whitespace" needs
    # no plugin; a cluster with IK may name e.g. "ik_max_word" (a new index version).
    es_analyzer: str = "whitespace"
    # Search also finds the words of config/synonyms.yaml (scored below what was
    # typed; a query can still turn them off). False: never expand.
    expand_synonyms: bool = True
    # A secured cluster (both cluster backends). Secrets as ${NAME}: the loader takes
    # them from the environment, so they stay out of the YAML.
    api_key: SecretStr | None = None  # sent as "Authorization: ApiKey <api_key>"
    username: str | None = None  # basic auth
    password: SecretStr | None = None
    ca_certs: Path | None = None  # PEM file of the CA that signed the cluster's certificate
    verify_certs: bool = True  # false: TLS without checking the certificate (said at start-up)
    request_timeout: Duration = timedelta(seconds=10)
    max_retries: int = Field(3, ge=0, le=20)  # per request, on connection errors and timeouts
    bulk_size: int = Field(500, ge=1, le=10_000)  # documents per bulk request
    # true: a bulk write returns once its posts are searchable (refresh=wait_for)
    refresh: bool = False

    @model_validator(mode="after")
    def _cluster_settings(self) -> IndexSettings:
        if self.backend != "embedded" and not self.es_url:
            var = "YUQING_ES_URL" if self.backend == "elasticsearch" else "YUQING_OPENSEARCH_URL"
            raise ValueError(f"backend {self.backend} needs es_url (or {var})")
        if self.api_key is not None and self.username is not None:
            raise ValueError("give api_key or username/password, not both")
        if self.password is not None and self.username is None:
            raise ValueError("password needs username")
        if self.ca_certs is not None and not self.ca_certs.is_file():
            raise ValueError(f"ca_certs: no such file {self.ca_certs}")
        return self


class EfficiencyTerm(_Model):
    """One activity k of the governance-efficiency index E = Σ αₖ·Aₖ/Tₖ."""

    activity: Literal["ack_on_time", "respond_on_time", "resolved", "responded"]
    weight: float = Field(gt=0, le=1)  # αₖ; the weights must sum to 1
    target: float = Field(gt=0, le=1)  # Tₖ, the share to achieve


_EFFICIENCY_DEFAULT = (
    EfficiencyTerm(activity="ack_on_time", weight=0.3, target=0.95),
    EfficiencyTerm(activity="respond_on_time", weight=0.4, target=0.9),
    EfficiencyTerm(activity="resolved", weight=0.3, target=0.8),
)


class ConsoleSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # Accounts: the first admin (`yuqing init`; printed once when unset), logins, lockout.
    admin_user: str = "admin"
    admin_password: str | None = Field(None, min_length=8)
    session_ttl: Duration = timedelta(hours=12)
    login_max_failures: int = Field(5, ge=1, le=1000)  # per username+IP within login_window
    login_window: Duration = timedelta(minutes=15)
    secure_cookies: bool = False  # set true behind HTTPS
    # The console's address as people reach it (e.g. https://yuqing.example.gov.cn): robot
    # and e-mail notifications link straight to the alert; none when unset.
    public_url: str | None = Field(None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # Supervisor dashboard: the governance-efficiency index's activities, weights, targets.
    efficiency: tuple[EfficiencyTerm, ...] = _EFFICIENCY_DEFAULT
    # Briefs (舆情简报) are delivered through these alerts.yaml channels (e.g. an smtp one).
    brief_channels: tuple[str, ...] = ()
    # A TrueType CJK font embedded (as a subset) in PDF briefs; None: the first found of
    # WenQuanYi Micro Hei, AR PL UMing (Debian font packages).
    brief_font: Path | None = None
    # Roles that may read a post's unmasked text (查看原文); every view is audited.
    raw_text_roles: tuple[Literal["responder", "analyst", "supervisor", "admin"], ...] = (
        "supervisor",
        "admin",
    )

    @field_validator("efficiency")
    @classmethod
    def _weights_sum_to_one(cls, v: tuple[EfficiencyTerm, ...]) -> tuple[EfficiencyTerm, ...]:
        total = sum(t.weight for t in v)
        if v and abs(total - 1.0) > 1e-6:
            raise ValueError(f"efficiency weights must sum to 1, got {total:g}")
        if len({t.activity for t in v}) != len(v):
            raise ValueError("efficiency lists an activity twice")
        return v


class ClassifierSettings(_Model):
    model_dir: str | None = None  # default: <var_dir>/models
    uncertain_below: float = Field(0.35, ge=0.0, le=1.0)


class CrawlerSettings(_Model):
    user_agent: str = "yuqing/0.1 (+public-opinion monitoring; contact your county IT office)"
    obey_robots_txt: bool = True
    download_delay: float = Field(0.25, ge=0)
    concurrent_requests_per_domain: int = Field(4, ge=1, le=64)
    timeout_seconds: float = Field(30, gt=0)
    max_response_bytes: int = Field(5_000_000, gt=0)
    autothrottle: bool = True
    retry_times: int = Field(2, ge=0, le=10)
    http_cache: bool = False
    # source health: this many crawls in a row that yield nothing flag the source
    unhealthy_after_empty_runs: int = Field(3, ge=1, le=1000)
    # posts handed to the store per batch (classified together); flushed every second too
    sink_batch: int = Field(16, ge=1, le=1000)
    # Distributed crawling (crawler/distributed.py): with a Redis URL, crawls are seeded
    # into one shared frontier that `yuqing crawler-worker` processes drain, instead of
    # one child process per crawl. Keys live under redis_key_prefix.
    redis_url: str | None = None
    redis_key_prefix: str = Field("yuqing:crawl", min_length=1, max_length=80)
    # a worker silent this long is presumed dead: its in-flight requests go back to the queue
    worker_lease_seconds: float = Field(30, ge=2, le=3600)


class PrivacySettings(_Model):
    """Keys for authors' pseudonyms and the encrypted raw text. Unset: generated
    into <var_dir> at first run (keep that directory private and backed up)."""

    author_secret: str | None = Field(None, min_length=16)  # HMAC-SHA256 key
    raw_text_key: str | None = None  # Fernet key (urlsafe base64, 32 bytes)


class SchedulerSettings(_Model):
    # How often queued posts are indexed and new posts are checked against alert rules.
    pipeline_interval: Duration = timedelta(seconds=5)


class DatabasePoolSettings(_Model):
    """Connection pool of a PostgreSQL store (SQLite keeps its own single-file
    settings). Each process has its own pool: size it for the serve workers."""

    pool_size: int = Field(5, ge=1, le=500)  # connections kept open per process
    max_overflow: int = Field(10, ge=0, le=1000)  # extra connections under load, closed after
    pool_timeout: Duration = timedelta(seconds=30)  # wait for a free connection, then fail
    pool_recycle: Duration = timedelta(minutes=30)  # reopen older ones (proxies cut idle links)
    pool_pre_ping: bool = True  # test a connection before use: survives a database restart
    # The server ends a session left idle inside a transaction this long (a frozen or
    # stopped process), so its row locks cannot hold the others up and it cannot commit
    # late. Off by default; on scheduler hosts about alerts.yaml jobs.lock_ttl. Sent as
    # a startup option: behind PgBouncer, add `options` to ignore_startup_parameters.
    idle_in_transaction_timeout: Duration | None = None


class OpsSettings(_Model):
    """Logs and the /metrics endpoint."""

    log_format: Literal["text", "json"] = "text"  # json: one object per line, for collectors
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics answers loopback clients; others must send Authorization: Bearer <token>.
    metrics_token: str | None = Field(None, min_length=16)


class Settings(_Model):
    timezone: str = "Asia/Shanghai"
    var_dir: str = "var"
    database_url: str | None = None  # default: sqlite:///<var_dir>/yuqing.db
    index: IndexSettings = IndexSettings()
    console: ConsoleSettings = ConsoleSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    crawler: CrawlerSettings = CrawlerSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    privacy: PrivacySettings = PrivacySettings()
    database_pool: DatabasePoolSettings = DatabasePoolSettings()
    ops: OpsSettings = OpsSettings()
    # The clock every process reads: None/"system", or a ScaledClock spec (yuqing.clock)
    # so a soak's crawl children share the parent's fast time.
    clock: str | None = None

    @field_validator("clock")
    @classmethod
    def _clock_parses(cls, v: str | None) -> str | None:
        from yuqing.clock import clock_from_spec

        clock_from_spec(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz_exists(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


# ----------------------------------------------------------------- sources.yaml


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
            raise ValueError("cursor pagination needs cursor_path")
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
            raise ValueError(f"not a crontab line {v!r}: {exc}") from None
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding_exists(cls, v: str | None) -> str | None:
        import codecs

        if v is not None:
            try:
                codecs.lookup(v)
            except (LookupError, ValueError):
                raise ValueError(f"unknown encoding {v!r} (e.g. gb18030, utf-8)") from None
        return v

    @model_validator(mode="after")
    def _api_needs(self) -> Source:
        if self.kind == "api" and (self.api is None or not self.fields):
            raise ValueError("an api source needs api (items, pagination) and fields")
        return self

    @model_validator(mode="after")
    def _kind_needs(self) -> Source:
        if self.kind in ("feed", "board", "api") and not self.url:
            raise ValueError(f"a {self.kind} source needs url")
        if self.kind == "board" and self.selectors is None:
            raise ValueError("a board source needs selectors")
        return self


class SourcesFile(_Model):
    sources: list[Source] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique(cls, v: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for s in v:
            if s.name in seen:
                raise ValueError(f"duplicate source name {s.name!r}")
            seen.add(s.name)
        return v


# ---------------------------------------------------------------- taxonomy.yaml


class Category(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(default_factory=list)


class ContextTerm(_Model):
    """A severity term that counts only in context ("老人" only near harm or danger)."""

    term: str = Field(min_length=1)
    near: list[str] = Field(default_factory=list)  # one must occur within `window` chars
    not_near: list[str] = Field(default_factory=list)  # any within `window` cancels it
    except_in: list[str] = Field(default_factory=list)  # phrases holding the term that don't count
    window: int = Field(default=25, ge=1, le=200)


class SeverityTier(_Model):
    label: str
    description: str = ""
    terms: list[str] = Field(default_factory=list)  # any one of these suggests the tier
    contextual: list[ContextTerm] = Field(default_factory=list)


class TaxonomyFile(_Model):
    categories: list[Category] = Field(min_length=1)
    uncertain_label: str = "待分拣"
    severity: dict[Severity, SeverityTier]

    @field_validator("severity")
    @classmethod
    def _all_tiers(cls, v: dict[int, SeverityTier]) -> dict[int, SeverityTier]:
        missing = {1, 2, 3, 4} - set(v)
        if missing:
            from yuqing.contracts import tier_name

            raise ValueError("missing tiers: " + ", ".join(tier_name(s) for s in sorted(missing)))
        return v

    @field_validator("categories")
    @classmethod
    def _unique(cls, v: list[Category]) -> list[Category]:
        names = [c.name for c in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate categories: {sorted(dup)}")
        return v

    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]


# ------------------------------------------------------------------- areas.yaml


class Area(_Model):
    name: str = Field(min_length=1)
    level: Literal["county", "street", "township", "community", "village", "grid"]
    aliases: list[str] = Field(default_factory=list)
    children: list[Area] = Field(default_factory=list)

    def walk(self, parent: str | None = None) -> list[tuple[Area, str | None]]:
        out: list[tuple[Area, str | None]] = [(self, parent)]
        for c in self.children:
            out.extend(c.walk(self.name))
        return out


class AreasFile(_Model):
    areas: list[Area] = Field(min_length=1)

    def all(self) -> dict[str, tuple[Area, str | None]]:
        """name -> (area, parent name)."""
        out: dict[str, tuple[Area, str | None]] = {}
        for root in self.areas:
            for a, parent in root.walk():
                out[a.name] = (a, parent)
        return out

    @model_validator(mode="after")
    def _unique(self) -> AreasFile:
        seen: set[str] = set()
        for root in self.areas:
            for a, _ in root.walk():
                if a.name in seen:
                    raise ValueError(f"duplicate area name {a.name!r}")
                seen.add(a.name)
        return self


# ------------------------------------------------------------------- teams.yaml


class WorkingTime(_Model):
    """When a team works: tier III-IV deadlines count only this time, and their
    notifications wait for it (quiet hours). Weekdays are ISO (1 = Monday)."""

    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    start: str = Field("08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: list[date] = Field(default_factory=list)  # days off that are weekdays
    workdays: list[date] = Field(default_factory=list)  # make-up days (调休) on weekends

    @model_validator(mode="after")
    def _span(self) -> WorkingTime:
        if not self.days or any(d < 1 or d > 7 for d in self.days):
            raise ValueError("days must be ISO weekdays 1 (Monday) .. 7 (Sunday)")
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class Team(_Model):
    id: Name
    name: str
    level: Literal["grid", "community", "street", "township", "county"]
    areas: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)  # empty: every category
    parent: str | None = None  # next level up the escalation chain
    channels: list[str] = Field(default_factory=list)
    working_time: WorkingTime | None = None  # default: alerts.yaml working_time


class TeamsFile(_Model):
    triage_team: str  # unroutable posts, and the duty desk where no duty_desks entry covers
    teams: list[Team] = Field(min_length=1)
    # The duty desk (值班/舆情专员) of a county or street: area -> team. A tier I-II alert
    # that rests on the machine alone goes to the desk covering its area first (研判).
    duty_desks: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refs(self) -> TeamsFile:
        ids = [t.id for t in self.teams]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate team ids: {sorted(dup)}")
        if self.triage_team not in ids:
            raise ValueError(f"triage_team {self.triage_team!r} is not a team")
        for area, desk in self.duty_desks.items():
            if desk not in ids:
                raise ValueError(f"duty_desks.{area}: {desk!r} is not a team")
        for t in self.teams:
            if t.parent is not None and t.parent not in ids:
                raise ValueError(f"team {t.id!r}: parent {t.parent!r} is not a team")
        # the escalation chain must end (no cycles)
        parents = {t.id: t.parent for t in self.teams}
        for t in self.teams:
            seen, cur = set(), t.id
            while cur is not None:
                if cur in seen:
                    raise ValueError(f"team {t.id!r}: escalation chain loops")
                seen.add(cur)
                cur = parents[cur]
        return self

    def by_id(self) -> dict[str, Team]:
        return {t.id: t for t in self.teams}


# ------------------------------------------------------------------ alerts.yaml


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
            raise ValueError(f"a {self.kind} channel needs {', '.join(missing)}")
        for option, why in refused.items():
            if getattr(self, option, None):
                raise ValueError(f"a {self.kind} channel takes no {option}: {why}")
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
            raise ValueError("a keyword rule needs keywords")
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
            raise ValueError("windows are for tiers I and II only")
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
            raise ValueError("tiers must define I, II, III and IV")
        return v


# -------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class AppConfig:
    directory: Path
    settings: Settings
    sources: SourcesFile
    taxonomy: TaxonomyFile
    areas: AreasFile
    teams: TeamsFile
    alerts: AlertsFile

    # derived paths --------------------------------------------------------
    @property
    def var_dir(self) -> Path:
        return Path(self.settings.var_dir).expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{self.var_dir / 'yuqing.db'}"

    @property
    def index_path(self) -> Path:
        p = self.settings.index.embedded_path
        return Path(p).expanduser().resolve() if p else self.var_dir / "index.sqlite"

    @property
    def model_dir(self) -> Path:
        p = self.settings.classifier.model_dir
        return Path(p).expanduser().resolve() if p else self.var_dir / "models"

    def source(self, name: str) -> Source:
        for s in self.sources.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources.sources) or "none"
        raise KeyError(f"unknown source {name!r} (known: {known})")


_MODELS: dict[str, type[_Model]] = {
    "settings": Settings,
    "sources": SourcesFile,
    "taxonomy": TaxonomyFile,
    "areas": AreasFile,
    "teams": TeamsFile,
    "alerts": AlertsFile,
}


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) or '""' for p in loc if p not in ("function-after[_refs(), TeamsFile]",)]
    return ".".join(parts) if parts else "(top)"


def _read_yaml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    fname = path.name
    if not path.is_file():
        problems.append(Problem(fname, "(file)", f"missing: expected {path}"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(fname, "(file)", f"not UTF-8 text: {exc.reason}"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(Problem(fname, where, f"invalid YAML: {what}"))
        return None
    except RecursionError:  # "[[[[..." thousands deep: the parser recurses per level
        problems.append(Problem(fname, "(file)", "invalid YAML: nested too deeply"))
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(fname, "(top)", f"must be a mapping, got {type(data).__name__}"))
        return None
    return data


def _apply_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    raw = dict(raw)
    if env.get("YUQING_VAR_DIR"):
        raw["var_dir"] = env["YUQING_VAR_DIR"]
    if env.get("YUQING_DATABASE_URL"):
        raw["database_url"] = env["YUQING_DATABASE_URL"]
    # a section that is not a mapping is left as is, for validation to name it
    if env.get("YUQING_ADMIN_PASSWORD") and isinstance(raw.get("console") or {}, dict):
        console = dict(raw.get("console") or {})
        console["admin_password"] = env["YUQING_ADMIN_PASSWORD"]
        raw["console"] = console
    if env.get("YUQING_CLOCK"):
        raw["clock"] = env["YUQING_CLOCK"]
    if env.get("YUQING_REDIS_URL"):
        crawler = dict(raw.get("crawler") or {})
        crawler["redis_url"] = env["YUQING_REDIS_URL"]
        raw["crawler"] = crawler
    if env.get("YUQING_ES_URL") and isinstance(raw.get("index") or {}, dict):
        index = dict(raw.get("index") or {})
        index["backend"] = "elasticsearch"
        index["es_url"] = env["YUQING_ES_URL"]
        raw["index"] = index
    if env.get("YUQING_OPENSEARCH_URL") and isinstance(raw.get("index") or {}, dict):
        index = dict(raw.get("index") or {})
        index["backend"] = "opensearch"
        index["es_url"] = env["YUQING_OPENSEARCH_URL"]
        raw["index"] = index
    return raw


INDEX_SECRETS = ("api_key", "username", "password", "ca_certs")


def _resolve_index_secrets(
    raw: dict[str, Any], env: Mapping[str, str], problems: list[Problem]
) -> dict[str, Any]:
    """``${NAME}`` in settings.yaml's index credentials, from the environment (the
    cluster's API key or password stays out of the YAML)."""
    index = raw.get("index")
    if not isinstance(index, dict):
        return raw
    index = dict(index)
    for key in INDEX_SECRETS:
        value = index.get(key)
        if not isinstance(value, str):
            continue
        for name in _ENV_REF.findall(value):
            if name not in env:
                msg = f"environment variable {name} is not set"
                problems.append(Problem("settings.yaml", f"index.{key}", msg))
        index[key] = _ENV_REF.sub(lambda m: env.get(m[1], ""), value)
    return {**raw, "index": index}


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _resolve_env_refs(
    raw: dict[str, Any], env: Mapping[str, str], problems: list[Problem]
) -> dict[str, Any]:
    """``${NAME}`` in an api source's headers and cookies, from the environment (so
    tokens stay out of the YAML). The variables read are the ones the file names."""
    sources = raw.get("sources")
    if not isinstance(sources, list):
        return raw
    out = []
    for i, src in enumerate(sources):
        api = src.get("api") if isinstance(src, dict) else None
        if isinstance(api, dict):
            api = dict(api)
            for part in ("headers", "cookies"):
                values = api.get(part)
                if not isinstance(values, dict):
                    continue
                resolved = {}
                for k, v in values.items():
                    for name in _ENV_REF.findall(str(v)):
                        if name not in env:
                            problems.append(
                                Problem(
                                    "sources.yaml",
                                    f"sources.{i}.api.{part}.{k}",
                                    f"environment variable {name} is not set",
                                )
                            )
                    resolved[k] = _ENV_REF.sub(lambda m: env.get(m[1], ""), str(v))
                api[part] = resolved
            src = {**src, "api": api}
        out.append(src)
    return {**raw, "sources": out}


def resolve_config_dir(explicit: str | Path | None, env: Mapping[str, str]) -> Path:
    if explicit:
        return Path(explicit)
    if env.get("YUQING_CONFIG"):
        return Path(env["YUQING_CONFIG"])
    return Path("config")


def load_config(directory: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read and validate every config file; raise ConfigError listing all problems."""
    directory = Path(directory)
    env = env or {}
    problems: list[Problem] = []
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), "(directory)", "not a directory")])
    parsed: dict[str, Any] = {}
    for stem in CONFIG_FILES:
        path = directory / f"{stem}.yaml"
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        if stem == "settings":
            raw = _apply_overrides(raw, env)
            raw = _resolve_index_secrets(raw, env, problems)
        if stem == "sources":
            raw = _resolve_env_refs(raw, env, problems)
        try:
            parsed[stem] = _MODELS[stem].model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(Problem(path.name, _loc(err["loc"]), msg))
    if len(parsed) == len(CONFIG_FILES):
        problems.extend(_cross_check(parsed))
    if problems:
        raise ConfigError(problems)
    return AppConfig(directory=directory.resolve(), **parsed)


def _cross_check(p: dict[str, Any]) -> list[Problem]:
    """References between files: areas, categories, teams, channels."""
    out: list[Problem] = []
    areas: AreasFile = p["areas"]
    known_areas = set(areas.all())
    categories = set(p["taxonomy"].category_names())
    channels = set(p["alerts"].channels)
    for i, s in enumerate(p["sources"].sources):
        if s.area is not None and s.area not in known_areas:
            out.append(Problem("sources.yaml", f"sources.{i}.area", f"unknown area {s.area!r}"))
        if s.owner_team is not None and s.owner_team not in p["teams"].by_id():
            out.append(
                Problem("sources.yaml", f"sources.{i}.owner_team", f"unknown team {s.owner_team!r}")
            )
    for i, t in enumerate(p["teams"].teams):
        for a in t.areas:
            if a not in known_areas:
                out.append(Problem("teams.yaml", f"teams.{i}.areas", f"unknown area {a!r}"))
        for c in t.categories:
            if c not in categories:
                out.append(
                    Problem("teams.yaml", f"teams.{i}.categories", f"unknown category {c!r}")
                )
        for ch in t.channels:
            if ch not in channels:
                out.append(Problem("teams.yaml", f"teams.{i}.channels", f"unknown channel {ch!r}"))
    for area in p["teams"].duty_desks:
        if area not in known_areas:
            out.append(Problem("teams.yaml", f"duty_desks.{area}", f"unknown area {area!r}"))
    source_names = {s.name for s in p["sources"].sources}
    triage = p["alerts"].triage
    for name in triage.certain.sources:
        if name not in source_names:
            out.append(Problem("alerts.yaml", "triage.certain.sources", f"unknown source {name!r}"))
    rule_names = {r.name for r in p["alerts"].rules}
    for name in triage.certain.rules:
        if name not in rule_names:
            out.append(Problem("alerts.yaml", "triage.certain.rules", f"unknown rule {name!r}"))
    for name in p["alerts"].matter.hotline_sources:
        if name not in source_names:
            out.append(Problem("alerts.yaml", "matter.hotline_sources", f"unknown source {name!r}"))
    for ch in p["settings"].console.brief_channels:
        if ch not in channels:
            out.append(
                Problem("settings.yaml", "console.brief_channels", f"unknown channel {ch!r}")
            )
    for ch in p["alerts"].notify.default_channels:
        if ch not in channels:
            out.append(Problem("alerts.yaml", "notify.default_channels", f"unknown channel {ch!r}"))
    if not p["alerts"].notify.default_channels:
        for i, t in enumerate(p["teams"].teams):
            if not t.channels:  # its alerts would reach nobody
                msg = "no channels, and alerts.yaml notify.default_channels is empty"
                out.append(Problem("teams.yaml", f"teams.{i}.channels", msg))
    return out
