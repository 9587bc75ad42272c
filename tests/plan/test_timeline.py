"""Deployment timeline: pledges, officers in place by day, coverage never decreasing."""

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError, SchemaError
from kalkan.plan.timeline import (
    ILLUSTRATIVE_PLEDGES,
    REFERENCE_DAYS,
    deployment_timeline,
    load_pledges,
    milestones,
)


def _places(n: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "id": range(n),
            "name": [f"P{i}" for i in range(n)],
            "latitude": 40.5 + 0.4 * rng.random(n),
            "longitude": 72.6 + 0.5 * rng.random(n),
            "weight": rng.integers(1, 500, n).astype(float),
        }
    )


def test_default_pledges_are_labelled_illustrative() -> None:
    pledges = load_pledges()
    assert pledges["illustrative"].all()
    assert (pledges["day_in_place"] == pledges["days_to_ready"] + pledges["days_to_arrive"]).all()
    assert len(pledges) == len(ILLUSTRATIVE_PLEDGES)


def test_reference_days_are_the_cited_ones() -> None:
    assert REFERENCE_DAYS["day"].tolist() == [30, 90, 304]


def test_timeline_counts_officers_and_coverage() -> None:
    pledges = load_pledges(
        pd.DataFrame(
            {
                "contributor": ["X", "Y", "Z"],
                "unit": ["monitors", "police", "fpu"],
                "officers": [20, 21, 140],
                "days_to_ready": [2, 5, 10],
                "days_to_arrive": [1, 1, 2],
            }
        )
    )
    assert not pledges["illustrative"].any()
    timeline = deployment_timeline(_places(), pledges, response_minutes=10, days=20, time_limit=1)
    assert len(timeline) == 21
    by_day = timeline.set_index("day")
    assert by_day.loc[2, "officers_in_place"] == 0
    assert by_day.loc[3, "officers_in_place"] == 20  # monitors: 20 / 10.4 -> 1 observed post
    assert by_day.loc[3, "protected_posts"] == 0 and by_day.loc[3, "observed_posts"] == 1
    assert by_day.loc[6, "protected_posts"] == 2  # 21 police -> 2 posts
    assert by_day.loc[12, "protected_posts"] == 4  # + one FPU -> 2 more posts
    assert by_day.loc[12, "officers_in_place"] == 181
    assert (np.diff(timeline["protected_share"]) >= -1e-12).all()
    assert (timeline["observed_share"] >= timeline["protected_share"] - 1e-12).all()
    assert by_day.loc[3, "protected_share"] == 0.0 and by_day.loc[3, "observed_share"] > 0
    first = milestones(timeline, targets=(0.01,))
    assert first["first_day_protected"].iloc[0] == 6


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        (
            [{"contributor": "X", "unit": "tanks", "officers": 5, "days_to_ready": 1, "days_to_arrive": 1}],
            InputError,
            "unknown unit type",
        ),  # unknown unit
        (
            [{"contributor": "X", "unit": "police", "officers": -5, "days_to_ready": 1, "days_to_arrive": 1}],
            InputError,
            "officers must be a whole number > 0",
        ),  # negative officers
        (
            [{"contributor": "X", "unit": "fpu", "officers": 100, "days_to_ready": 1, "days_to_arrive": 1}],
            InputError,
            "groups of 140",
        ),  # part of an FPU
        (
            [{"contributor": "X", "unit": "police", "officers": 5}],
            SchemaError,
            "days_to_ready",
        ),  # missing columns
    ],
)
def test_bad_pledges(rows: list[dict], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        load_pledges(rows)
