"""The settings.yaml models: the service's own settings, by concern (index, console,
classifier, crawler, privacy, scheduler, database pool, ops)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from yuqing.settings.base import Duration, _Model


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
            raise ValueError(
                f"检索后端 {self.backend} 需要 es_url（或环境变量 {var}）/ "
                f"backend {self.backend} needs es_url (or {var})"
            )
        if self.api_key is not None and self.username is not None:
            raise ValueError(
                "api_key 与 username/password 只能给一种 / give api_key or username/password, not both"
            )
        if self.password is not None and self.username is None:
            raise ValueError("给了 password 还需要 username / password needs username")
        if self.ca_certs is not None and not self.ca_certs.is_file():
            raise ValueError(
                f"ca_certs：没有这个文件 {self.ca_certs} / ca_certs: no such file {self.ca_certs}"
            )
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
            raise ValueError(
                f"efficiency 各项权重之和须为 1，实际是 {total:g} / "
                f"efficiency weights must sum to 1, got {total:g}"
            )
        if len({t.activity for t in v}) != len(v):
            raise ValueError("efficiency 中有重复的环节 / efficiency lists an activity twice")
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
    # Distributed crawling (crawler/distributed/): with a Redis URL, crawls are seeded
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
            raise ValueError(f"没有这个时区：{v!r} / unknown time zone {v!r}") from exc
        return v
