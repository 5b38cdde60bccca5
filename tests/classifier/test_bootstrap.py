from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifier.bootstrap import POINTER, active_version, ensure_model, set_active
from classifier.persist import ModelLoadError
from tests.classifier.synthetic import examples
from yuqing.contracts import LabelledText
from yuqing.settings import Category, TaxonomyFile


def FIXED() -> datetime:
    return datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class CountingFactory:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> Sequence[LabelledText]:
        with self.lock:
            self.calls += 1
        return examples()


def test_trains_once_then_loads(tmp_path: Path, taxonomy: TaxonomyFile) -> None:
    factory = CountingFactory()
    messages: list[str] = []
    first = ensure_model(tmp_path / "models", taxonomy, factory, 0.35, progress=messages.append)
    assert factory.calls == 1
    assert active_version(tmp_path / "models") == first.version
    assert (tmp_path / "models" / first.version / "meta.json").is_file()
    assert any("首次训练" in m for m in messages)

    second = ensure_model(tmp_path / "models", taxonomy, factory, 0.5)
    assert factory.calls == 1
    assert second.version == first.version and second.uncertain_below == 0.5
    text = "小区物业不管电梯维修"
    assert first.classify("", text).category == second.classify("", text).category
    # Nothing left behind but the version, the pointer and the lock file.
    names = {p.name for p in (tmp_path / "models").iterdir()}
    assert names <= {first.version, POINTER, ".train.lock"}


def test_two_starts_at_once_train_once(tmp_path: Path, taxonomy: TaxonomyFile) -> None:
    factory = CountingFactory()
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(ensure_model(tmp_path / "m", taxonomy, factory, 0.35).version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert factory.calls == 1
    assert len(set(results)) == 1


def test_damaged_pointer_or_model_is_replaced(tmp_path: Path, taxonomy: TaxonomyFile) -> None:
    factory = CountingFactory()
    model_dir = tmp_path / "models"
    # A fixed clock makes the retrained model's version collide with the damaged one.
    first = ensure_model(model_dir, taxonomy, factory, 0.35, clock=FIXED)
    (model_dir / first.version / "category.skops").write_bytes(b"garbage")
    messages: list[str] = []
    again = ensure_model(model_dir, taxonomy, factory, 0.35, messages.append, clock=FIXED)
    assert factory.calls == 2 and again.version == first.version
    assert any(p.name.startswith(f".{first.version}.damaged-") for p in model_dir.iterdir())
    assert any("模型不可用" in m for m in messages)
    assert active_version(model_dir) == again.version
    # The replacement is sound: the next start loads it without training.
    ensure_model(model_dir, taxonomy, factory, 0.35)
    assert factory.calls == 2

    (model_dir / POINTER).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(ModelLoadError):
        active_version(model_dir)
    ensure_model(model_dir, taxonomy, factory, 0.35)
    assert factory.calls == 3


def test_changed_taxonomy_retrains(tmp_path: Path, taxonomy: TaxonomyFile) -> None:
    factory = CountingFactory()
    model_dir = tmp_path / "models"
    ensure_model(model_dir, taxonomy, factory, 0.35)
    wider = taxonomy.model_copy(
        update={"categories": [*taxonomy.categories, Category(name="民政", keywords=["婚姻登记"])]}
    )
    m = ensure_model(model_dir, wider, factory, 0.35)
    assert factory.calls == 2
    assert "民政" in m.categories


def test_set_active_refuses_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        set_active(tmp_path, "v-missing")
