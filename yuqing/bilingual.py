"""Errors the floors word for people read "中文 / English": the Chinese half for the
console and a Chinese CLI, the English half (the text logs and tests grep) for an
English one. The CLI and the console pick a half; a message built around another
one takes the matching half of it (:func:`halves`)."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Values an English half may quote or name (a Chinese area name, a path, a dotted
# key such as duty_desks.城关镇): not its language.
_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\S*[./]\S*")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_SEP = re.compile(r" ?/ ")


def split(message: str) -> tuple[str, str] | None:
    """(Chinese, English) of a bilingual message, or None: the first " / " with
    Chinese before it and none after (outside quoted values)."""
    for sep in _SEP.finditer(message):
        zh, en = message[: sep.start()], message[sep.end() :]
        if _CJK.search(zh) and not _CJK.search(_VALUE.sub(" ", en)):
            return zh, en
    return None


def halves(message: object) -> tuple[str, str]:
    """(Chinese, English) of a message; one that is not bilingual is both."""
    text = str(message)
    found = split(text)
    return found if found else (text, text)


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(_VALUE.sub(" ", text)))


def first_cjk(text: str) -> int:
    """Where the first Chinese character outside quoted values is, or -1."""
    masked = _QUOTED.sub(lambda m: " " * len(m[0]), text)
    found = _CJK.search(masked)
    return found.start() if found else -1
