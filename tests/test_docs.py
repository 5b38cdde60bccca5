"""The README keeps up with the code (the datasette habit): a setting or an environment
variable that is read but not documented fails here, naming the row to add."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from yuqing.settings import ENV_OVERRIDES, Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGES = ("yuqing", "store", "crawler", "alerts", "index", "console", "classifier")


def _setting_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Dotted keys of settings.yaml: sections are walked, lists of records are one key."""
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _setting_keys(kind, f"{prefix}{name}.")
        else:
            yield prefix + name


def _first_cells(heading: str) -> set[str]:
    """Names in backticks in the first column of the table that follows ``heading``."""
    start = README.index(heading)
    names: set[str] = set()
    seen_table = False
    for line in README[start:].splitlines()[1:]:
        if line.startswith("|"):
            seen_table = True
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
        elif seen_table:
            break
    return names


def test_every_setting_is_documented() -> None:
    documented = _first_cells("`settings.yaml` keys")
    missing = [k for k in _setting_keys(Settings) if k not in documented]
    assert not missing, (
        f"settings.yaml keys missing from README's table under '`settings.yaml` keys': "
        f"{missing}; add a row | `key` | default | what | for each"
    )
    stale = documented - set(_setting_keys(Settings))
    assert not stale, f"README documents settings that no longer exist: {sorted(stale)}"


def test_every_environment_variable_is_documented() -> None:
    documented = _first_cells("Environment variables")
    assert set(ENV_OVERRIDES) == documented, (
        f"yuqing.settings ENV_OVERRIDES and README's environment table differ: "
        f"only in code {sorted(set(ENV_OVERRIDES) - documented)}, "
        f"only in README {sorted(documented - set(ENV_OVERRIDES))}"
    )


def test_no_variable_is_read_outside_the_table() -> None:
    # The loader reads env["YUQING_…"]; a module reading os.environ for a YUQING_ name
    # not in ENV_OVERRIDES would be a setting nobody can find.
    read = re.compile(
        r"""(?:environ\.get\(|environ\[|getenv\(|env\.get\(|env\[)\s*["'](YUQING_\w+)["']"""
    )
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for name in read.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, str(path.relative_to(ROOT)))
    assert "YUQING_REDIS_URL" in found  # the scan sees the loader
    unlisted = {n: p for n, p in found.items() if n not in ENV_OVERRIDES}
    assert not unlisted, f"environment variables read but not in ENV_OVERRIDES: {unlisted}"
