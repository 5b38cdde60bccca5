"""The CLI's help is Chinese under the default locale and English where asked for."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from runtime.cli import cli, main
from runtime.cli.i18n import language

# An English sentence: three or more English words in a row (option names, file names,
# placeholders and the like are stripped first).
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,}){2,}\b")
NOT_PROSE = re.compile(
    r"--?[\w-]+|\$?[A-Z_]{3,}\b|[\w./-]+\.(?:yaml|json|html|pdf|csv|jsonl|xlsx|htm)\b|"
    r"`[^`]*`|\[[^\]]*\]|<[^>]*>|\b(?:yuqing|Usage|Authorization: Bearer)\b[\w -]*"
)


def _helps(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(cmd: click.Command, path: list[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main([*path, "--help"])
        assert info.value.code == 0
        out[" ".join(["yuqing", *path])] = capsys.readouterr().out
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(cli, [])
    return out


def test_every_help_is_chinese_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    helps = _helps(capsys)
    assert len(helps) > 40
    for path, text in helps.items():
        assert "用法：" in text and "选项" in text, path
        prose = NOT_PROSE.sub(" ", text)
        english = ENGLISH.findall(prose)
        assert not english, f"{path}: English left: {english}"


def test_english_where_the_locale_asks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANGUAGE", "en_US:en")
    with pytest.raises(SystemExit):
        main(["alerts", "--help"])
    out = capsys.readouterr().out
    assert "Usage: yuqing alerts" in out and "List alerts, nearest deadline first." in out


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({}, "zh_CN"),
        ({"LANG": "C.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANGUAGE": "zh_CN", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ],
)
def test_language_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert language(env) == lang


def test_the_compiled_catalogue_matches_its_source() -> None:
    """yuqing.mo is compiled from yuqing.po (python -m runtime.cli.i18n) and committed."""
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from runtime.cli.i18n import DOMAIN, LOCALE_DIR, msgids

    folder = LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
    with (folder / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    buf = io.BytesIO()
    write_mo(buf, catalog)
    assert buf.getvalue() == (folder / f"{DOMAIN}.mo").read_bytes()
    have = {m.id for m in catalog if m.string}
    assert [m for m in msgids(cli) if m not in have] == []


# What the commands print: Chinese by default, English where the locale asks for it.
PATHS = re.compile(r"\S*/\S*")


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out + err


@pytest.fixture
def _store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    for k in ("YUQING_DATABASE_URL", "YUQING_ES_URL", "YUQING_CONFIG"):
        monkeypatch.delenv(k, raising=False)


MESSAGES = [  # (arguments, exit status, Chinese needle, English needle)
    (["schemes", "list"], 0, "尚无监测方案", "no schemes; add one with"),
    (["events", "list"], 0, "没有事件", "no events"),
    (["sentiment", "show"], 1, "没有负面倾向模型", "no negativity model in"),
    (["alerts", "show", "999"], 1, "告警 999 不存在", "alert 999 not found"),
    (
        ["schemes", "add", "停水", "--must", "停水", "--alert-tier", "V"],
        2,
        "没有等级 'V'",
        "unknown tier 'V': use I, II, III, IV or 1-4",
    ),
    (["alerts", "list"], 0, "编号  等级  状态", "No.  Tier  Status"),
    (["alerts", "list", "--team", "nobody"], 2, "没有责任单位 'nobody'", "unknown team 'nobody'"),
    (["search", "x", "--since", "someday"], 2, "不是日期", "is not a date"),
    (["users", "disable", "nobody"], 2, "没有用户 'nobody'", "no user 'nobody'"),
    (["search", "tier:V"], 2, "可用 I、II、III、IV 或 1-4", "unknown tier 'V'"),
    (["search", "!!!"], 2, "中没有可检索的词", "nothing to search for in '!!!'"),
    (["search", "category:"], 2, "需要一个值", "needs a value"),
    (["search", "路灯 sort:oldest"], 2, "请写 sort:newest", "use sort:newest or sort:relevance"),
    (["crawl"], 2, "请给出 SOURCE 或 --all", "give a SOURCE or --all"),
    # the lower floors' errors, worded "中文 / English" where they are raised
    (["crawl", "nosuch"], 2, "没有来源 'nosuch'", "unknown source 'nosuch' (known: demo-board"),
    (
        ["import", "--source", "nosuch", "config/sources.yaml"],
        2,
        "没有来源 'nosuch'",
        "unknown source 'nosuch' (known: demo-board",
    ),
    (
        ["classifier", "train", "--data", "/nonexistent.jsonl"],
        2,
        "没有这个文件：/nonexistent.jsonl",
        "/nonexistent.jsonl: no such file",
    ),
    (["classifier", "promote", "77"], 2, "没有模型版本 '77'", "no model version '77' in"),
    (["classifier", "rollback"], 2, "当前没有启用的模型", "no active model to roll back from"),
    (["alerts", "triage", "confirm", "5"], 1, "告警 5 不存在", "alert 5 not found"),
    (
        ["alerts", "silence", "--area", "云溪县", "--for", "1h", "--reason", " "],
        2,
        "请填写静默的理由",
        "a silence needs a reason",
    ),
    (
        ["report", "daily", "--date", "2026-13-01", "--out", "b.html"],
        2,
        "'2026-13-01' 不是日期",
        "'2026-13-01' is not a date (YYYY-MM-DD)",
    ),
    (
        ["report", "monthly", "--out", "b.html"],
        2,
        "'monthly' 不在可选值",
        "'monthly' is not one of",
    ),
    (
        ["sentiment", "train", "--data", "config/sources.yaml"],
        1,
        "应为含 text 和 label_name 的 JSON 对象",
        "not a JSON object with text and label_name",
    ),
]


@pytest.mark.usefixtures("_store")
@pytest.mark.parametrize(("args", "code", "zh", "en"), MESSAGES)
def test_messages_are_chinese_by_default(
    args: list[str],
    code: int,
    zh: str,
    en: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    status, text = _run(["--config", str(config_dir), *args], capsys)
    assert status == code and zh in text, text
    english = ENGLISH.findall(NOT_PROSE.sub(" ", PATHS.sub(" ", text)))
    assert not english, f"{args}: English left: {english} in {text!r}"


@pytest.mark.usefixtures("_store")
@pytest.mark.parametrize(("args", "code", "zh", "en"), MESSAGES)
def test_messages_in_english_where_asked(
    args: list[str],
    code: int,
    zh: str,
    en: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    status, text = _run(["--config", str(config_dir), *args], capsys)
    assert status == code and en in text and zh not in text, text


def test_every_message_is_in_the_catalogue_with_its_fields() -> None:
    """Each _("...") msgid of the command modules has a translation that keeps its
    str.format fields (a missing or renamed field would raise at run time)."""
    from string import Formatter

    from babel.messages.pofile import read_po

    from runtime.cli.i18n import DOMAIN, LOCALE_DIR, message_msgids

    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        have = {m.id: m.string for m in read_po(f, locale="zh_CN") if m.string}
    ids = message_msgids()
    assert len(ids) > 100 and "no events" in ids
    assert [m for m in ids if m not in have] == []

    def fields(text: str) -> list[str]:
        return sorted(name for _, name, _, _ in Formatter().parse(text) if name)

    assert [m for m in ids if fields(m) != fields(have[m])] == []


def test_tables_line_up_with_chinese_headers() -> None:
    from runtime.cli.common import table

    lines = table(["编号", "等级", "标题"], [["#1", "II", "停水"], ["#12345", "IV", "x"]])
    from wcwidth import wcswidth

    # the third column starts at the same display cell on every line
    starts = {
        wcswidth(line[: line.index(cell)])
        for line, cell in zip(lines, ["标题", "停水", "x"], strict=True)
    }
    assert len(starts) == 1


def test_the_sentiment_caution_is_the_classifiers_own_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from classifier.sentiment import CAUTION_ZH
    from runtime.cli.i18n import _

    monkeypatch.setenv("LANGUAGE", "zh_CN")
    english = (
        "negativity is the model's estimate (trained on Weibo emotion texts): read it "
        "as a trend, not as a verdict on a single post"
    )
    assert _(english) == CAUTION_ZH


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh_CN", "告警 5 已结束，不能转办"), ("en", "alert 5 is resolved")],
)
def test_a_lower_floors_bilingual_error_shows_one_language(
    language: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.cli.i18n import one_language

    monkeypatch.setenv("LANGUAGE", language)
    assert one_language("告警 5 已结束，不能转办 / alert 5 is resolved") == expected
    assert one_language("理由过长（上限 200 字）/ the reason is too long") != (
        "理由过长（上限 200 字）/ the reason is too long"
    )
    assert one_language("see a/ b / c") == "see a/ b / c"  # not bilingual: as it is


BROKEN_CONFIG = [  # (settings.yaml text, replaced by, Chinese, English)
    ("timezone: Asia/Shanghai", "timezone: Asia/Shanghai\nbogus: 1",
     "settings.yaml: bogus: 没有这个配置项", "settings.yaml: bogus: Extra inputs are not permitted"),
    ("port: 8000", "port: eighty", "settings.yaml: console.port: 应为整数",
     "settings.yaml: console.port: Input should be a valid integer"),
    ("timezone: Asia/Shanghai", "timezone: Mars/Base", "settings.yaml: timezone: 没有这个时区",
     "settings.yaml: timezone: unknown time zone 'Mars/Base'"),
]  # fmt: skip


@pytest.mark.usefixtures("_store")
@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize(("old", "new", "zh", "en"), BROKEN_CONFIG)
@pytest.mark.parametrize("command", [["config", "check"], ["alerts", "list"]])
def test_config_problems_in_the_locales_language(
    command: list[str],
    old: str,
    new: str,
    zh: str,
    en: str,
    language: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LANGUAGE", language)
    settings = config_dir / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    status, text = _run(["--config", str(config_dir), *command], capsys)
    assert status == 2, text
    if language == "en":
        assert en in text and zh.split(": ")[-1] not in text, text
        return
    assert zh in text and en.split(": ")[-1] not in text, text
    english = ENGLISH.findall(NOT_PROSE.sub(" ", PATHS.sub(" ", text)))
    assert not english, f"{command}: English left: {english} in {text!r}"


def test_a_wrapped_bilingual_error_keeps_its_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI sentence around a lower floor's error ("config: " + problem) keeps its own
    words in either language; a line of a list is read on its own."""
    from runtime.cli.i18n import one_language

    text = "config: settings.yaml: console.port: 不能小于 0 / Input should be greater than 0"
    monkeypatch.setenv("LANGUAGE", "en")
    assert (
        one_language(text) == "config: settings.yaml: console.port: Input should be greater than 0"
    )
    two = "没有来源 'x' / unknown source 'x'\n没有类别 '停水' / unknown category '停水'"
    assert one_language(two) == "unknown source 'x'\nunknown category '停水'"
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert one_language(two) == "没有来源 'x'\n没有类别 '停水'"


