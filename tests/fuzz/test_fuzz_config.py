"""load_config on mutated YAML: the bundled config with values replaced by wrong types,
huge numbers and unicode, keys deleted and unknown keys added, or files that are not
YAML at all -> an AppConfig or a ConfigError whose problems read `file: key: message`,
never another exception."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from yuqing.settings import CONFIG_FILES, AppConfig, ConfigError, load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"
ORIGINAL = {
    stem: yaml.safe_load((CONFIG_DIR / f"{stem}.yaml").read_text(encoding="utf-8")) or {}
    for stem in CONFIG_FILES
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "1e400",
            "99999999999999999999d",
            "-5m",
            "1.5",
            "II",
            "V",
            "红",
            "0",
            "08:30",
            "25:00",
            "* * * * *",
            "61 * * * *",
            "${UNSET}",
            "gbk",
            "东湖街道",
            "1970-01-01",
            "not-a-date",
        ]
    ),  # fmt: skip
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.integers(-3, 5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    docs = copy.deepcopy(ORIGINAL)
    for _ in range(draw(st.integers(1, 4))):
        stem = draw(st.sampled_from(CONFIG_FILES))
        paths = _paths(docs[stem])
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if action == "replace":
                docs[stem] = draw(values)
            continue
        parent: Any = docs[stem]
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=8))] = draw(values)
        elif isinstance(parent[key], list):
            parent[key].append(draw(values))
    return docs


def check(directory: Path, env: dict[str, str] | None = None) -> None:
    try:
        config = load_config(directory, env or {})
    except ConfigError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file and p.key and p.message, p
            assert str(p).startswith(f"{p.file}: {p.key}: ")
        return
    assert isinstance(config, AppConfig)


_FUZZ = settings(
    max_examples=max(40, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_FUZZ
@given(mutated(), st.booleans())
@example({**ORIGINAL, "alerts": {**ORIGINAL["alerts"], "tiers": {1.5: {}}}}, False)
@example({**ORIGINAL, "settings": {"scheduler": {"pipeline_interval": 10**30}}}, False)
@example({**ORIGINAL, "settings": {"scheduler": {"pipeline_interval": float("inf")}}}, False)
@example({**ORIGINAL, "settings": {"scheduler": {"pipeline_interval": "99999999999999d"}}}, False)
@example({**ORIGINAL, "settings": {"console": [1, 2]}}, True)
@example({**ORIGINAL, "settings": {"": 1}}, False)  # an empty key named the problem ""
@example({**ORIGINAL, "sources": {"sources": [{"name": "a", "kind": "api", "api": [1]}]}}, False)
def test_mutated_configs_load_or_explain(
    tmp_path: Path, docs: dict[str, Any], with_env: bool
) -> None:
    directory = tmp_path / "config"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    for stem, doc in docs.items():
        text = yaml.safe_dump(doc, allow_unicode=True)
        (directory / f"{stem}.yaml").write_text(text, encoding="utf-8")
    env = {"YUQING_ADMIN_PASSWORD": "long enough pw", "YUQING_ES_URL": "http://127.0.0.1:1"}
    check(directory, env if with_env else None)


@_FUZZ
@given(
    st.sampled_from(CONFIG_FILES), st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
)
@example("settings", b"a: &a [*a]")
@example("settings", b"[" * 2000)
@example("teams", b"\xff\xfe")
@example("areas", b"? [a, b]\n: c")
@example("alerts", b"!!python/object:os.system {}")
def test_files_that_are_not_yaml_are_named(tmp_path: Path, stem: str, data: bytes) -> None:
    directory = tmp_path / "config"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(CONFIG_DIR, directory)
    (directory / f"{stem}.yaml").write_bytes(data)
    check(directory)
