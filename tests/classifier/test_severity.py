"""The rubric's hypothetical handling and the labelled severity files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from classifier.model import TrainedModel
from classifier.severity import RubricHit, SeverityRubric, feature_tokens
from yuqing.settings import TaxonomyFile

SEVERITY_DIR = Path(__file__).resolve().parents[2] / "data" / "severity"
TIERS = {"I", "II", "III", "IV"}


def test_feared_event_counts_one_tier_lower(taxonomy: TaxonomyFile) -> None:
    rubric = SeverityRubric(taxonomy)
    happened, _ = rubric.assess("昨天小区发生爆炸")
    feared, reasons = rubric.assess("煤气罐乱放, 万一发生爆炸怎么办")
    assert happened == 4 and feared == 3
    assert any("万一" in r and "隐患" in r for r in reasons)
    negated, _ = rubric.assess("没有人员受伤")
    assert negated is None


def _rows(name: str) -> list[dict[str, str]]:
    with (SEVERITY_DIR / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_label_files_hold_ids_and_codes_only() -> None:
    """No message text in the project: ids, tiers, a basis code and the sample."""
    read = _rows("read.csv")
    assert len(read) >= 600
    assert set(read[0]) == {"id", "tier", "basis", "sample"}
    assert {r["tier"] for r in read} == TIERS
    assert len({r["id"] for r in read}) == len(read)
    assert all(re.fullmatch(r"[a-z-]{2,24}", r[k]) for r in read for k in ("basis", "sample"))
    ids = {r["id"] for r in read}
    for name in ("gov-messages.csv", "second-reading.csv", "third-reading.csv"):
        rows = _rows(name)
        assert set(rows[0]) == {"id", "tier"} and {r["tier"] for r in rows} <= TIERS
        if name != "gov-messages.csv":
            assert {r["id"] for r in rows} <= ids, name


def test_broad_terms_count_only_in_context(taxonomy: TaxonomyFile) -> None:
    rubric = SeverityRubric(taxonomy)
    # 老人 alone is who lives there, not a danger.
    assert rubric.assess("小区里住的大部分都是退休老人，希望增加健身器材")[0] == 1
    tier, reasons = rubric.assess("路面结冰，已有两位老人摔倒")
    assert tier == 3 and any("老人" in r and "摔倒" in r for r in reasons)
    # 农民工 counts with wages owed, not in a question about a minimum wage.
    assert rubric.assess("建议提高园区农民工最低工资标准")[0] == 1
    assert rubric.assess("工地拖欠三十多名农民工工资半年")[0] == 3


def test_exceptions_and_nearby_words_cancel_a_term(taxonomy: TaxonomyFile) -> None:
    rubric = SeverityRubric(taxonomy)
    assert rubric.assess("现在是信息大爆炸的时代")[0] is None
    assert rubric.assess("污水排进鱼塘，鱼大量死亡")[0] is None
    assert rubric.assess("昨晚一名行人被撞后死亡")[0] == 4


def test_risk_words_after_a_term_make_it_a_hazard(taxonomy: TaxonomyFile) -> None:
    rubric = SeverityRubric(taxonomy)
    tier, reasons = rubric.assess("山顶的旧楼开裂，有倒塌危险")
    assert tier == 3 and any("隐患" in r for r in reasons)


def test_risk_is_a_hazard_and_harm_is_an_event(taxonomy: TaxonomyFile) -> None:
    """What blind readers tiered differently from the first rubric: danger words near
    old people or children are a hazard (III), a beating or migrant workers' wages owed
    are tier II, and a fire listed among risks is not a fire."""
    rubric = SeverityRubric(taxonomy)
    assert rubric.assess("安全隐患严重, 小孩老人出行极其危险")[0] == 2
    assert rubric.assess("物业叫人殴打业主")[0] == 3
    assert rubric.assess("项目部拖欠民工工资半年")[0] == 3
    for text in (
        "停车场具有严重的交通、火灾、触电、噪音的隐患",
        "木质吊顶, 电路老化, 极易发生重大火灾",
        "煤气罐乱放, 失火, 爆炸都有可能",
    ):
        hits = rubric.hits(text)
        assert hits and all(h.hypothetical for h in hits if h.term != "隐患"), text
        assert rubric.assess(text)[0] in (2, 3), text
    assert rubric.assess("昨晚三楼起火")[0] == 3


def test_contextual_terms_are_validated(taxonomy: TaxonomyFile) -> None:
    raw = taxonomy.model_dump()
    raw["severity"][3]["contextual"] = [{"term": "老人", "near": ["危险"], "window": 0}]
    with pytest.raises(ValidationError, match="window"):
        TaxonomyFile.model_validate(raw)


def test_rubric_feature_tokens() -> None:
    hits = [
        RubricHit("火灾", 3),
        RubricHit("爆炸", 4, hypothetical="万一"),
        RubricHit("受伤", 3, negated_by="没有人员"),
    ]
    assert feature_tokens(hits) == ["__r3", "__t_火灾", "__r3", "__t_爆炸_hyp", "__neg"]


def test_severity_ranking_puts_rubric_hits_first_and_orders_the_rest(model: TrainedModel) -> None:
    texts = ["小区路灯坏了", "昨天小区发生火灾，两人受伤被送医", "楼道堆满杂物，万一着火怎么办"]
    score = model.severity_ranking([""] * 3, texts)
    assert score.shape == (3,)
    # An injury and fire that happened: the rubric gives tier II, so it ranks above 1.
    assert score[1] >= 1.0 > score[0] >= 0.0
    # A feared fire is a hazard (tier III): ranked by the learned model alone.
    assert score[2] < 1.0
    # The same reading as classify_many: a rubric tier II or above is always decided II+.
    decided = model.classify_many([""] * 3, texts)
    assert all((d.severity >= 3) >= (s >= 1.0) for d, s in zip(decided, score, strict=True))
    with pytest.raises(ValueError, match="titles"):
        model.severity_ranking([""], texts)


def test_precision_at_recall_cuts_at_the_first_score_reaching_the_target() -> None:
    import numpy as np

    from classifier.quality import precision_at_recall

    positive = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0], dtype=bool)
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    half = precision_at_recall(positive, score, 0.5)  # two of four positives: 0.9, 0.7
    assert half == {"precision": 2 / 3, "recall": 0.5, "threshold": 0.7}
    # Ties at the cut are flagged together (0.6 holds a positive and a negative).
    three = precision_at_recall(positive, score, 0.75)
    assert three["recall"] == 0.75 and three["precision"] == 3 / 5
    full = precision_at_recall(positive, score, 0.9)
    assert full["recall"] == 1.0 and full["precision"] == 4 / 7
    assert precision_at_recall(np.zeros(3, dtype=bool), score[:3], 0.9)["recall"] == 0.0