AWAY = [  # (variable, address nobody answers at, arguments, exit status, Chinese, English)
    ("YUQING_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none", ["alerts", "list"], 1,
     "连不上数据库 postgresql+psycopg://nobody@127.0.0.1:1/none：连接被拒绝",
     "cannot reach the database postgresql+psycopg://nobody@127.0.0.1:1/none: "),
    ("YUQING_REDIS_URL", "redis://127.0.0.1:1/0", ["crawler-worker", "status"], 1,
     "连不上共享队列的 Redis", "the frontier's Redis is unreachable"),
]  # fmt: skip


@pytest.mark.usefixtures("_store")
@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize(("variable", "url", "args", "code", "zh", "en"), AWAY)
def test_an_unreachable_service_in_the_locales_language(
    variable: str,
    url: str,
    args: list[str],
    code: int,
    zh: str,
    en: str,
    language: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LANGUAGE", language)
    monkeypatch.setenv(variable, url)
    status, text = _run(["--config", str(config_dir), *args], capsys)
    needle = zh if language == "zh_CN" else en
    assert status == code and needle in text and len(text.strip().splitlines()) == 1, text
    if language == "zh_CN":
        assert not ENGLISH.findall(NOT_PROSE.sub(" ", PATHS.sub(" ", text))), text


@pytest.mark.usefixtures("_store")
@pytest.mark.parametrize(
    ("language", "needle"),
    [
        ("zh_CN", "h.csv：找不到 '工单号' 列（对应 external_id），现有的列：['a', 'b']"),
        ("en", "h.csv: column '工单号' (for external_id) not found; columns are ['a', 'b']"),
    ],
)
def test_an_import_missing_a_column_in_the_locales_language(
    language: str,
    needle: str,
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LANGUAGE", language)
    with (config_dir / "sources.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {name: hotline, kind: file, fields: {external_id: 工单号, text: 内容}}\n")
    (tmp_path / "h.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    status, text = _run(
        ["--config", str(config_dir), "import", "--source", "hotline", "h.csv"], capsys
    )
    assert status == 2 and needle in text and len(text.strip().splitlines()) == 1, text
