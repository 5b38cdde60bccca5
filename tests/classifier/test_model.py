from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import skops.io as sio

from classifier.model import TrainedModel
from classifier.persist import (
    TRUSTED_TYPES,
    ModelLoadError,
    ModelMismatchError,
    load_model,
    save_model,
)
from classifier.training import train
from tests.classifier.synthetic import HELD_OUT, examples
from yuqing.contracts import LabelledText
from yuqing.settings import Category, TaxonomyFile


@pytest.fixture(scope="module")
def saved(model: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(model, tmp_path_factory.mktemp("model") / model.version)


def test_predicts_obvious_held_out_examples(model: TrainedModel) -> None:
    texts = [t for t, _ in HELD_OUT]
    got = model.classify_many([""] * len(texts), texts)
    assert [c.category for c in got] == [c for _, c in HELD_OUT]
    for c in got:
        assert not c.uncertain and 0 < c.category_confidence <= 1
        assert c.model_version == model.version
        assert any(r.startswith("类别: ") for r in c.reasons)


def test_rubric_tier_one_terms_give_severity_four_with_reason(model: TrainedModel) -> None:
    c = model.classify("小区围墙坍塌", "昨晚小区围墙坍塌，一名路人死亡")
    assert c.severity == 4
    assert any("‘坍塌’" in r and r.startswith("规则:") for r in c.reasons)
    assert "规则: 命中‘死亡’(I 特别重大)" in c.reasons


def test_negated_term_does_not_count(model: TrainedModel) -> None:
    c = model.classify("", "路口两车轻微剐蹭，没有人员受伤")
    assert "规则: ‘受伤’前有否定‘没有人员’, 不计" in c.reasons
    assert not any("命中‘受伤’" in r for r in c.reasons)


def test_rubric_only_model_without_severity_labels(taxonomy: TaxonomyFile) -> None:
    plain = [LabelledText(e.text, e.category) for e in examples()]
    m = train(plain, taxonomy)
    assert m.severity_model is None
    c = m.classify("", "小区门口有老人摔倒受伤送医")
    assert c.severity == 3
    assert not any(r.startswith("模型:") for r in c.reasons)


def test_engagement_lifts_low_tiers_by_one(model: TrainedModel) -> None:
    text = "请问小区路灯什么时候能修好"
    base = model.classify("", text)
    hot = model.classify("", text, likes=model.params.likes_high)
    assert hot.severity == base.severity + 1 <= 3
    assert any(r.startswith(f"互动: 点赞 {model.params.likes_high}") for r in hot.reasons)
    # A tier II post does not reach tier I on engagement alone.
    severe = model.classify("", "几十名农民工在工地门口聚集讨薪", replies=10_000)
    assert severe.severity == 3
    assert not any(r.startswith("互动:") for r in severe.reasons)


def test_uncertain_below_threshold(saved: Path, taxonomy: TaxonomyFile) -> None:
    strict = load_model(saved, uncertain_below=0.99)
    c = strict.classify("", "今天天气不错")
    assert c.uncertain and c.category == taxonomy.uncertain_label
    assert any("低于阈值 0.99" in r for r in c.reasons)


def test_skops_round_trip_gives_identical_predictions(model: TrainedModel, saved: Path) -> None:
    loaded = load_model(saved, uncertain_below=model.uncertain_below)
    texts = [t for t, _ in HELD_OUT] + ["工地坍塌死亡", "请问", "小区停水三天没人管"]
    likes = list(range(0, 500 * len(texts), 500))
    a = model.classify_many([""] * len(texts), texts, likes=likes)
    b = loaded.classify_many([""] * len(texts), texts, likes=likes)
    assert a == b
    assert loaded.version == model.version


def test_saved_files_need_only_listed_trusted_types(saved: Path) -> None:
    for name in ("category.skops", "severity.skops"):
        assert set(sio.get_untrusted_types(file=saved / name)) <= set(TRUSTED_TYPES)
    meta = json.loads((saved / "meta.json").read_text(encoding="utf-8"))
    assert meta["segmenter"]["name"] == "jieba"
    assert {"version", "created_at", "categories", "data_hash", "params", "metrics"} <= set(meta)


def test_saved_files_name_no_module_of_ours(saved: Path) -> None:
    """A model file names only scikit-learn, numpy and builtin types, so moving or
    renaming our modules (classifier/ was split into params, features, training,
    persist, model) never makes a saved model unloadable."""
    import zipfile

    for name in ("category.skops", "severity.skops"):
        with zipfile.ZipFile(saved / name) as z:
            schema = z.read("schema.json").decode("utf-8")
        modules = {m.split(".")[0] for m in re.findall(r'"__module__": "([^"]+)"', schema)}
        assert modules and modules <= {"builtins", "numpy", "sklearn"}, modules


def test_load_refuses_other_user_dictionary(saved: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(saved, tmp_path / "m")
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    meta["segmenter"]["userdict_hash"] = "0" * 64
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="userdict_hash"):
        load_model(copy)


def test_load_refuses_other_segmenter_version(saved: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(saved, tmp_path / "m")
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    meta["segmenter"]["version"] = "0.0.1"
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="version"):
        load_model(copy)


def test_load_refuses_a_changed_taxonomy(saved: Path, taxonomy: TaxonomyFile) -> None:
    load_model(saved, taxonomy=taxonomy)  # the same taxonomy is fine
    extra = taxonomy.model_copy(
        update={"categories": [*taxonomy.categories, Category(name="民政", keywords=["婚姻登记"])]}
    )
    with pytest.raises(ModelMismatchError, match="categories"):
        load_model(saved, taxonomy=extra)


def test_load_reports_missing_or_damaged_files(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="missing"):
        load_model(tmp_path / "nothing")
    copy = shutil.copytree(saved, tmp_path / "m")
    (copy / "category.skops").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="checksum differs"):
        load_model(copy)
    # A model saved without checksums still fails cleanly on a damaged file.
    meta = json.loads((copy / "meta.json").read_text("utf-8"))
    meta["files"] = {}
    (copy / "meta.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_model(copy)


def test_training_rejects_unknown_categories(taxonomy: TaxonomyFile) -> None:
    with pytest.raises(ValueError, match="不存在的类"):
        train([LabelledText("随便说说", "不存在的类")], taxonomy)


def test_few_examples_fall_back_to_logistic_regression(taxonomy: TaxonomyFile) -> None:
    few = [LabelledText("小区物业不管事", "城乡建设"), LabelledText("工厂排污", "环境保护")]
    m = train(few, taxonomy)
    assert m.meta.metrics["category_classifier"] == "logistic"
    assert m.classify("", "物业").category_confidence > 0


def test_version_is_stable_for_the_same_data(taxonomy: TaxonomyFile) -> None:
    from datetime import UTC, datetime

    clock = lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # noqa: E731
    few = examples()[:20]
    a = train(few, taxonomy, clock=clock)
    b = train(few, taxonomy, clock=clock)
    assert a.version == b.version
    assert a.version.startswith("v20260102T030405Z-")


def test_severity_model_is_an_i_ii_gate_with_reasons(model: TrainedModel) -> None:
    assert [int(c) for c in model.severity_model.classes_] == [1, 3]  # type: ignore[union-attr]
    assert model.meta.metrics["severity_classifier"].startswith("i-ii-gate:")
    c = model.classify("", "小区路灯坏了")
    assert any(r.startswith("模型: I–II 级可能性") for r in c.reasons)


def test_learned_threshold_keeps_the_target_recall_out_of_fold() -> None:
    from classifier.features import model_input
    from classifier.params import ModelParams
    from classifier.training import _learn_threshold

    params = ModelParams(severity_target_recall=0.9)
    sp = params.for_severity()
    high = [f"第{i}号楼发生火灾有人受伤被送医" for i in range(12)]
    low = [f"第{i}号路灯不亮请问何时修理" for i in range(12)]
    X = [model_input(list(t), sp) for t in high + low]
    y = [3] * 12 + [1] * 12
    t, review = _learn_threshold(X, y, [1] * 24, params)
    assert t is not None and 0.05 <= t <= params.severity_min_confidence
    # The desk's second look sits below the gate, or is absent when nothing lies between.
    assert review is None or 0.01 <= review < t
    # Everything high already found by the rubric: the model needs to be sure.
    assert _learn_threshold(X, y, [3] * 12 + [1] * 12, params)[0] == 0.6
    off = ModelParams(severity_target_recall=None)
    assert _learn_threshold(X, y, [1] * 24, off) == (None, None)


def test_params_of_older_models_keep_their_severity_model() -> None:
    from classifier.params import ModelParams

    old = ModelParams.from_dict({"C": 2.0, "subtoken_features": True})
    assert not old.severity_binary and not old.severity_rubric_features
    assert old.severity_target_recall is None and old.severity_C == 2.0
    assert old.for_severity().subtoken_features


def test_text_mode_follows_text_length_and_is_recorded(
    model: TrainedModel, taxonomy: TaxonomyFile, tmp_path: Path
) -> None:
    from classifier.params import ModelParams

    # The synthetic sentences are short: the served model records "short", not "auto".
    assert model.params.text_mode == "short"
    assert model.meta.metrics["category_classifier"].startswith("linearsvc+complementnb")
    long = train(examples(), taxonomy, params=ModelParams(text_mode="long"))
    assert long.params.text_mode == "long"
    assert long.meta.metrics["category_classifier"].startswith("linearsvc+sigmoid")
    loaded = load_model(save_model(long, tmp_path / long.version))
    texts = [t for t, _ in HELD_OUT]
    assert loaded.classify_many([""] * len(texts), texts) == long.classify_many(
        [""] * len(texts), texts
    )
    padded = [LabelledText(e.text * 8, e.category, e.severity) for e in examples()]
    assert train(padded, taxonomy).params.text_mode == "long"


def test_a_post_between_the_review_line_and_the_gate_is_marked_for_a_second_look(
    saved: Path,
) -> None:
    m = load_model(saved)
    texts = ["小区路灯坏了", "楼道里有人吵架", "学校门口摊贩很多", "工地噪音扰民"]
    plain = m.classify_many([""] * 4, texts)
    assert all(c.severe_p is not None and 0 <= c.severe_p <= 1 for c in plain)
    ps = sorted(c.severe_p for c in plain if c.severity < 3)  # type: ignore[misc]
    assert len(ps) >= 2
    # A review line just under the highest below-II probability marks that post only.
    m.review_threshold = ps[-1] - 1e-9
    m.severity_threshold = max(m.severity_threshold, ps[-1] + 1e-6)
    marked = m.classify_many([""] * 4, texts)
    for before, after in zip(plain, marked, strict=True):
        assert after.severity == before.severity  # the mark never changes the tier
        assert after.review == (after.severity < 3 and after.severe_p >= m.review_threshold)  # type: ignore[operator]
    assert sum(c.review for c in marked) >= 1
    assert any(r.startswith("复核: I–II 级可能性") for c in marked if c.review for r in c.reasons)
    # Without a learned line (older models) nothing is marked.
    m.review_threshold = None
    assert not any(c.review for c in m.classify_many([""] * 4, texts))
