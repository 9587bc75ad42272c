# ruff: noqa: E501  (test data kept on one line per row)
"""Shared test helpers of the brief: posterior-predictive outcomes built by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import pandas as pd
import pytest

from kalkan.plan.units import ForceOption, posts_for
from kalkan.report.outcomes import Outcome, Outcomes


@pytest.fixture
def outcomes_of() -> Callable[..., Outcomes]:
    """``outcomes_of({label: (median deaths, share of runs beating no force)}, searched=[...])``."""

    def build(results: dict[str, tuple[float, float]], searched: Sequence[str] = ()) -> Outcomes:
        """Posterior-predictive outcomes whose median deaths and share of runs beating no force are given per
        label; no force: 470 deaths; posts at (40 + i/100, 72)."""

        def row(label: str, median: float, beats: float | None) -> Outcome:
            option = None if label == "none" else ForceOption(*label.split(":")[:1], int(label.split(":")[1]))
            return Outcome(
                label=label,
                unit="none" if option is None else option.unit,
                officers=0 if option is None else option.officers,
                posts=0 if option is None else posts_for(option),
                covered_share=0.9,
                deaths_p5=median / 2,
                deaths_median=median,
                deaths_p95=median * 1.5,
                homes_median=0.0,
                displaced_median=0.0,
                p_best=0.1,
                beats_none=beats,
                generation_day=0.0 if option is None else 35.0,
                generation_source="pledges",
                arrived_before_outbreak=None,
            )

        now = {"none": row("none", 470.0, None)} | {k: row(k, m, b) for k, (m, b) in results.items()}
        posts = pd.DataFrame(
            [
                {"option": k, "name": f"P{i}", "latitude": 40 + i / 100, "longitude": 72.0}
                for k, o in now.items()
                if k != "none"
                for i in range(o.posts)
            ]
        )
        timeline = {k: row(k, 470.0, 0.5 if k != "none" else None) for k in now}
        return Outcomes(
            now=now,
            timeline=timeline,
            posts=posts,
            interval_note="",
            flashpoints="",
            notes=[],
            timeline_notes=[],
            runs=200,
            draws=50,
            seeds_per_draw=4,
            days=10,
            calibration="",
            decision_day=date(2010, 6, 30),
            shown=["none", *[k for k in results if k not in searched]],
            searched=list(searched),
            seconds=0.0,
            cpu_seconds=0.0,
        )

    return build
