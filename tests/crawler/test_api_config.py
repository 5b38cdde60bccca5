"""api sources in config: ${ENV} references resolved by the settings loader, dotted paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crawler.runner import spider_for
from crawler.spiders.api import _MISSING, dotted
from tests.crawler.robust_site import API_ENV, sources_yaml
from yuqing.settings import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(sources_yaml("http://127.0.0.1:9"), encoding="utf-8")
    return directory


def test_env_references_resolved_by_the_loader(config_dir: Path) -> None:
    config = load_config(config_dir, API_ENV)
    api = config.source("robust-api").api
    assert api is not None
    assert api.headers == {"X-Token": API_ENV["ROBUST_API_TOKEN"]}
    assert api.cookies == {"session": API_ENV["ROBUST_SESSION"]}
    assert spider_for(config.source("robust-api")).name == "api"


def test_missing_env_variable_names_the_key(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir, {"ROBUST_SESSION": "x"})
    where = "sources.yaml: sources.5.api.headers.X-Token: "
    assert [str(p) for p in info.value.problems] == [
        f"{where}环境变量 ROBUST_API_TOKEN 未设置 / "
        f"{where}environment variable ROBUST_API_TOKEN is not set"
    ]


def test_unknown_api_field_and_missing_spec(config_dir: Path) -> None:
    path = config_dir / "sources.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("title: subject}", "titel: subject}"),
        encoding="utf-8",
    )
    config = load_config(config_dir, API_ENV)
    with pytest.raises(ValueError, match="unknown fields \\['titel'\\]"):
        spider_for(config.source("robust-badapi"))
    path.write_text(
        "sources:\n  - {name: x, kind: api, url: 'http://127.0.0.1:9/'}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="an api source needs api"):
        load_config(config_dir, {})


def test_dotted_paths() -> None:
    data = {"data": {"list": [{"a": {"b": 1}}], "next": None}}
    assert dotted(data, "data.list.0.a.b") == 1
    assert dotted(data, "data.list.-1.a") == {"b": 1}
    assert dotted(data, "data.next") is None
    assert dotted(data, "data.nope") is _MISSING
    assert dotted(data, "data.list.5") is _MISSING
    assert dotted(data, "") is data
