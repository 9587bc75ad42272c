"""The mission's loop: monitors file reports, analysts verify some, `kalkan register sync-store` puts the
verified ones in the event store, and the brief "as of" a day rests on them (and on nothing unverified).

Checked where the brief uses incidents: the incident map, the risk weight of each place and the hotspot
fit. The fast test drives the stages the brief command calls; the slow one runs `kalkan brief` itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app

_register_all()

VERIFIED = {  # place -> (latitude, longitude): GeoNames points of Osh and Jalal-Abad cities
    "Osh, Navoi street": (40.5283, 72.7985),
    "Osh, Cheremushki": (40.5283, 72.7985),
    "Jalal-Abad, Sputnik": (40.9333, 72.9815),
}
UNVERIFIED = {  # in the same oblasts (so inside the scenario's area), far from the verified ones
    "Toktogul bazaar": (41.8721, 72.9408),
    "Ala-Buka road": (41.3950, 71.3958),
}


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def loop(api, make_report, db_url, tmp_path) -> dict:  # type: ignore[no-untyped-def]
    """File five reports, verify three, sync the register into a new store; return what a brief needs."""
    today = datetime.now(UTC).date()
    for k, (place, (lat, lon)) in enumerate({**VERIFIED, **UNVERIFIED}.items()):
        report = make_report(
            description=f"Houses burning: {place}",
            place_name=place,
            latitude=lat,
            longitude=lon,
            country_iso3="KGZ",
            date_start=(today - timedelta(days=3 - k % 3)).isoformat(),
        )
        created = api.post("/api/incidents", "monitor", json=report)
        assert created.status_code in (200, 201), created.text
        if place in VERIFIED:
            changed = api.post(
                f"/api/incidents/{created.json()['id']}/status",
                "analyst",
                json={"status": "verified", "reason": "two witnesses and a photograph"},
            )
            assert changed.status_code == 200, changed.text
    store = tmp_path / "events.duckdb"
    synced = _run(
        "register", "sync-store", "--store", str(store), "--db", db_url, "--data-dir", str(tmp_path / "data")
    )
    assert synced.exit_code == 0, synced.output
    assert "3 new" in synced.output and "verified incidents" in synced.output
    return {"store": store, "today": today}


def _nearest(places: pd.DataFrame, lat: float, lon: float) -> int:
    return int(np.argmin((places["latitude"] - lat) ** 2 + (places["longitude"] - lon) ** 2))


def test_verified_reports_reach_the_map_the_risk_weight_and_the_hotspot_fit(loop) -> None:  # type: ignore[no-untyped-def]
    from kalkan.plan.exposure import places_at_risk
    from kalkan.report.maps import frame_of, render_map
    from kalkan.risk.hotspots import forecast_risk_weight
    from kalkan.stage_events import load_for_stage

    scenario = load_for_stage("kyrgyzstan_2010", loop["store"], loop["today"].isoformat())
    incidents = scenario.incidents
    assert scenario.as_of == loop["today"]
    assert sorted(incidents["place_name"]) == sorted(VERIFIED)  # and nothing unverified
    assert set(incidents["source"]) == {"register"} and incidents["located"].all()
    assert set(incidents["admin2"]) == {"Osh (city)", "Jalal-Abad (city)"}

    # the incident map draws them: two crosses, 2 reports at the Osh point and 1 at Jalal-Abad
    features = scenario.admin2["features"]
    svg = render_map(frame=frame_of(features), districts=features, incidents=incidents)
    counts = sorted(int(n) for n in re.findall(r"<title>(\d+) documented incidents here", svg))
    assert counts == [1, 2]

    # the risk weight: highest next to the verified reports, the floor next to the unverified ones
    exposure = places_at_risk(scenario)
    weight = exposure["risk_weight"].to_numpy(float)
    osh = _nearest(exposure, *VERIFIED["Osh, Navoi street"])
    for lat, lon in UNVERIFIED.values():
        far = _nearest(exposure, lat, lon)
        assert weight[osh] > 5 * weight[far], (exposure.iloc[osh]["name"], exposure.iloc[far]["name"])

    # the hotspot fit: the Hawkes forecast is highest next to them too
    hot = np.asarray(forecast_risk_weight(exposure, incidents, scenario.as_of), dtype=float)
    assert hot[osh] == pytest.approx(hot.max(), rel=0.2)
    for lat, lon in UNVERIFIED.values():
        assert hot[_nearest(exposure, lat, lon)] < hot[osh] / 2


def test_a_brief_as_of_a_day_before_the_verification_has_none_of_them(loop) -> None:  # type: ignore[no-untyped-def]
    from kalkan.stage_events import load_for_stage

    day_before = (loop["today"] - timedelta(days=1)).isoformat()
    assert len(load_for_stage("kyrgyzstan_2010", loop["store"], day_before).incidents) == 0


@pytest.mark.slow
def test_kalkan_brief_from_the_store(loop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "brief"
    result = _run(
        "brief",
        "--scenario",
        "kyrgyzstan_2010",
        "--db",
        str(loop["store"]),
        "--as-of",
        loop["today"].isoformat(),
        "--runs",
        "0",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert "2 documented incidents here" in html and "1 documented incidents here" in html
    for place in UNVERIFIED:
        assert place not in html
