"""The floors of ARCHITECTURE.md hold, and a package's plug-ins (search backends,
channels, rule kinds, spiders) are reached only through its face: import-linter's
contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_runs_back_up_a_floor() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert f"{len(config['contracts'])} kept, 0 broken" in done.stdout


def test_every_package_of_the_house_stands_on_a_floor() -> None:
    # a new top-level package must be given its floor, or the contract would not see it
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(config["root_packages"])
    (floors,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    on_floors = {p.strip() for floor in floors for p in floor.split("|")}
    assert on_floors == packages
