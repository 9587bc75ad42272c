"""The optional panels' honesty notes say what the skill is, or where it is measured."""

from __future__ import annotations

import pandas as pd

from kalkan.report.panels import _skill_text


def test_skill_text_without_a_shipped_backtest_points_to_it() -> None:
    assert "docs/risk-hotspots.md" in _skill_text(None)
    assert "docs/risk-hotspots.md" in _skill_text(pd.DataFrame())


def test_skill_text_reports_pooled_scores_with_intervals() -> None:
    skill = pd.DataFrame(
        {
            "group": ["SYR", "pooled", "pooled"],
            "model": ["hawkes", "hawkes", "baseline"],
            "auc": [0.5, 0.81, 0.74],
            "auc_low": [0.4, 0.78, 0.70],
            "auc_high": [0.6, 0.84, 0.78],
            "period": ["2015-2019"] * 3,
        }
    )
    text = _skill_text(skill)
    assert "hawkes: auc 0.81 [0.78, 0.84]" in text and "baseline: auc 0.74 [0.70, 0.78]" in text
    assert "0.50" not in text  # only the pooled rows
    assert "(2015-2019)" in text
