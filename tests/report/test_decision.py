# ruff: noqa: E501  (sentences and HTML kept whole)
"""The brief's decision: on-duty officers, the least force meeting the criterion, the as-of filter, rounding."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from kalkan.plan.units import UNIT_TYPES, ForceOption, posts_for
from kalkan.report.asof import as_of_view, latest_day
from kalkan.report.decision import decide, in_words, on_duty
from kalkan.report.markup import say
from kalkan.scenarios import load_scenario


@pytest.mark.parametrize("unit", sorted(UNIT_TYPES))
@pytest.mark.parametrize("officers", [140, 300, 1000])
def test_on_duty_is_posts_times_officers_on_duty_per_post(unit: str, officers: int) -> None:
    posts = posts_for(ForceOption(unit, officers))
    assert on_duty(unit, posts) == posts * UNIT_TYPES[unit].officers_per_post
    # 300 armed police hold 28 posts: 56 on duty at any moment, not 300.
    if unit == "police" and officers == 300:
        assert (posts, on_duty(unit, posts)) == (28, 56)


def test_options_are_written_in_words() -> None:
    assert in_words("monitors", 100) == "100 unarmed monitors"
    assert in_words("police", 300) == "300 armed police"


def _data() -> Any:
    options = pd.DataFrame(
        {"label": ["monitors:100", "police:300", "police:600"], "unit": ["monitors", "police", "police"],
         "armed": [False, True, True], "officers": [100, 300, 600], "posts": [9, 28, 57],
         "within_reach_share": [0.8, 0.95, 1.0], "people_protected_at_density": [0.0, 15_000.0, 30_000.0]}
    )  # fmt: skip
    curves = pd.DataFrame(
        {"unit": ["police"] * 4, "officers": [0, 114, 227, 300], "covered_share": [0.0, 0.82, 0.9, 0.95]}
    )
    exposure = pd.DataFrame({"place_id": ["a", "b", "c"], "name": ["A", "B", "C"], "latitude": [40.5, 40.6, 41.0],
                             "longitude": [72.8, 72.9, 73.0], "weight": [100.0, 50.0, 10.0]})  # fmt: skip
    return SimpleNamespace(options=options, curves=curves, target=0.8, response_minutes=30.0, plans=[],
                           exposure=exposure)  # fmt: skip


def _fake_simulation(deaths: dict[str, float]) -> Any:
    """A simulator whose deaths per option label are given; posts at (40 + posts/100, 72)."""
    calls: list[list[str]] = []

    def simulate(options: list[ForceOption]) -> pd.DataFrame:
        calls.append([o.label for o in options])
        rows = [{"option": "none", "armed": False, "posts": 0, "covered_share": 0.0, "siting": "none",
                 "deaths_p5": 400.0, "deaths_median": 470.0, "deaths_p95": 520.0}]  # fmt: skip
        for o in options:
            d = deaths[o.label]
            rows.append({"option": o.label, "armed": o.unit != "monitors", "posts": posts_for(o),
                         "covered_share": 0.9, "siting": "depth", "deaths_p5": d / 2, "deaths_median": d,
                         "deaths_p95": d * 1.5})  # fmt: skip
        posts = pd.DataFrame(
            [{"option": o.label, "name": f"P{i}", "latitude": 40 + i / 100, "longitude": 72.0}
             for o in options for i in range(posts_for(o))]
        )  # fmt: skip
        table = pd.DataFrame(rows)
        table.attrs["posts"] = posts
        return table

    simulate.calls = calls  # type: ignore[attr-defined]
    return simulate


def test_the_least_force_meeting_the_criterion_is_found_below_the_presets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kalkan.report.decision.OUTCOME_SHARE", 0.10)
    # 114 police: p95 = 60 > 47 (10% of 470) fails; 227: p95 = 15 meets; presets 300 and 600 meet too.
    simulate = _fake_simulation({"monitors:100": 470, "police:114": 40, "police:227": 10, "police:300": 3,
                                 "police:600": 2})  # fmt: skip
    decision = decide(_data(), simulate=simulate)
    rec = decision.recommendation
    assert rec is not None and rec.officers == 227 and rec.unit == "police"
    assert rec.on_duty == posts_for(ForceOption("police", 227)) * 2
    assert "10% of the median with no force" in decision.criterion
    # The posts shown are the ones the recommendation was judged on (the simulated siting).
    assert len(rec.post_list) == rec.posts and rec.siting == "depth"
    # It says that the smaller force does about what the next preset does.
    assert "227 armed police would do what 300 armed police do" in rec.same_as
    # Presets stay as comparison rows, in words; only one row is recommended.
    assert [r.words for r in decision.options if r.preset] == ["100 unarmed monitors", "300 armed police",
                                                                 "600 armed police"]  # fmt: skip
    assert sum(r.recommended for r in decision.options) == 1
    assert not any(r.meets for r in decision.options if not r.armed)
    assert [r.officers for r in decision.searched] == [114, 227]


def test_a_preset_is_recommended_when_no_smaller_force_meets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kalkan.report.decision.OUTCOME_SHARE", 0.10)
    simulate = _fake_simulation({"monitors:100": 470, "police:114": 90, "police:227": 60, "police:300": 3,
                                 "police:600": 2})  # fmt: skip
    rec = decide(_data(), simulate=simulate).recommendation
    assert rec is not None and rec.officers == 300 and rec.same_as == ""


def test_without_the_simulation_the_criterion_is_reach_and_says_so() -> None:
    decision = decide(_data())
    assert "reach alone" in decision.criterion
    rec = decision.recommendation
    assert rec is not None and rec.officers == 114 and rec.siting == "reach"
    assert len(rec.post_list) == rec.posts and rec.on_duty == rec.posts * 2


def test_written_dates_are_read_at_the_latest_day_they_can_mean() -> None:
    assert latest_day("25 Jun 2010") == date(2010, 6, 25)
    assert latest_day("May 2011") == date(2011, 5, 31)
    assert latest_day("2010") == date(2010, 12, 31)
    assert latest_day("published 3 May 2011") == date(2011, 5, 3)
    assert latest_day("2018-11-19") == date(2018, 11, 19)
    assert latest_day("(2020s)") is None and latest_day("") is None


def test_as_of_view_keeps_only_what_was_known_and_sets_the_rest_apart() -> None:
    scenario = load_scenario()
    day = scenario.as_of
    known, later = as_of_view(scenario, day)
    assert len(known.incidents) < len(scenario.incidents)
    assert all((k := latest_day(v)) is not None and k <= day for v in known.incidents["known_on"])
    assert all((k := latest_day(v)) is not None and k <= day for v in known.headlines["known_on"])
    assert later and all(i.known_on is None or i.known_on > day for i in later)
    # Later figures (the Commission of Inquiry's toll, published 2011) are in the box, not in the body.
    assert not (known.headlines["source_ids"].str.contains("S_CEPS")).any()
    assert any("S_CEPS" in i.source_ids for i in later)
    # An earlier day knows less.
    earlier, _ = as_of_view(scenario, date(2010, 6, 12))
    assert len(earlier.incidents) <= len(known.incidents)


@pytest.mark.parametrize(
    ("value", "text"),
    [(12, "12"), (1925, "about 1,900"), (15_985, "about 16,000"), (631_234, "about 631,000"), (300, "300")],
)
def test_numbers_are_said_as_a_reader_says_them(value: float, text: str) -> None:
    assert say(value) == text


def test_no_recommendation_when_no_preset_meets_the_criterion_and_no_vain_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kalkan.report.decision.OUTCOME_SHARE", 0.10)
    simulate = _fake_simulation({"monitors:100": 470, "police:300": 300, "police:600": 200})
    decision = decide(_data(), simulate=simulate)
    assert decision.recommendation is None and decision.searched == []
    assert len(simulate.calls) == 1  # the presets only
