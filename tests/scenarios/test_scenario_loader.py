"""The embedded scenario loads, every file parses, every headline has a source, bad files fail clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from kalkan.errors import ScenarioError
from kalkan.scenarios import Scenario, list_scenarios, load_scenario
from kalkan.scenarios._loader import FILES

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios" / "kyrgyzstan_2010"


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return load_scenario("kyrgyzstan_2010")


def test_list_names_the_embedded_scenario() -> None:
    assert "kyrgyzstan_2010" in list_scenarios()


def test_every_file_of_the_scenario_is_shipped_with_sources_and_licences() -> None:
    for name in [*FILES, "LICENSES.md"]:
        assert (SHIPPED / name).is_file(), name


def test_places_are_southern_unique_and_located(scenario) -> None:  # type: ignore[no-untyped-def]
    places = scenario.places
    assert set(places["oblast"]) <= {"Osh", "Jalal-Abad", "Osh (city)"}
    assert places["place_id"].is_unique
    ids = places.loc[places["geonameid"] != "", "geonameid"]
    assert ids.is_unique
    assert places[["latitude", "longitude"]].notna().all().all()
    assert set(places["kind"]) == {"town", "village", "neighbourhood"}
    # Villages 1,292 + the 3 towns not among them; the 8 neighbourhoods are all villages too.
    raw_villages = pd.read_csv(SHIPPED / "villages.csv")
    raw_towns = pd.read_csv(SHIPPED / "settlements.csv")
    extra_towns = set(raw_towns["geonameid"]) - set(raw_villages["geonameid"].dropna().astype(int))
    assert len(places) == len(raw_villages) + len(extra_towns)
    assert (places["district"] != "").all()


def test_towns_keep_their_population_and_unknown_is_nan(scenario) -> None:  # type: ignore[no-untyped-def]
    places = scenario.places.set_index("geonameid")
    assert places.loc["1527534", "population"] == 322164  # Osh, GeoNames
    assert places.loc["1527534", "kind"] == "town"
    assert places.loc["1528249", "name"] == "Jalal-Abad"  # GeoNames primary name "Manas" replaced
    assert places.loc["1527725", "kind"] == "neighbourhood"  # Kyzyl-Kyshtak, named in incidents
    assert places["population"].isna().sum() > 1000


def test_every_merge_is_listed_with_a_reason(scenario) -> None:  # type: ignore[no-untyped-def]
    dropped = scenario.dropped
    assert (dropped["reason"].str.len() > 10).all()
    # 27 towns and 8 neighbourhoods are also village rows.
    assert len(dropped) == 35


def test_districts_cover_the_southern_admin2_units(scenario) -> None:  # type: ignore[no-untyped-def]
    districts = scenario.districts
    southern = [
        f
        for f in scenario.admin2["features"]
        if f["properties"]["oblast"] in ("Osh", "Jalal-Abad", "Osh (city)")
    ]
    assert len(districts) == len(southern)
    aravan = districts.set_index("district").loc["Aravan"]
    assert aravan["population"] == 106134
    assert aravan["group_share_pct"] == pytest.approx(58.7)
    assert set(scenario.oblasts["oblast"]) == {"Osh", "Jalal-Abad"}


def test_incidents_keep_every_row_and_flag_the_unlocated(scenario) -> None:  # type: ignore[no-untyped-def]
    raw = pd.read_csv(SHIPPED / "incidents.csv")
    events = scenario.incidents
    assert len(events) == len(raw)
    assert (~events["located"]).sum() == raw["latitude"].isna().sum() == 2
    assert (events["date_start"] <= events["date_end"]).all()
    assert events["source_ids"].str.match(r"S_").all()
    assert events.loc[events["located"], "admin1"].isin(["Osh", "Jalal-Abad", "Osh (city)"]).all()


def test_incident_types_are_model_event_types(scenario) -> None:  # type: ignore[no-untyped-def]
    from kalkan.model import EVENT_FIELDS, EventType

    assert set(scenario.incidents["event_type"]) <= {t.value for t in EventType}
    assert [f.name for f in EVENT_FIELDS] == list(scenario.incidents.columns[: len(EVENT_FIELDS)])


def test_every_headline_figure_carries_a_listed_source(scenario) -> None:  # type: ignore[no-untyped-def]
    headlines = scenario.headlines
    assert len(headlines) >= 6
    assert {"Deaths", "Injured", "Property destroyed", "Displacement"} <= set(headlines["topic"])
    listed = set(scenario.sources["source_id"])
    for ids in headlines["source_ids"]:
        assert ids and set(ids.split(";")) <= listed
    assert headlines["value"].notna().all()


def test_sourced_facts_cite_listed_sources(scenario) -> None:  # type: ignore[no-untyped-def]
    facts = scenario.facts[scenario.facts["status"] == "sourced"]
    listed = set(scenario.sources["source_id"])
    cited = {s for ids in facts["source_ids"] for s in ids.split(";")}
    assert cited <= listed
    assert (scenario.facts["status"] == "not found").sum() >= 3  # the data set says what it could not verify


def test_sources_have_titles_and_urls(scenario) -> None:  # type: ignore[no-untyped-def]
    sources = scenario.sources
    assert sources["source_id"].is_unique
    assert (sources["url"].str.startswith("http")).all()
    assert (sources["title"].str.len() > 0).all()


def test_unknown_scenario_names_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match=r"Unknown scenario 'nope'.*kyrgyzstan_2010"):
        load_scenario("nope")


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "mine"
    shutil.copytree(SHIPPED, target)
    return target


def test_a_folder_of_your_own_loads(copy: Path) -> None:
    assert len(load_scenario(str(copy)).places) == len(load_scenario().places)


@pytest.mark.parametrize(
    "name", ["villages.csv", "incidents.csv", "facts.md", "admin2.geojson", "scenario.toml"]
)
def test_missing_file_is_named(copy: Path, name: str) -> None:
    (copy / name).unlink()
    with pytest.raises(ScenarioError, match=rf"missing {name}"):
        load_scenario(str(copy))


def test_headers_are_trimmed_and_lower_cased_as_in_every_other_table(copy: Path, scenario: Scenario) -> None:
    # kalkan.tables reads the scenario's CSVs too: " Group_Share_Pct" is group_share_pct
    path = copy / "districts.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("group_share_pct", " Group_Share_Pct", 1), encoding="utf-8")
    pd.testing.assert_series_equal(
        load_scenario(str(copy)).districts["group_share_pct"], scenario.districts["group_share_pct"]
    )


def test_an_empty_file_is_a_problem_not_a_traceback(copy: Path) -> None:
    (copy / "villages.csv").write_text("", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"villages.csv is not a readable CSV \(.*\); fix or restore it"):
        load_scenario(str(copy))


@pytest.mark.parametrize(
    ("name", "find", "replace", "message"),
    [
        # a letter where a latitude belongs
        ("villages.csv", "41.78235", "north", r"villages.csv row 2 \(Abdukaly\) has latitude 'north', which"),
        # a date nobody can read
        ("incidents.csv", "2010-05-19", "19th of May", r"incidents.csv has 1 unreadable rows \(row 3"),
        # a column renamed
        ("districts.csv", "group_share_pct", "share", r"districts.csv lacks the column\(s\) group_share_pct"),
        # a headline that misquotes facts.md
        ("scenario.toml", 'quote = "1,386 houses burned down"', 'quote = "1,387 houses"', r"not in facts.md"),
        # broken JSON
        ("admin1.geojson", '"FeatureCollection"', '"FeatureCollection', r"admin1.geojson .* not valid JSON"),
    ],
)
def test_malformed_file_says_where_and_how_to_fix(
    copy: Path, name: str, find: str, replace: str, message: str
) -> None:
    path = copy / name
    text = path.read_text(encoding="utf-8")
    assert find in text
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(str(copy))
