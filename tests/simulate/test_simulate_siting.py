"""Posts sited for reach or for depth on the embedded scenario, in the model and from the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.errors import KalkanError, OptionError
from kalkan.plan.travel import travel_minutes
from kalkan.plan.units import parse_options
from kalkan.scenarios import load_scenario
from kalkan.simulate import option_posts, scenario_places, simulate_options


@pytest.fixture(scope="module")
def places():
    return scenario_places(load_scenario("kyrgyzstan_2010"))


def _officers_in_reach(places, posts, minutes: float = 30.0) -> np.ndarray:
    t = travel_minutes(
        places["latitude"].to_numpy()[:, None],
        places["longitude"].to_numpy()[:, None],
        posts["latitude"].to_numpy()[None, :],
        posts["longitude"].to_numpy()[None, :],
    )
    return (t <= minutes) @ posts["officers_on_duty"].to_numpy(float)


def test_depth_puts_more_officers_where_the_weight_is(places) -> None:
    option = parse_options("police:300")[0]
    reach = option_posts(places, option, siting="reach")
    depth = option_posts(places, option, siting="depth")
    assert len(reach) == len(depth) == 28
    assert depth["covered_share"].iloc[0] < reach["covered_share"].iloc[0]  # depth costs reach ...
    w = places["weight"].to_numpy(float)
    heavy = w >= np.quantile(w, 0.99)
    # ... and buys officers in reach of the heaviest places.
    deep, wide = _officers_in_reach(places, depth)[heavy], _officers_in_reach(places, reach)[heavy]
    assert deep.mean() > 1.5 * wide.mean()
    assert option_posts(places, option, siting="depth").equals(depth)  # deterministic
    with pytest.raises(OptionError, match="siting"):
        option_posts(places, option, siting="nearest")


def test_same_police_sited_for_depth_cut_deaths_in_the_model() -> None:
    """The mechanism, on common random numbers, a strong deterrent and no crowd growth or avoidance:
    300 armed police sited for depth leave fewer deaths than the same 300 sited for reach."""
    options = parse_options("police:300")
    strong = {"officer_weight": 10.0, "crowd_growth": 0.0, "avoid_posts": 0.0, "forces_join": 0.0}
    same = {"runs": 12, "days": 6, "seed": 2, "settings": strong}
    reach = simulate_options("kyrgyzstan_2010", options, siting="reach", **same)
    depth = simulate_options("kyrgyzstan_2010", options, siting="depth", baseline=False, **same)
    assert reach["siting"].tolist() == ["none", "reach"] and depth["siting"].tolist() == ["depth"]
    none = reach.loc[0, "deaths_median"]
    assert depth.loc[0, "deaths_median"] < reach.loc[1, "deaths_median"] < none


def test_cli_both_sitings_on_the_same_seeds() -> None:
    _register_all()
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--options",
            "monitors:50,police:100",
            "--runs",
            "2",
            "--days",
            "2",
            "--seed",
            "1",
            "--format",
            "json",
            "--siting",
            "both",
            "--scheduler",
            "serial",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["options"]
    assert [(r["option"], r["siting"]) for r in rows] == [
        ("none", "none"),
        ("monitors:50", "reach"),
        ("police:100", "reach"),
        ("monitors:50", "depth"),
        ("police:100", "depth"),
    ]
    bad = CliRunner().invoke(app, ["simulate", "--siting", "nearest", "--runs", "1"])
    assert isinstance(bad.exception, KalkanError) and "reach, depth or both" in str(bad.exception)
