"""The rubric's hypothetical handling and the labelled severity files."""

from __future__ import annotations

import csv
from pathlib import Path

from classifier.severity import SeverityRubric
from yuqing.settings import TaxonomyFile

SEVERITY_DIR = Path(__file__).resolve().parents[2] / "data" / "severity"


def test_feared_event_counts_one_tier_lower(taxonomy: TaxonomyFile) -> None:
    rubric = SeverityRubric(taxonomy)
    happened, _ = rubric.assess("昨天小区发生爆炸")
    feared, reasons = rubric.assess("煤气罐乱放, 万一发生爆炸怎么办")
    assert happened == 4 and feared == 3
    assert any("万一" in r and "隐患" in r for r in reasons)
    negated, _ = rubric.assess("没有人员受伤")
    assert negated is None


def test_label_files_hold_ids_and_tiers_only() -> None:
    with (SEVERITY_DIR / "gov-messages.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 600
    assert set(rows[0]) == {"id", "tier"}
    assert {r["tier"] for r in rows} == {"I", "II", "III", "IV"}
    assert len({r["id"] for r in rows}) == len(rows)
