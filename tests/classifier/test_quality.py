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
