"""The CLI's language: Chinese by default, English where the locale asks for it.

The first of LANGUAGE, LC_ALL, LC_MESSAGES and LANG that is set decides: one starting
with ``en`` gives English, anything else (``zh_CN.UTF-8``, ``C.UTF-8``) Chinese. The
texts are gettext catalogues, ``runtime/cli/locale/<lang>/LC_MESSAGES/yuqing.po`` (the
English in the code is the msgid) compiled to ``.mo`` beside it; they hold our help
texts and click's own (Usage, Options, its error messages), which click looks up
through the stdlib gettext module's domain. ``python -m runtime.cli.i18n`` lists help
texts and messages the catalogue lacks and compiles the .po (Babel, a dev dependency).

What a command prints for people goes through :func:`_`, with ``str.format`` fields so
the msgid stays a constant the catalogue can key::

    from runtime.cli.i18n import _
    raise click.ClickException(_("no scheme named {name}").format(name=name))

Not translated: ``--json`` output, log lines, values (ids, names, paths) and option names.
"""

from __future__ import annotations

import ast
import gettext
import inspect
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import click

from yuqing.bilingual import first_cjk, split

DOMAIN = "yuqing"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "zh_CN"
_ORIGINAL = "_yuqing_msgids"


def language(env: Mapping[str, str]) -> str:
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key)
        if value:
            return "en" if value.lower().startswith("en") else DEFAULT
    return DEFAULT


def _(message: str) -> str:
    """``message`` (the English msgid) in the locale's language, read at call time so a
    test or a caller that changes LANGUAGE gets it at once (the catalogue is cached)."""
    lang = language(os.environ)
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True).gettext(message)


def lang() -> str:
    """ "zh" or "en", for the lower floors' ``lang`` arguments (e.g. describe_version)."""
    return "en" if language(os.environ) == "en" else "zh"


def one_language(message: str) -> str:
    """The locale's half of a lower floor's bilingual message ("中文 / English", as the
    floors word their errors), line by line; any other line as it is. A line that wraps
    one in words of its own (``"config: " + problem``, already in the locale's
    language) keeps them: in English, the Chinese half is taken to start after the
    last ": " before its first Chinese character."""
    return "\n".join(_one_line(line) for line in message.split("\n"))


def _one_line(line: str) -> str:
    found = split(line)
    if found is None:
        return line
    zh, en = found
    if lang() != "en":
        return zh
    start = zh.rfind(": ", 0, max(first_cjk(zh), 0))
    return (zh[: start + 2] if start >= 0 else "") + en


def install(cli: click.Command, env: Mapping[str, str] | None = None) -> str:
    """Put the CLI (help texts and click's messages) in the locale's language."""
    lang = language(os.environ if env is None else env)
    t = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    # click's own messages go through gettext.gettext: the global domain and language
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang
    for cmd in _commands(cli):
        _translate(cmd, t)
        # click builds --help's option once per command, in the language of that moment
        if hasattr(cmd, "_help_option"):
            cmd._help_option = None
    return lang


def _commands(cmd: click.Command) -> Iterator[click.Command]:
    yield cmd
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            yield from _commands(sub)


def _texts(cmd: click.Command) -> list[tuple[object, str]]:
    """(holder, attribute) of every help text of a command and its options."""
    out: list[tuple[object, str]] = [(cmd, "help"), (cmd, "short_help"), (cmd, "epilog")]
    out += [(p, "help") for p in cmd.params if isinstance(p, click.Option)]
    return out


def _translate(cmd: click.Command, t: gettext.NullTranslations) -> None:
    for holder, attr in _texts(cmd):
        originals: dict[str, str | None] = holder.__dict__.setdefault(_ORIGINAL, {})
        if attr not in originals:
            originals[attr] = getattr(holder, attr, None)
        text = originals[attr]
        if text:
            msgid = inspect.cleandoc(text)
            found = t.gettext(msgid)
            setattr(holder, attr, text if found == msgid else found)


def msgids(cli: click.Command) -> list[str]:
    """Every help text of the CLI, as the catalogue keys them."""
    seen: dict[str, None] = {}
    for cmd in _commands(cli):
        for holder, attr in _texts(cmd):
            originals = holder.__dict__.get(_ORIGINAL, {})
            text = originals.get(attr, getattr(holder, attr, None))
            if text:
                seen.setdefault(inspect.cleandoc(text))
    return list(seen)


def message_msgids(folder: Path = Path(__file__).parent) -> list[str]:
    """Every constant ``_("...")`` msgid in the CLI's modules, found in their source."""
    seen: dict[str, None] = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                seen.setdefault(node.args[0].value)
    return list(seen)


def _compile(lang: str = DEFAULT) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    with (folder / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    with (folder / f"{DOMAIN}.mo").open("wb") as f:
        write_mo(f, catalog)


if __name__ == "__main__":  # dev tool: report untranslated texts, compile the catalogue
    from babel.messages.pofile import read_po

    from runtime.cli import cli

    with (LOCALE_DIR / DEFAULT / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        have = {m.id for m in read_po(f) if m.string}
    missing = [m for m in [*msgids(cli), *message_msgids()] if m not in have]
    for m in missing:
        print(f"untranslated: {m!r}", file=sys.stderr)
    _compile()
    sys.exit(1 if missing else 0)
