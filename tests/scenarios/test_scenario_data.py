"""The shipped scenarios' data keep their promises: census counts reconcile, dates are known, sources real.

These tests read the files directly (not through the loader), so they check the data itself: a figure typed
wrong in a CSV fails here even if the loader would accept it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios"
SHIPPED = ["kyrgyzstan_2010", "car_2014"]
# Hosts found serving copies of pages under unrelated names (spam); a source must never point there.
SPAM_HOSTS = ("mindplatinum511.click", "hessslslslsls.azureedge.net", "dnhewrhegkli.shop")
ID = re.compile(r"[SD]_[A-Z0-9_]+")


def _settings(name: str) -> dict:
    return tomllib.loads((ROOT / name / "scenario.toml").read_text(encoding="utf-8"))


def _csv(name: str, file: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / name / file, dtype=str, keep_default_na=False)


def _source_rows(name: str) -> list[list[str]]:
    rows = []
    for line in (ROOT / name / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and ID.fullmatch(cells[0]):
            rows.append(cells)
    return rows


def _known_ids(name: str) -> set[str]:
    ids = {cells[0] for cells in _source_rows(name)}
    return ids | {d["source_id"] for d in _settings(name).get("data_source", [])}


@pytest.mark.parametrize("name", SHIPPED)
def test_group_counts_reconcile_with_the_census_total(name: str) -> None:
    """Units with a census share never hold more of the group than the census counts in the whole area."""
    settings = _settings(name)
    units = _csv(name, "districts.csv")
    totals = set(settings.get("oblast_rows", {}))
    rows = units[~units["district"].isin(totals)]
    share = pd.to_numeric(rows["group_share_pct"], errors="coerce")
    bound = pd.to_numeric(rows["group_share_max_pct"], errors="coerce")
    population = pd.to_numeric(rows["population"], errors="coerce")
    assert share.dropna().between(0, 100).all() and bound.dropna().between(0, 100).all()
    assert not (share.notna() & bound.notna()).any(), "a unit has both a share and a bound"
    counted = (share * population / 100).sum() + (bound * population / 100).sum()
    assert counted <= settings["census"]["group_total"]


def test_kyrgyzstan_district_shares_match_the_osh_oblast_census_table() -> None:
    """The Osh oblast districts' shares add up to the oblast's own 2009 count of Uzbeks (308,688)."""
    units = _csv("kyrgyzstan_2010", "districts.csv")
    osh = units[units["oblast"] == "Osh oblast"]
    districts = osh[~osh["district"].str.contains("total")]
    share = pd.to_numeric(districts["group_share_pct"], errors="coerce").fillna(0)
    population = pd.to_numeric(districts["population"], errors="coerce")
    assert abs((share * population / 100).sum() - 308_688) < 500
    assert pd.to_numeric(districts["population"]).sum() == 1_104_248


def test_kyrgyzstan_has_no_fallback_to_a_larger_units_share() -> None:
    settings = _settings("kyrgyzstan_2010")
    assert "share_fallback" not in settings
    units = _csv("kyrgyzstan_2010", "districts.csv").set_index("district")
    unknown_units = ["Osh city", "Jalal-Abad city", "Nooken district", "Ala-Buka district"]
    unknown_units.append("Toguz-Toro district")
    for unknown in unknown_units:
        assert units.loc[unknown, "group_share_pct"] == ""
    assert units.loc["Jalal-Abad city", "population"] == "97172"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_source_is_cited_by_id_and_never_points_to_a_spam_host(name: str) -> None:
    known = _known_ids(name)
    files = ["facts.md", "incidents.csv", "districts.csv"]
    text = "".join((ROOT / name / f).read_text(encoding="utf-8") for f in files)
    settings_text = (ROOT / name / "scenario.toml").read_text(encoding="utf-8")
    used = set(ID.findall(text)) | set(ID.findall(settings_text))
    assert used <= known, f"cited but not listed in SOURCES.md: {sorted(used - known)}"
    sources = (ROOT / name / "SOURCES.md").read_text(encoding="utf-8")
    assert not any(host in sources for host in SPAM_HOSTS)


@pytest.mark.parametrize("name", SHIPPED)
def test_dates_known_are_iso_dates_and_later_items_fall_after_the_as_of_date(name: str) -> None:
    settings = _settings(name)
    as_of = pd.Timestamp(settings["as_of"])
    for cells in _source_rows(name):
        if len(cells) >= 6 and cells[5]:
            pd.Timestamp(cells[5])  # parses
    incidents = _csv(name, "incidents.csv")
    known = pd.to_datetime(incidents["known_on"], errors="raise")
    assert known.notna().all()
    for item in settings.get("known_later", []):
        assert pd.Timestamp(item["date"]) > as_of
    for headline in settings["headline"]:
        assert pd.notna(pd.Timestamp(headline["known_on"])), headline["label"]


def test_kyrgyzstan_hindsight_is_dated_after_30_june_2010() -> None:
    """The figures the first brief showed without a date are now dated when they became known."""
    headlines = {h["value"]: pd.Timestamp(h["known_on"]) for h in _settings("kyrgyzstan_2010")["headline"]}
    as_of = pd.Timestamp("2010-06-30")
    assert all(headlines[later] > as_of for later in (470, 1889, 52, 20))
    assert headlines[294] <= as_of and headlines[70000] <= as_of
    incidents = _csv("kyrgyzstan_2010", "incidents.csv")
    august_only = incidents[incidents["source_ids"].isin(["S_ICG193", "S_HRW_PR0816", "S_HRW_WITJ"])]
    assert len(august_only) == 3 and (pd.to_datetime(august_only["known_on"]) > as_of).all()
    nariman = incidents[incidents["date"].eq("2010-06-21") & incidents["place"].str.startswith("Nariman")]
    assert len(nariman) == 1 and pd.Timestamp(nariman["known_on"].iloc[0]) <= as_of


def test_car_incidents_are_the_ged_events_of_the_eight_prefectures() -> None:
    incidents = _csv("car_2014", "incidents.csv")
    assert len(incidents) == 196
    assert pd.to_numeric(incidents["deaths"]).sum() == 2989
    assert set(incidents["source_ids"]) == {"D_GED231"}
    prefectures = set(_csv("car_2014", "districts.csv")["district"])
    assert {place.split(", ")[-1] for place in incidents["place"]} <= prefectures
