from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from classifier.model import TrainedModel
from classifier.training import train
from runtime.cli import main
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


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The CLI as a user runs it: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, config_dir: Path, var_env: dict[str, str]) -> list[str]:
    """The CLI's environment: a private config and var dir, the default database."""
    for k, v in var_env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    return ["--config", str(config_dir)]
