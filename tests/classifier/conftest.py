from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from classifier.model import TrainedModel
from classifier.training import train
from tests.classifier.synthetic import examples
from yuqing.settings import TaxonomyFile

TAXONOMY_YAML = Path(__file__).resolve().parents[2] / "config" / "taxonomy.yaml"


@pytest.fixture(scope="session")
def taxonomy() -> TaxonomyFile:
    return TaxonomyFile.model_validate(yaml.safe_load(TAXONOMY_YAML.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def model(taxonomy: TaxonomyFile) -> TrainedModel:
    """Trained once for the session; tests must not change it (copy if needed)."""
    return train(examples(), taxonomy)
