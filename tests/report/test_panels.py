# ruff: noqa: E501  (test data kept on one line per row)
"""The optional panels' honesty notes say what the skill is, or where it is measured."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kalkan.report.panels import _skill_text


def test_skill_text_without_a_shipped_backtest_points_to_it() -> None:
    assert "hotspot backtests, not on this scenario" in _skill_text(None)
    assert "hotspot backtests, not on this scenario" in _skill_text(pd.DataFrame())


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


def _brief(outcomes_of: Any) -> Any:
    from types import SimpleNamespace

    from kalkan.report.decision import decide

    out = outcomes_of(
        {
            "monitors:100": (470, 0.45),
            "police:300": (200, 0.9),
            "police:600": (150, 0.95),
            "police:150": (300, 0.8),
        },
        searched=["police:150"],
    )
    options = pd.DataFrame(
        {
            "label": ["monitors:100", "police:300", "police:600"],
            "unit": ["monitors", "police", "police"],
            "armed": [False, True, True],
            "officers": [100, 300, 600],
            "posts": [9, 28, 57],
            "within_reach_share": [0.8, 0.95, 1.0],
            "people_protected_at_density": [0.0, 15_000.0, 30_000.0],
        }
    )
    curves = pd.DataFrame(
        {"unit": ["police"] * 3, "officers": [0, 150, 300], "covered_share": [0.0, 0.8, 0.95]}
    )
    data = SimpleNamespace(
        options=options,
        curves=curves,
        target=0.8,
        response_minutes=30.0,
        plans=[],
        exposure=None,
        outcomes=out,
        panels={},
        as_of=out.decision_day,
    )
    data.decision = decide(data, out)  # type: ignore[arg-type]
    return data


def test_simulation_section_shows_both_arrivals_with_probabilities(outcomes_of: Any) -> None:
    from kalkan.report.markup import Context
    from kalkan.report.panels import simulation_section

    data = _brief(outcomes_of)
    ctx = Context(data)  # type: ignore[arg-type]
    section = simulation_section(ctx)
    assert section is not None
    html = section.html
    assert "If the force were on duty on the decision day (30 June 2010)" in html
    assert "If it arrives at the pace of pledges" in html
    assert "150 armed police <small>(searched)</small>" in html and "recommended" in html
    assert "90%" in html and "day 35" in html  # P(beats no force) and the force-generation day
    # Option labels are said in words, never as command-line tokens.
    assert "police:" not in html and "monitors:" not in html
    # Every number shown is recorded for brief.json.
    whats = [n["what"] for n in ctx.shown]
    assert (
        "police:300: share of paired runs with fewer deaths than no force (on duty on the decision day)"
        in whats
    )
    assert "police:300: day on duty at the pace of pledges (days after the decision)" in whats


def test_the_page_one_sentence_is_written_from_the_runs(outcomes_of: Any) -> None:
    from kalkan.report.decision import outcome_sentence

    data = _brief(outcomes_of)
    text = outcome_sentence(data.decision, data.outcomes)
    assert text.startswith(
        "If on duty on 30 June 2010, armed police leave fewer deaths than no force in 90–95% of paired runs"
    )
    assert "unarmed monitors in 45% (a median of 470)" in text
    assert "on duty 35 days after the decision" in text and "then beat no force in 50% of paired runs" in text


def test_terminal_table_never_cuts_a_number(outcomes_of: Any) -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from kalkan.report.commands import simulation_table

    data = _brief(outcomes_of)
    console = Console(width=110, record=True)
    console.print(simulation_table(data, console.width))
    text = console.export_text()
    assert "200 runs" in " ".join(text.split())
    assert "150 [75-225]" in text and "…" not in text
    assert simulation_table(SimpleNamespace(outcomes=None)) is None


def test_error_sentences_shown_to_a_reader_name_no_command_or_file() -> None:
    from kalkan.report.panels import plain_sentences

    raw = (
        "The simulation is not calibrated to scenario 'car_2014': it has no fitted posterior "
        "(simulation_posterior.csv); run 'kalkan simulate calibrate --scenario car_2014'. No other crisis's fit "
        "is used in its place."
    )
    assert plain_sentences(raw, "FALLBACK") == "FALLBACK"
    plain = "The simulation cannot be calibrated to this scenario: no place has a share. No share is assumed."
    assert plain_sentences(plain, "FALLBACK") == plain
