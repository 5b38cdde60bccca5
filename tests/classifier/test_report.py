"""Evaluation metrics on hand-computed cases, and the HTML page stays self-contained."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.report import category_metrics, render_html, severity_metrics


def test_category_metrics_by_hand() -> None:
    classes = ["a", "b"]
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]])
    m = category_metrics(["a", "a", "b", "b"], classes, proba, uncertain_below=0.65, bins=10)
    assert m["accuracy"] == 0.75
    assert m["confusion"] == [[2, 0], [1, 1]]
    assert m["per_class"]["b"]["recall"] == 0.5 and m["per_class"]["a"]["precision"] == 2 / 3
    # Brier: mean over rows of sum((p - onehot)^2).
    brier = np.mean([0.02, 0.32, 0.08, 0.98])
    assert m["calibration"]["brier"] == pytest.approx(brier)
    # ECE: bins (0.5-0.6]: conf .6 correct; (0.6-0.7]: .7 wrong; (0.7-0.8]: .8 ok; (0.8-0.9]: .9 ok
    ece = (abs(1 - 0.6) + abs(0 - 0.7) + abs(1 - 0.8) + abs(1 - 0.9)) / 4
    assert m["calibration"]["ece"] == pytest.approx(ece)
    assert m["uncertain_share"] == 0.25


def test_severity_metrics_tiers_one_two() -> None:
    m = severity_metrics([4, 3, 2, 1, 3], [4, 2, 3, 1, 3])
    assert m["tiers_I_II"] == {"recall": 2 / 3, "precision": 2 / 3, "support": 3}


def test_html_escapes_and_loads_nothing() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    report = {"category": category_metrics(["<b>", "x"], ["<b>", "x"], proba)}
    page = render_html(report, "t")
    assert "<b>" not in page.replace("<b>1.000</b>", "") and "&lt;b&gt;" in page
    assert "<script" not in page and "<link" not in page
