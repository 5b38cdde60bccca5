"""The model registry: versions in the store, promote/rollback, hot reload while serving."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from classifier.bootstrap import active_version, save_version
from classifier.model import TrainedModel
from classifier.registry import Registry, RegistryError, ServingModel
from classifier.training import train
from runtime.cli import main
from store.db import Store
from tests.classifier.synthetic import examples
from yuqing.settings import TaxonomyFile

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _train(taxonomy: TaxonomyFile, n: int, minute: int) -> TrainedModel:
    return train(examples()[:n], taxonomy, clock=lambda: T0 + timedelta(minutes=minute))


@pytest.fixture(scope="module")
def three(taxonomy: TaxonomyFile) -> list[TrainedModel]:
    return [_train(taxonomy, n, i) for i, n in enumerate((30, 40, 50))]


@pytest.fixture
def registry(db_url: str, tmp_path: Path, taxonomy: TaxonomyFile) -> Registry:
    store = Store(db_url)
    yield Registry(store, tmp_path / "models", taxonomy, lambda: T0)
    store.close()


def test_promote_and_rollback_walk_the_history(
    registry: Registry, three: list[TrainedModel]
) -> None:
    for m in three:
        registry.register(m, save_version(m, registry.model_dir))
    v1, v2, v3 = (m.version for m in three)
    assert registry.promote(v1) == ""
    assert registry.promote(v2) == v1
    assert registry.promote(v3) == v2
    listed = registry.versions()
    assert [v.version for v in listed] == [v1, v2, v3]
    assert [v.active for v in listed] == [False, False, True]
    assert listed[0].data_hash == three[0].meta.data_hash and listed[0].params
    assert registry.rollback() == (v3, v2)
    assert registry.rollback() == (v2, v1)
    assert active_version(registry.model_dir) == v1
    with pytest.raises(RegistryError, match="no earlier version"):
        registry.rollback()
    with pytest.raises(RegistryError, match="no model version"):
        registry.promote("v-nope")


def test_a_damaged_version_is_not_promoted(registry: Registry, three: list[TrainedModel]) -> None:
    m1, m2 = three[0], three[1]
    for m in (m1, m2):
        save_version(m, registry.model_dir)
    registry.promote(m1.version)
    (registry.model_dir / m2.version / "category.skops").write_bytes(b"garbage")
    with pytest.raises(RegistryError, match="refusing to promote"):
        registry.promote(m2.version)
    assert active_version(registry.model_dir) == m1.version


def test_versions_found_on_disk_are_registered(
    registry: Registry, three: list[TrainedModel]
) -> None:
    from classifier.bootstrap import set_active

    save_version(three[0], registry.model_dir)
    set_active(registry.model_dir, three[0].version)  # as ensure_model does at first run
    listed = registry.versions()
    assert [(v.version, v.active) for v in listed] == [(three[0].version, True)]


def test_serving_model_follows_the_pointer(
    tmp_path: Path, taxonomy: TaxonomyFile, three: list[TrainedModel], caplog
) -> None:
    from classifier.bootstrap import set_active

    d = tmp_path / "models"
    for m in three[:2]:
        save_version(m, d)
    set_active(d, three[0].version)
    clock = [0.0]
    serving = ServingModel(three[0], d, taxonomy, 0.35, check_every=5, monotonic=lambda: clock[0])
    assert serving.classify("", "物业不管电梯").model_version == three[0].version
    set_active(d, three[1].version)
    assert serving.version == three[0].version  # not checked yet
    clock[0] = 6
    assert serving.classify("", "物业不管电梯").model_version == three[1].version
    assert serving.categories == three[1].categories  # delegated
    # A broken promotion target keeps the old model serving.
    bad = d / "v-broken"
    bad.mkdir()
    (bad / "meta.json").write_text("{}", "utf-8")
    set_active(d, "v-broken")
    clock[0] = 12
    assert serving.version == three[1].version
    assert "cannot be loaded" in caplog.text


def test_cli_list_promote_rollback(
    tmp_path: Path,
    config_dir: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
    data = tmp_path / "d.jsonl"

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(["--config", str(config_dir), "classifier", *argv])
        out, err = capsys.readouterr()
        return int(exc.value.code or 0), out, err

    versions = []
    for n in (30, 50):
        rows = [{"text": e.text, "category": e.category} for e in examples()[:n]]
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        code, out, err = run("train", "--data", str(data), "--holdout", "0")
        assert code == 0, err
        versions.append(out.split()[1])
    code, out, _ = run("list", "--json")
    listed = json.loads(out)["versions"]
    assert [v["version"] for v in listed] == versions and not any(v["active"] for v in listed)
    assert run("promote", versions[0])[0] == 0
    assert run("promote", versions[1])[0] == 0
    code, out, _ = run("rollback")
    assert code == 0 and versions[0] in out
    code, out, _ = run("list")
    assert f"* {versions[0]}" in out
    code, _, err = run("promote", "v-unknown")
    assert code == 2 and "no model version" in err


def test_app_serves_the_promoted_version(
    config_dir: Path, var_env: dict[str, str], taxonomy: TaxonomyFile, three: list[TrainedModel]
) -> None:
    from classifier.bootstrap import set_active
    from runtime.app import App, NoModelError
    from yuqing.settings import load_config

    app = App(load_config(config_dir, var_env))
    try:
        with pytest.raises(NoModelError, match="no classifier model.*yuqing init --train"):
            app.model()  # outside a demo run, no model is never a silent demo model
        save_version(three[0], app.config.model_dir)
        set_active(app.config.model_dir, three[0].version)
        serving = app.model()
        assert isinstance(serving, ServingModel)
        first = serving.version
        m = three[2]
        save_version(m, app.config.model_dir)
        Registry(app.store, app.config.model_dir, None, lambda: T0).promote(m.version)
        assert serving.reload()
        assert serving.version == m.version != first
        assert serving.classify("", "物业不管电梯").model_version == m.version
    finally:
        app.close()
