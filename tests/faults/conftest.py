"""Fixtures of the fault tests: one trained model for the session, fault durations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_kit import CONFIG_DIR

from yuqing.settings import load_config


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The classifier trained once on the demo corpus; tests copy it into their var dir."""
    from runtime.app import App

    var = tmp_path_factory.mktemp("models-var")
    app = App(load_config(CONFIG_DIR, {"YUQING_VAR_DIR": str(var)}))
    app.model(demo=True)  # the demo model: these tests crawl the demo site
    app.close()
    yield var / "models"
