"""Displacement and return: the format's checks, the as-of view, and people at risk where they are."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kalkan.plan.exposure import WHERE_COLUMNS, people_where_they_are, places_at_risk
from kalkan.scenarios import Scenario, check_scenario, load_scenario
from kalkan.scenarios._displacement import PARSED, empty, latest_figures

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios" / "kyrgyzstan_2010"
HEADER = "site,kind,unit,from_units,latitude,longitude,group,people,date,known_on,source_ids,estimate,note"


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "mine"
    shutil.copytree(SHIPPED, target)
    return target


def _write(folder: Path, *rows: str) -> None:
    (folder / "displacement.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


OSH_CAMP = "Camp A,camp,,Osh (city),40.52,72.80,ethnic Uzbeks,1000,2010-06-20,2010-06-21,S_UNHCR_0625,no,"

# (row, the sentence check must give for it; row 2 is the first data row)
BAD_ROWS = {
    "unknown kind": (
        OSH_CAMP.replace(",camp,", ",tent city,"),
        "displacement.csv row 2 (Camp A) has kind 'tent city'; use one of displaced, out_of_area, camp",
    ),
    "negative people": (
        OSH_CAMP.replace(",1000,", ",-5,"),
        "displacement.csv row 2 (Camp A) has people '-5'; write a number of people, 0 or more.",
    ),
    "date in words": (
        OSH_CAMP.replace("2010-06-20", "20 June 2010"),
        "displacement.csv row 2 (Camp A) has date '20 June 2010'; write YYYY-MM-DD.",
    ),
    "known before the day counted": (
        OSH_CAMP.replace("2010-06-21", "2010-06-19"),
        "displacement.csv row 2 (Camp A) is known on 2010-06-19 but counts people on 2010-06-20",
    ),
    "unlisted source": (
        OSH_CAMP.replace("S_UNHCR_0625", "S_NOWHERE"),
        "displacement.csv row 2 (Camp A) cites ['S_NOWHERE']; cite sources listed in SOURCES.md",
    ),
    "unknown unit": (
        OSH_CAMP.replace(",Osh (city),", ",Atlantis,"),
        "displacement.csv row 2 (Camp A) names the unit 'Atlantis', which is no unit of the scenario",
    ),
    "site without coordinates": (
        OSH_CAMP.replace("40.52,72.80", ","),
        "displacement.csv row 2 (Camp A) is a camp without latitude and longitude",
    ),
    "site outside the area": (
        OSH_CAMP.replace("40.52,72.80", "10.5,72.80"),
        "displacement.csv row 2 (Camp A) has latitude 10.5, longitude 72.8, outside the scenario's area",
    ),
    "swapped coordinates": (
        OSH_CAMP.replace("40.52,72.80", "72.80,40.52"),
        "displacement.csv row 2 (Camp A) has latitude 72.8 and longitude 40.52, which look swapped",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_row_is_one_sentence_naming_the_row_and_the_fix(copy: Path, case: str) -> None:
    row, message = BAD_ROWS[case]
    _write(copy, OSH_CAMP.replace("Camp A", "Camp B"), row)
    report = check_scenario(copy)
    assert not report.ok
    expected = message.replace("row 2", "row 3")
    assert any(expected in p for p in report.problems), report.problems


def test_missing_columns_are_named(copy: Path) -> None:
    (copy / "displacement.csv").write_text("site,kind\nCamp A,camp\n", encoding="utf-8")
    report = check_scenario(copy)
    assert any(
        "displacement.csv lacks the column(s) group, people, date, source_ids" in p for p in report.problems
    )


def test_a_good_site_is_read_located_and_dated(copy: Path) -> None:
    _write(copy, OSH_CAMP.replace(",Osh (city),", ",,"))
    assert check_scenario(copy).ok
    moves = load_scenario(str(copy)).displacement
    assert len(moves) == 1  # the file written replaces the shipped one
    row = moves[moves["site"] == "Camp A"].iloc[0]
    assert row["unit"] == "Osh (city)" and row["of_group"] and row["people"] == 1000  # located by its point
    assert row["known_on"] == pd.Timestamp("2010-06-21") and row["from_units"] == ()


def test_known_on_defaults_to_the_earliest_source(copy: Path) -> None:
    _write(copy, OSH_CAMP.replace("2010-06-21", ""))
    row = load_scenario(str(copy)).displacement.iloc[0]
    assert row["known_on"] == pd.Timestamp("2010-06-25")  # S_UNHCR_0625's date


def _figures(*rows: tuple[str, str, str, float, str, str]) -> pd.DataFrame:
    """(kind, site, group, people, date, known_on) -> a parsed displacement table."""
    records = [
        {
            "row": n,
            "site": site,
            "kind": kind,
            "unit": "",
            "from_units": (),
            "latitude": np.nan,
            "longitude": np.nan,
            "group": group,
            "of_group": group == "G",
            "people": people,
            "date": pd.Timestamp(day),
            "known_on": pd.Timestamp(known),
            "source_ids": "S_1",
            "estimate": False,
            "note": "",
        }
        for n, (kind, site, group, people, day, known) in enumerate(rows, start=2)
    ]
    return pd.DataFrame(records)[PARSED] if records else empty()


def test_the_latest_figure_known_by_the_day_stands_for_its_series() -> None:
    table = _figures(
        ("camp", "A", "G", 9000, "2031-01-16", "2031-01-17"),
        ("camp", "A", "G", 1200, "2031-01-22", "2031-01-24"),
        ("camp", "A", "all", 50, "2031-01-23", "2031-01-23"),
        ("out_of_area", "B", "G", 300, "2031-01-10", "2031-01-30"),
    )
    on = latest_figures(table, date(2031, 1, 23)).set_index(["kind", "site", "group"])["people"].to_dict()
    # A's count of the 22nd is not yet published on the 23rd; B's figure only on the 30th.
    assert on == {("camp", "A", "G"): 9000, ("camp", "A", "all"): 50}
    later = latest_figures(table, date(2031, 1, 30)).set_index(["kind", "site", "group"])["people"].to_dict()
    assert later[("camp", "A", "G")] == 1200 and later[("out_of_area", "B", "G")] == 300


def _tiny(displacement: pd.DataFrame) -> Scenario:
    """Two units: D1 with 1,000 people of the group G at town T (1,000 people, 100%); D2 with 3,000 at U."""

    def place(pid: str, district: str, population: float, lat: float) -> dict[str, object]:
        return {
            "place_id": pid,
            "name": pid,
            "kind": "town",
            "latitude": lat,
            "longitude": 20.0,
            "district": district,
            "district_code": district,
            "oblast": "A",
            "population": population,
            "population_source": "test",
            "geonameid": "",
            "wof_id": "",
            "named_in": "test",
        }

    places = pd.DataFrame([place("T", "D1", 1000, 10.0), place("U", "D2", 3000, 10.5)])
    districts = pd.DataFrame(
        {
            "district": ["D1", "D2"],
            "oblast": ["A", "A"],
            "population": [1000.0, 3000.0],
            "group_share_pct": [100.0, 100.0],
            "source_ids": ["S_1", "S_1"],
        }
    )
    oblasts = pd.DataFrame(
        {
            "oblast": ["A"],
            "population": [4000.0],
            "group_share_pct": [100.0],
            "source_ids": ["S_1"],
            "note": [""],
        }
    )
    events = pd.DataFrame(
        {"latitude": [], "longitude": [], "date_start": pd.to_datetime([]), "date_end": pd.to_datetime([])}
    )
    return Scenario(
        name="tiny",
        title="tiny",
        path=Path("."),
        places=places,
        districts=districts,
        oblasts=oblasts,
        incidents=events,
        admin1={},
        admin2={},
        facts=pd.DataFrame(),
        sources=pd.DataFrame(),
        settings={"as_of": date(2031, 2, 1), "group": {"name": "G"}},
        displacement=displacement,
    )


def test_without_figures_people_are_where_the_census_puts_them() -> None:
    scenario = _tiny(_figures())
    where = people_where_they_are(scenario)
    base = places_at_risk(scenario)
    assert list(where.places.columns) == WHERE_COLUMNS
    assert where.places["at_risk"].to_numpy() == pytest.approx(base["at_risk"].to_numpy())
    assert where.change == 0 and "counted where they live" in where.describe()


def test_people_gone_and_at_sites_leave_their_units_by_hand() -> None:
    table = _figures(
        ("out_of_area", "Abroad", "G", 400, "2031-01-20", "2031-01-21"),  # from the whole area: 100 + 300
        ("camp", "Camp", "G", 200, "2031-01-20", "2031-01-21"),  # from D2 only (set below)
        ("return_area", "Back", "G", 150, "2031-01-25", "2031-01-26"),  # shown, already at home
        ("displaced", "Area", "all", 5000, "2031-01-20", "2031-01-21"),  # shown, never counted
        ("out_of_area", "Others", "all", 900, "2031-01-20", "2031-01-21"),  # another group: not counted
    )
    camp = table["site"] == "Camp"
    table.loc[camp, ["latitude", "longitude", "unit"]] = [10.2, 20.0, "D1"]
    table.loc[camp, "from_units"] = pd.Series([("D2",)], index=table.index[camp])
    table.loc[table["site"] == "Back", "from_units"] = pd.Series(
        [("D1",)], index=table.index[table["site"] == "Back"]
    )
    where = people_where_they_are(_tiny(table))
    rows = where.places.set_index("place_id")
    # Residents: T 1,000 (D1), U 3,000 (D2). Out of area 400 by residents: D1 100, D2 300. Camp 200 from D2.
    assert rows.loc["T", "at_risk"] == pytest.approx(900)
    assert rows.loc["U", "at_risk"] == pytest.approx(3000 - 300 - 200)
    assert rows.loc["site:3", "at_risk"] == pytest.approx(200) and rows.loc["site:3", "site_kind"] == "camp"
    assert rows.loc["site:3", "district"] == "D1" and rows.loc["site:3", "residents_at_risk"] == 0
    assert rows.loc["T", "returned"] == pytest.approx(150)
    assert where.residents == pytest.approx(4000) and where.now == pytest.approx(3600)
    assert where.change == pytest.approx(-400) and where.out_of_area == 400 and where.in_sites == 200
    assert where.returned == 150 and where.displaced == 5000 and where.not_placed == 0
    assert rows["change"].sum() == pytest.approx(-400)
    units = where.by_unit().set_index("district")
    assert units.loc["D2", "moved_out"] == pytest.approx(500) and units.loc[
        "D1", "in_sites"
    ] == pytest.approx(200)
    # The planner's demand: people where they are times the risk weight (1 without incidents).
    assert where.places["weight"].to_numpy() == pytest.approx(where.places["at_risk"].to_numpy())


def test_more_gone_than_counted_is_capped_and_said() -> None:
    table = _figures(("out_of_area", "Abroad", "G", 5000, "2031-01-20", "2031-01-21"))
    where = people_where_they_are(_tiny(table))
    assert where.now == pytest.approx(0) and where.not_placed == pytest.approx(1000)
    assert (where.places["at_risk"] >= 0).all()
    assert "1,000 reported moved from units where none are counted" in where.describe()


def test_kyrgyzstan_late_june_where_they_are() -> None:
    scenario = load_scenario("kyrgyzstan_2010")

    def on(day: date) -> tuple[float, float, float]:
        where = people_where_they_are(scenario.as_of_view(day).scenario, as_of=day)
        return where.change, where.returned, where.displaced

    change, returned, displaced = on(date(2010, 6, 12))
    assert change == 0 and returned == 0 and np.isnan(displaced)  # nothing known yet
    change, returned, displaced = on(date(2010, 6, 18))
    assert change == pytest.approx(-100_000) and returned == 0 and displaced == 400_000
    change, returned, displaced = on(date(2010, 6, 30))
    assert change == pytest.approx(-395) and returned == pytest.approx(99_605) and displaced == 375_000


def test_car_counts_known_later_are_left_out_then_used() -> None:
    scenario = load_scenario("car_2014")
    view = scenario.as_of_view(date(2014, 2, 20))
    later = view.later
    assert (later["kind"] == "unit count").any() and (later["kind"] == "displacement").sum() == 2
    assert people_where_they_are(view.scenario).change == 0
    march = scenario.as_of_view(date(2014, 3, 10)).scenario
    where = people_where_they_are(march, as_of=date(2014, 3, 10))
    bangui = where.places[where.places["district"] == "Bangui"]
    assert bangui["residents_at_risk"].sum() == pytest.approx(130_000)
    assert bangui["at_risk"].sum() == pytest.approx(900)
    airport = where.places[where.places["site_kind"] == "camp"]
    assert len(airport) == 1 and airport["at_risk"].iloc[0] == 0  # 100,000 people, not counted as the group
