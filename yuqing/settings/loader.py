"""Loading the configuration: every file read once, the environment table applied, each
file and the references between them validated, one AppConfig returned; a problem names
the file, the key and what is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from yuqing.bilingual import split
from yuqing.settings.alerting import AlertsFile
from yuqing.settings.areas import AreasFile
from yuqing.settings.base import _Model
from yuqing.settings.service import Settings
from yuqing.settings.sources import Source, SourcesFile
from yuqing.settings.taxonomy import TaxonomyFile
from yuqing.settings.teams import TeamsFile

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


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        """`file: key: message`; a bilingual message gives a bilingual line, each half
        whole ("f: k: 中文 / f: k: English"), so a reader taking one half of the line
        (the CLI, the console, a grep of the English) gets where as well as what."""
        where = f"{self.file}: {self.key}: "
        found = split(self.message)
        if found is None:
            return where + self.message
        return f"{where}{found[0]} / {where}{found[1]}"


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
        names = [s.name for s in self.sources.sources]
        raise KeyError(
            f"没有来源 {name!r}（sources.yaml 中有：{'、'.join(names) or '无'}）/ "
            f"unknown source {name!r} (known: {', '.join(names) or 'none'})"
        )


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
        problems.append(
            Problem(fname, "(file)", f"缺少此文件，应在 {path} / missing: expected {path}")
        )
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        msg = f"不是 UTF-8 编码的文本 / not UTF-8 text: {exc.reason}"
        problems.append(Problem(fname, "(file)", msg))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        msg = f"YAML 格式有误，请检查此处的缩进、括号和引号 / invalid YAML: {what}"
        problems.append(Problem(fname, where, msg))
        return None
    except RecursionError:  # "[[[[..." thousands deep: the parser recurses per level
        msg = "YAML 嵌套层数过多 / invalid YAML: nested too deeply"
        problems.append(Problem(fname, "(file)", msg))
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        got = type(data).__name__
        msg = f"文件顶层应为“键: 值”的映射，实际是 {got} / must be a mapping, got {got}"
        problems.append(Problem(fname, "(top)", msg))
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
                msg = f"环境变量 {name} 未设置 / environment variable {name} is not set"
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
                                    f"环境变量 {name} 未设置 / environment variable {name} is not set",
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
        raise ConfigError([Problem(str(directory), "(directory)", "不是目录 / not a directory")])
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
                problems.append(Problem(path.name, _loc(err["loc"]), pydantic_message(err)))
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
            out.append(Problem("sources.yaml", f"sources.{i}.area", _unknown("area", s.area)))
        if s.owner_team is not None and s.owner_team not in p["teams"].by_id():
            out.append(
                Problem("sources.yaml", f"sources.{i}.owner_team", _unknown("team", s.owner_team))
            )
    for i, t in enumerate(p["teams"].teams):
        for a in t.areas:
            if a not in known_areas:
                out.append(Problem("teams.yaml", f"teams.{i}.areas", _unknown("area", a)))
        for c in t.categories:
            if c not in categories:
                out.append(Problem("teams.yaml", f"teams.{i}.categories", _unknown("category", c)))
        for ch in t.channels:
            if ch not in channels:
                out.append(Problem("teams.yaml", f"teams.{i}.channels", _unknown("channel", ch)))
    for area in p["teams"].duty_desks:
        if area not in known_areas:
            out.append(Problem("teams.yaml", f"duty_desks.{area}", _unknown("area", area)))
    source_names = {s.name for s in p["sources"].sources}
    triage = p["alerts"].triage
    for name in triage.certain.sources:
        if name not in source_names:
            out.append(Problem("alerts.yaml", "triage.certain.sources", _unknown("source", name)))
    rule_names = {r.name for r in p["alerts"].rules}
    for name in triage.certain.rules:
        if name not in rule_names:
            out.append(Problem("alerts.yaml", "triage.certain.rules", _unknown("rule", name)))
    for name in p["alerts"].matter.hotline_sources:
        if name not in source_names:
            out.append(Problem("alerts.yaml", "matter.hotline_sources", _unknown("source", name)))
    for ch in p["settings"].console.brief_channels:
        if ch not in channels:
            out.append(Problem("settings.yaml", "console.brief_channels", _unknown("channel", ch)))
    for ch in p["alerts"].notify.default_channels:
        if ch not in channels:
            out.append(Problem("alerts.yaml", "notify.default_channels", _unknown("channel", ch)))
    if not p["alerts"].notify.default_channels:
        for i, t in enumerate(p["teams"].teams):
            if not t.channels:  # its alerts would reach nobody
                msg = (
                    "没有通知渠道，alerts.yaml 的 notify.default_channels 也为空 / "
                    "no channels, and alerts.yaml notify.default_channels is empty"
                )
                out.append(Problem("teams.yaml", f"teams.{i}.channels", msg))
    return out


_KIND_ZH = {"area": "地区", "team": "责任单位", "category": "类别", "channel": "通知渠道",
            "source": "来源", "rule": "规则"}  # fmt: skip


def _unknown(kind: str, name: object) -> str:
    return f"没有这个{_KIND_ZH[kind]}：{name!r} / unknown {kind} {name!r}"


def _choices(expected: object) -> str:
    """pydantic's "'a', 'b' or 'c'" as a Chinese list."""
    return re.sub(r",\s*|\s+or\s+", "、", str(expected))


