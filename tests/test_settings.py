from __future__ import annotations

from pathlib import Path

import pytest

from yuqing.settings import ConfigError, load_config, parse_duration

from .conftest import CONFIG_DIR


def test_bundled_config_is_valid() -> None:
    cfg = load_config(CONFIG_DIR)
    assert cfg.settings.index.backend == "embedded"
    assert {s.name for s in cfg.sources.sources} >= {"demo-board", "demo-feed"}
    assert set(cfg.taxonomy.severity) == {1, 2, 3, 4}
    assert cfg.teams.triage_team in cfg.teams.by_id()


def test_env_overrides_store_and_index(tmp_path: Path) -> None:
    cfg = load_config(
        CONFIG_DIR,
        {
            "YUQING_DATABASE_URL": "postgresql://u@127.0.0.1/db",
            "YUQING_ES_URL": "http://127.0.0.1:9200",
            "YUQING_VAR_DIR": str(tmp_path),
        },
    )
    assert cfg.database_url == "postgresql://u@127.0.0.1/db"
    assert cfg.settings.index.backend == "elasticsearch"
    assert cfg.settings.index.es_url == "http://127.0.0.1:9200"
    assert cfg.var_dir == tmp_path.resolve()


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    cfg = load_config(CONFIG_DIR, {"YUQING_VAR_DIR": str(tmp_path)})
    assert cfg.database_url == f"sqlite:///{tmp_path.resolve() / 'yuqing.db'}"


def _problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return [str(p) for p in info.value.problems]


def test_every_problem_is_reported_as_file_key_message(config_dir: Path) -> None:
    (config_dir / "settings.yaml").write_text("console:\n  port: 99999\nbogus: 1\n")
    (config_dir / "alerts.yaml").write_text("tiers:\n  I: {acknowledge: 15m, respond: 5h}\n")
    (config_dir / "taxonomy.yaml").write_text(
        (config_dir / "taxonomy.yaml")
        .read_text()
        .replace("uncertain_label: 待分拣", "uncertain_label: 待分拣\nfoo: 1")
    )
    problems = _problems(config_dir)
    assert any(p.startswith("settings.yaml: console.port: ") for p in problems), problems
    assert any(p.startswith("settings.yaml: bogus: ") for p in problems), problems
    assert any(p.startswith("alerts.yaml: tiers: ") for p in problems), problems
    assert any(p.startswith("taxonomy.yaml: foo: ") for p in problems), problems


def test_bad_duration_names_its_key(config_dir: Path) -> None:
    text = (config_dir / "alerts.yaml").read_text()
    (config_dir / "alerts.yaml").write_text(
        text.replace("{acknowledge: 15m, respond: 5h}", "{acknowledge: soon, respond: 5h}")
    )
    (p,) = _problems(config_dir)
    assert p.startswith("alerts.yaml: tiers.I.acknowledge: ") and "not a duration" in p


def test_broken_yaml_names_line(config_dir: Path) -> None:
    (config_dir / "sources.yaml").write_text("sources:\n  - name: x\n   kind: [\n")
    (p,) = _problems(config_dir)
    assert p.startswith("sources.yaml: line ") and "invalid YAML" in p


def test_missing_file(config_dir: Path) -> None:
    (config_dir / "teams.yaml").unlink()
    path = config_dir / "teams.yaml"
    assert _problems(config_dir) == [
        f"teams.yaml: (file): 缺少此文件，应在 {path} / "
        f"teams.yaml: (file): missing: expected {path}"
    ]


def test_cross_file_references(config_dir: Path) -> None:
    text = (config_dir / "teams.yaml").read_text()
    (config_dir / "teams.yaml").write_text(text.replace("areas: [文昌社区]", "areas: [不存在社区]"))
    problems = _problems(config_dir)
    assert any("teams.yaml: teams." in p and "unknown area '不存在社区'" in p for p in problems)


