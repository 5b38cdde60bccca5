"""Hypothesis profiles for the property-based and fuzz tests.

``ci`` (the default) keeps ``make test`` quick; ``fuzz`` (``HYPOTHESIS_PROFILE=fuzz``,
``make fuzz``) runs many more examples. No deadline in either: these tests look for
crashes and leaks, not for speed, and a shared 2-core machine makes timings noisy.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_COMMON = {
    "deadline": None,
    "suppress_health_check": (HealthCheck.too_slow, HealthCheck.data_too_large),
    "print_blob": True,
}
# ci: the same examples every run, so a red CI means a change, not a new random draw;
# `make fuzz` explores (random, many more examples).
settings.register_profile("ci", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    # failing examples are replayed first next time; var/ is ignored by git
    database=DirectoryBasedExampleDatabase(Path(__file__).parents[2] / "var" / "hypothesis"),
    **_COMMON,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