# pydantic's own messages by error type: the Chinese beside its English.
_PYDANTIC_ZH: dict[str, str] = {
    "extra_forbidden": "没有这个配置项（请检查拼写和缩进）",
    "missing": "缺少此项（必填）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数，不能带小数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字（字符串）",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "dict_type": "应为“键: 值”的映射",
    "model_type": "应为“键: 值”的映射",
    "model_attributes_type": "应为“键: 值”的映射",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "string_pattern_mismatch": "格式不对（应符合 {pattern}）",
    "literal_error": "只能是 {expected}",
    "enum": "只能是 {expected}",
    "union_tag_invalid": "{discriminator} 的值 '{tag}' 不对，只能是 {expected_tags}",
    "union_tag_not_found": "缺少 {discriminator}（据此区分种类）",
    "url_parsing": "不是有效的网址",
    "url_type": "不是有效的网址",
    "url_scheme": "网址应以 {expected_schemes} 开头",
    "url_syntax_violation": "不是有效的网址",
    "datetime_parsing": "不是有效的日期时间（例如 2026-01-31T08:30:00+08:00）",
    "datetime_type": "不是有效的日期时间（例如 2026-01-31T08:30:00+08:00）",
    "datetime_from_date_parsing": "不是有效的日期时间（例如 2026-01-31T08:30:00+08:00）",
    "date_parsing": "不是有效的日期（YYYY-MM-DD）",
    "date_type": "不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "不是有效的日期（YYYY-MM-DD）",
    "time_parsing": "不是有效的时间（HH:MM）",
    "time_type": "不是有效的时间（HH:MM）",
    "timedelta_parsing": "不是时长（可写 30s、15m、5h、2d 等）",
    "timedelta_type": "不是时长（可写 30s、15m、5h、2d 等）",
}
_LISTED = ("expected", "expected_tags", "expected_schemes")
# The patterns the settings use, said in words.
_PATTERN_ZH = {
    r"^[A-Za-z0-9_.\-]+$": "只能由英文字母、数字和 _ . - 组成",
    r"^([01]\d|2[0-3]):[0-5]\d$": "应为 HH:MM 格式的时刻，例如 08:30",
    r"^https?://[^\s/?#]+(/[^\s?#]*)?$": "应为 http:// 或 https:// 开头的网址",
}


def pydantic_message(err: Any) -> str:
    """One pydantic error for people: "中文 / pydantic's English". Our validators'
    messages (value_error) are bilingual already; a type not known here keeps
    pydantic's text as it is."""
    msg = str(err["msg"]).removeprefix("Value error, ")
    template = _PYDANTIC_ZH.get(err["type"])
    pattern = (err.get("ctx") or {}).get("pattern")
    if err["type"] == "string_pattern_mismatch" and pattern in _PATTERN_ZH:
        template = _PATTERN_ZH[pattern]
    if template is None:
        return msg
    ctx = {k: (_choices(v) if k in _LISTED else v) for k, v in (err.get("ctx") or {}).items()}
    try:
        zh = template.format(**ctx)
    except (KeyError, IndexError):  # a context this pydantic does not give
        return msg
    return f"{zh} / {msg}"
