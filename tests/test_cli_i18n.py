"""The CLI's help is Chinese under the default locale and English where asked for."""

from __future__ import annotations

import re

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
