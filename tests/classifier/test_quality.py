from __future__ import annotations

from classifier.quality import cross_validate
from tests.classifier.synthetic import examples
from yuqing.settings import TaxonomyFile


def test_cross_validate_reports_macro_f1_per_class(taxonomy: TaxonomyFile) -> None:
    data = examples()
    groups = [str(i // 2) for i in range(len(data))]
    result = cross_validate(data, taxonomy, folds=3, groups=groups)
    assert result["n"] == len(data) and result["grouped"]
    assert set(result["per_class_f1"]) == set(taxonomy.category_names())
    assert 0.0 <= result["macro_f1"] <= 1.0
    assert len(result["confusion"]) == len(result["labels"])


def test_cross_validate_severity_keeps_each_decision_by_id(taxonomy: TaxonomyFile) -> None:
    from classifier.quality import cross_validate_severity

    data = [e for e in examples() if e.severity is not None]
    result = cross_validate_severity(data, taxonomy, folds=3)
    decided = result["predictions"]
    assert list(decided) == [e.id for e in data]  # every labelled example, once, in order
    assert set(decided.values()) <= {1, 2, 3, 4}
    # The per-example decisions are the ones the metrics were computed from.
    accuracy = sum(decided[e.id] == e.severity for e in data) / len(data)
    assert abs(accuracy - result["accuracy"]) < 1e-9