def test_escalation_cycle_rejected(config_dir: Path) -> None:
    text = (config_dir / "teams.yaml").read_text()
    text = text.replace(
        "{id: county-centre, name: 云溪县舆情应对中心, level: county, areas: [云溪县], channels: [log]}",
        "{id: county-centre, name: 云溪县舆情应对中心, level: county, areas: [云溪县], parent: chengguan}",
    )
    (config_dir / "teams.yaml").write_text(text)
    assert any("loops" in p for p in _problems(config_dir))


def test_board_source_needs_selectors(config_dir: Path) -> None:
    (config_dir / "sources.yaml").write_text(
        "sources:\n  - {name: b, kind: board, url: 'http://127.0.0.1/'}\n"
    )
    assert any(
        p.startswith("sources.yaml: sources.0: ") and "selectors" in p
        for p in _problems(config_dir)
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("5h", 18000), ("2d", 172800), (45, 45)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["soon", "-5m", "0", "5 years", True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


# pydantic's own messages, and ours: "中文 / English", pydantic's English kept as it is.
BROKEN = [  # (file, text, replaced by, Chinese, English)
    ("settings.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\nbogus: 1",
     "bogus: 没有这个配置项", "bogus: Extra inputs are not permitted"),
    ("settings.yaml", "port: 8000", "port: eighty", "应为整数", "Input should be a valid integer"),
    ("settings.yaml", "port: 8000", "port: 80.5", "应为整数，不能带小数", "fractional part"),
    ("settings.yaml", "port: 8000", "port: -1", "不能小于 0", "greater than or equal to 0"),
    ("settings.yaml", "port: 8000", "port: 70000", "不能大于 65535", "less than or equal to 65535"),
    ("settings.yaml", "uncertain_below: 0.35", "uncertain_below: abc", "应为数字",
     "Input should be a valid number"),
    ("settings.yaml", "obey_robots_txt: true", "obey_robots_txt: maybe", "应为 true 或 false",
     "Input should be a valid boolean"),
    ("settings.yaml", "timezone: Asia/Shanghai", "timezone: [a]", "应为文字",
     "Input should be a valid string"),
    ("settings.yaml", "timezone: Asia/Shanghai", "timezone: Mars/Base", "没有这个时区",
     "unknown time zone 'Mars/Base'"),
    ("settings.yaml", "backend: embedded", "backend: solr",
     "只能是 'embedded'、'elasticsearch'、'opensearch'",
     "Input should be 'embedded', 'elasticsearch' or 'opensearch'"),
    ("teams.yaml", "triage_team:", "triage_teamx:", "triage_team: 缺少此项", "Field required"),
    ("alerts.yaml", "kind: keyword", "kind: nonsense", "'kind' 的值 'nonsense' 不对",
     "Input tag 'nonsense' found using 'kind'"),
    ("alerts.yaml", "kind: keyword", "knd: keyword", "缺少 'kind'",
     "Unable to extract tag using discriminator 'kind'"),
    ("sources.yaml", "name: demo-board", "name: 'demo board!'", "只能由英文字母、数字和 _ . - 组成",
     "String should match pattern"),
    ("sources.yaml", "name: demo-board", "name: ''", "至少 1 个字符",
     "String should have at least 1 character"),
    ("alerts.yaml", "{acknowledge: 15m, respond: 5h}", "{acknowledge: soon, respond: 5h}",
     "不是时长：'soon'", "not a duration: 'soon'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "old", "new", "zh", "en"), BROKEN)
def test_every_problem_says_it_in_chinese_and_english(
    config_dir: Path, name: str, old: str, new: str, zh: str, en: str
) -> None:
    from yuqing.bilingual import split

    text = (config_dir / name).read_text(encoding="utf-8")
    assert old in text
    (config_dir / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = _problems(config_dir)
    assert any(zh in p and en in p for p in problems), problems
    halves = [split(p) for p in problems]
    assert all(halves), problems
    # each half is a whole line: file and key in both, Chinese only in the first
    for (cn, english), p in zip(halves, problems, strict=True):
        where = p.split(": ")[0] + ": "
        assert cn.startswith(where) and english.startswith(where), p
