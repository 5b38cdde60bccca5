"""The typed configuration: every setting has one home with its default.

``config/*.yaml`` hold a deployment's values; :func:`load_config` reads them
once, validates every file and the references between them, and returns one
:class:`AppConfig` that is passed down. No other module reads config files or
environment variables: :data:`ENV_OVERRIDES` is the single table of variables.

One module per file (``service`` for settings.yaml, ``sources``, ``taxonomy``, ``areas``,
``teams``, ``alerting`` for alerts.yaml), their shared types in ``base``, the reading in
``loader``; callers import from here.
"""

from yuqing.settings.alerting import (
    CHANNEL_OPTIONS,
    RULE_MODELS,
    Aftermath,
    AlertJobs,
    AlertsFile,
    CertainTriggers,
    Channel,
    Discovery,
    GrowingEventRule,
    KeywordRule,
    MatterSignals,
    Notify,
    Rule,
    SecondLook,
    SinglePostRule,
    SpikeRule,
    TierPolicy,
    Triage,
)
from yuqing.settings.areas import (
    Area,
    AreasFile,
)
from yuqing.settings.base import (
    Duration,
    Name,
    Severity,
    parse_duration,
)
from yuqing.settings.loader import (
    CONFIG_FILES,
    ENV_OVERRIDES,
    INDEX_SECRETS,
    AppConfig,
    ConfigError,
    Problem,
    load_config,
    resolve_config_dir,
)
from yuqing.settings.service import (
    ClassifierSettings,
    ConsoleSettings,
    CrawlerSettings,
    DatabasePoolSettings,
    EfficiencyTerm,
    IndexSettings,
    OpsSettings,
    PrivacySettings,
    SchedulerSettings,
    Settings,
)
from yuqing.settings.sources import (
    ApiPagination,
    ApiSpec,
    BoardSelectors,
    Source,
    SourcesFile,
)
from yuqing.settings.taxonomy import (
    Category,
    ContextTerm,
    SeverityTier,
    TaxonomyFile,
)
from yuqing.settings.teams import (
    Team,
    TeamsFile,
    WorkingTime,
)

__all__ = [
    "Aftermath",
    "AlertJobs",
    "AlertsFile",
    "ApiPagination",
    "ApiSpec",
    "AppConfig",
    "Area",
    "AreasFile",
    "BoardSelectors",
    "CHANNEL_OPTIONS",
    "CONFIG_FILES",
    "Category",
    "CertainTriggers",
    "Channel",
    "ClassifierSettings",
    "ConfigError",
    "ConsoleSettings",
    "ContextTerm",
    "CrawlerSettings",
    "DatabasePoolSettings",
    "Discovery",
    "Duration",
    "ENV_OVERRIDES",
    "EfficiencyTerm",
    "GrowingEventRule",
    "INDEX_SECRETS",
    "IndexSettings",
    "KeywordRule",
    "MatterSignals",
    "Name",
    "Notify",
    "OpsSettings",
    "PrivacySettings",
    "Problem",
    "RULE_MODELS",
    "Rule",
    "SchedulerSettings",
    "SecondLook",
    "Settings",
    "Severity",
    "SeverityTier",
    "SinglePostRule",
    "Source",
    "SourcesFile",
    "SpikeRule",
    "TaxonomyFile",
    "Team",
    "TeamsFile",
    "TierPolicy",
    "Triage",
    "WorkingTime",
    "load_config",
    "parse_duration",
    "resolve_config_dir",
]
