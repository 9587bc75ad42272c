"""A scenario "as of D" holds only what was known on D; what came later is listed with its date."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kalkan.scenarios import load_scenario
from kalkan.scenarios._known import earliest_known, known_date

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios" / "kyrgyzstan_2010"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13 Jun 2010", date(2010, 6, 13)),
        ("2010-06-13", date(2010, 6, 13)),
        ("Jun 2010", date(2010, 6, 30)),  # a month: its last day
        ("2010", date(2010, 12, 31)),  # a year: its last day
        ("17/19 Jun 2010", date(2010, 6, 19)),  # the latest date named
        ("Sep/Oct 2010", date(2010, 10, 31)),
        ("published 3 May 2011", date(2011, 5, 3)),
        ("3 Sept 2010", date(2010, 9, 3)),
        ("June 22, 2010", date(2010, 6, 22)),
        ("(2020s)", None),
        ("", None),
        (None, None),
    ],
)
def test_source_dates_are_read_as_late_as_they_allow(text: str | None, expected: date | None) -> None:
    assert known_date(text) == expected


def test_an_item_is_known_when_its_first_source_was() -> None:
    known = {"S_A": date(2010, 6, 20), "S_B": date(2010, 6, 13), "S_C": None}
    assert earliest_known("S_A;S_B;S_C", known) == date(2010, 6, 13)
    assert earliest_known("S_C", known) is None
    assert earliest_known("", known) is None


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped scenario with explicit dates known on a few rows, and one later item."""
    folder = tmp_path_factory.mktemp("asof") / "mine"
    shutil.copytree(SHIPPED, folder)
    incidents = pd.read_csv(folder / "incidents.csv", dtype=str, keep_default_na=False)
    incidents.loc[1, "known_on"] = "2010-05-20"  # the university clash, reported the next day
    incidents.loc[27, "known_on"] = "2010-07-15"  # the last row, as if first reported in July
    incidents.to_csv(folder / "incidents.csv", index=False)
    districts = pd.read_csv(folder / "districts.csv", dtype=str, keep_default_na=False)
    districts.loc[districts["district"] == "Aravan district", "known_on"] = "2011-01-01"
    districts.to_csv(folder / "districts.csv", index=False)
    with (folder / "scenario.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            '\n[[known_later]]\ndate = 2010-07-22\ntext = "A mission of 52 was decided."\n'
            'source_ids = ["S_TREND_0722"]\n'
        )
    return folder


def test_the_body_holds_only_what_was_known_on_the_day(edited: Path) -> None:
    scenario = load_scenario(str(edited))
    view, later = scenario.as_of_view(date(2010, 6, 30))
    cut = pd.Timestamp("2010-06-30")
    for table in (view.facts, view.incidents, view.sources):
        assert (table["known_on"].notna() & (table["known_on"] <= cut)).all()
    assert view.as_of == date(2010, 6, 30)
    # What the full scenario holds is either in the body or in the later list: nothing is lost.
    assert len(view.incidents) + (later["kind"] == "incident").sum() == len(scenario.incidents)
    assert len(view.facts) + (later["kind"] == "fact").sum() == len(scenario.facts)
    assert "2010-05-19" in set(view.incidents["raw_date"])  # explicit date known before the day
    july = later[(later["kind"] == "incident") & (later["date"] == pd.Timestamp("2010-07-15"))]
    assert list(july["text"]) == ["Osh: Alisher Navoi Street (Uzbek area)"]
    assert "2010-06-29 to 2010-06-30" not in set(view.incidents["raw_date"])


def test_a_census_row_published_later_is_unknown_on_the_day(edited: Path) -> None:
    scenario = load_scenario(str(edited))
    view, later = scenario.as_of_view(date(2010, 6, 30))
    before = scenario.districts.set_index("district").loc["Aravan"]
    after = view.districts.set_index("district").loc["Aravan"]
    assert before["population"] == 106134 and pd.isna(after["population"])
    assert pd.isna(after["group_share_pct"])
    assert ((later["kind"] == "census") & (later["text"] == "Aravan")).any()
    # A day after it was published, the row is back.
    assert view is not scenario
    assert (
        scenario.as_of_view(date(2011, 1, 1))
        .scenario.districts.set_index("district")
        .loc["Aravan", "population"]
        == 106134
    )


def test_known_later_items_are_only_in_the_later_list(edited: Path) -> None:
    scenario = load_scenario(str(edited))
    _, later = scenario.as_of_view()
    item = later[(later["kind"] == "known later") & (later["text"] == "A mission of 52 was decided.")]
    assert len(item) == 1
    assert item["date"].iloc[0] == pd.Timestamp("2010-07-22")
    assert later["date"].dropna().is_monotonic_increasing


def test_an_item_without_a_date_known_stays_out_of_the_body(edited: Path) -> None:
    scenario = load_scenario(str(edited))
    undated = scenario.facts[scenario.facts["known_on"].isna()]
    assert len(undated)
    view, later = scenario.as_of_view(date(2030, 1, 1))
    assert view.facts["known_on"].notna().all()
    assert later.loc[later["kind"] == "fact", "date"].isna().sum() == len(undated)


def test_the_view_leaves_the_scenario_unchanged(edited: Path) -> None:
    scenario = load_scenario(str(edited))
    incidents, facts = len(scenario.incidents), len(scenario.facts)
    scenario.as_of_view(date(2010, 6, 1))
    assert (len(scenario.incidents), len(scenario.facts)) == (incidents, facts)
    assert (
        load_scenario(str(edited)).districts["population"].notna().sum()
        == scenario.districts["population"].notna().sum()
    )


FICTION = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios" / "marenland_2031"


def test_a_count_of_the_group_at_a_place_is_used_only_once_known() -> None:
    scenario = load_scenario(str(FICTION))
    counts = scenario.places.set_index("name")
    assert counts.loc["Port Alder", "group_count"] == 30000
    assert counts.loc["Kessin", "group_count"] == 8000  # dated by its source: 2 April 2031
    assert counts.loc["Kessin", "group_count_known_on"] == pd.Timestamp("2031-04-02")
    view, later = scenario.as_of_view()  # 28 March 2031
    seen = view.places.set_index("name")
    assert seen.loc["Port Alder", "group_count"] == 30000
    assert pd.isna(seen.loc["Kessin", "group_count"])
    row = later[later["kind"] == "place count"]
    assert list(row["text"]) == ["Kessin: 8,000 the Tovar community"]
    assert row["date"].iloc[0] == pd.Timestamp("2031-04-02")


def test_the_fictional_view_keeps_only_what_was_known(tmp_path: Path) -> None:
    scenario = load_scenario(str(FICTION))
    view, later = scenario.as_of_view()
    assert list(view.headlines["figure"]) == ["35 killed by 26 March"]
    assert "61 killed in all" in set(later["text"])
    assert [t.what for t in view.simulation.targets] == ["deaths"]
    assert set(view.incidents["raw_date"]) >= {"2031-03-10", "2031-03-25"}
    assert "2031-03-26" not in set(view.incidents["raw_date"])  # reported on 2 April
    assert [a.known for a in view.asks if a.topic == "returnees"] == ["About 4,500 had returned by 26 March."]
    early, _ = scenario.as_of_view(date(2031, 3, 20))
    assert [a.known for a in early.asks if a.topic == "returnees"] == [""]
    assert [m.consent for m in early.mandates] == [""]  # the Council spoke on 25 March
