"""Bad scenario files: one sentence per problem naming the file, the row and the fix; never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kalkan.errors import ScenarioCheckError
from kalkan.scenarios import check_scenario, load_scenario

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "kalkan" / "scenarios" / "kyrgyzstan_2010"


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "mine"
    shutil.copytree(SHIPPED, target)
    return target


def _replace(name: str, find: str, new: str) -> Callable[[Path], int]:
    """Edit one file; return the 1-based line of the edit (the row a message must name)."""

    def edit(folder: Path) -> int:
        path = folder / name
        lines = path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, start=1):
            if find in line:
                lines[number - 1] = line.replace(find, new, 1)
                path.write_text("\n".join(lines), encoding="utf-8")
                return number
        raise AssertionError(f"{find!r} not in {name}")

    return edit


def _drop_code(folder: Path) -> int:
    path = folder / "admin2.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["features"][4]["properties"]["code"]
    path.write_text(json.dumps(data), encoding="utf-8")
    return 5


# (edit, the message it must give; "{row}" is the line the edit changed)
CASES: dict[str, tuple[Callable[[Path], int], str]] = {
    "negative district population": (
        _replace("districts.csv", ",106134,", ",-106134,"),
        "districts.csv row {row} (Aravan district) has population -106134; write a number of 0 or more",
    ),
    "negative town population": (
        _replace("settlements.csv", ",322164,", ",-322164,"),
        "settlements.csv row {row} (Osh) has population -322164; write a number of 0 or more",
    ),
    "negative village population": (
        _replace("villages.csv", ",3046,", ",-3046,"),
        "villages.csv row {row} (Ak-Jol) has population -3046",
    ),
    "incident far outside every unit": (
        _replace("incidents.csv", "40.52828,72.7985", "43.45,70.0"),
        "incidents.csv row {row} (Osh city centre (casino fight escalates)) at 43.45, 70 is more than about "
        "20 km from every unit of admin2.geojson; fix its coordinates",
    ),
    "incident outside the area": (
        _replace("incidents.csv", "40.52828,72.7985", "10.5,72.7985"),
        "incidents.csv row {row} (Osh city centre (casino fight escalates)) has latitude 10.5, longitude "
        "72.7985, outside the scenario's area",
    ),
    "latitude and longitude swapped": (
        _replace("incidents.csv", "40.52828,72.7985", "72.7985,40.52828"),
        "incidents.csv row {row} (Osh city centre (casino fight escalates)) has latitude 72.7985 and "
        "longitude 40.5283, which look swapped",
    ),
    "town outside the area": (
        _replace("settlements.csv", "40.52828,72.7985", "40.52828,-72.7985"),
        "settlements.csv row {row} (Osh) has latitude 40.5283, longitude -72.7985, outside the scenario's",
    ),
    "as_of written in words": (
        _replace("scenario.toml", "as_of = 2010-06-30", 'as_of = "28 March 2031"'),
        "scenario.toml has as_of = '28 March 2031', which is not a date; write it as a date without quotes, "
        "e.g. as_of = 2031-03-28.",
    ),
    "GeoJSON feature without code": (
        _drop_code,
        "admin2.geojson feature {row} (Ala-Buka) has no 'code' property; add a unique code to its",
    ),
    "census row that is no unit": (
        _replace("scenario.toml", '"Aravan district" = "Aravan"', '"Aravan district" = "Aravan-X"'),
        "[district_names] in scenario.toml maps 'Aravan district' to 'Aravan-X', which is not an "
        "admin2.geojson unit",
    ),
    "share above 100": (
        _replace("districts.csv", ",58.7,", ",158.7,"),
        "districts.csv row {row} (Aravan district) has group_share_pct 158.7; a share is a percent from 0",
    ),
    "negative group count of a unit": (
        _replace("districts.csv", ",,146300,,", ",,-146300,,"),
        "districts.csv row {row} (Osh city) has group_count_max -146300; write a number of 0 or more",
    ),
    "group count of a unit above its population": (
        _replace("districts.csv", ",S_WIKI_ARAVAN,,,,", ",S_WIKI_ARAVAN,200000,,yes,"),
        "districts.csv row {row} (Aravan district) counts 200,000 people of the group, more than its "
        "population 106,134; fix one of them.",
    ),
    "option of an unknown kind": (
        _replace("scenario.toml", 'kind = "police"', 'kind = "tanks"'),
        "scenario.toml [[option]] 3 has kind = 'tanks'; use monitors (unarmed monitors), police (armed "
        "individual police) or fpu (formed police units).",
    ),
    "old column name": (
        _replace("districts.csv", "group_share_pct", "uzbek_share_pct"),
        "districts.csv lacks the column(s) group_share_pct; it needs",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_one_sentence_with_file_row_and_fix(copy: Path, case: str) -> None:
    edit, expected = CASES[case]
    row = edit(copy)
    message = expected.format(row=row)
    report = check_scenario(copy)
    assert not report.ok
    assert any(message in problem for problem in report.problems), report.problems
    with pytest.raises(ScenarioCheckError) as caught:
        load_scenario(str(copy))
    assert message in str(caught.value)
    assert caught.value.problems == report.problems


def test_problems_are_all_reported_at_once(copy: Path) -> None:
    _replace("settlements.csv", ",322164,", ",-322164,")(copy)
    _replace("districts.csv", ",106134,", ",-106134,")(copy)
    _replace("scenario.toml", 'kind = "police"', 'kind = "tanks"')(copy)
    assert len(check_scenario(copy).problems) == 3


def test_the_shipped_scenario_is_clean() -> None:
    report = check_scenario("kyrgyzstan_2010")
    assert report.ok, report.problems


def test_placeholders_are_to_fill_not_problems(copy: Path) -> None:
    _replace("scenario.toml", 'name = "ethnic Uzbeks"', 'name = "TO FILL: the group at risk"')(copy)
    _replace("districts.csv", "2009 census (de jure)", "TO FILL: census note")(copy)
    report = check_scenario(copy)
    assert report.ok, report.problems
    assert any("TO FILL: the group at risk" in item for item in report.to_fill)
    notes = [item for item in report.to_fill if item.startswith("districts.csv row")]
    assert any("TO FILL: census note" in item for item in notes), report.to_fill
    assert load_scenario(str(copy)).group_at_risk == "TO FILL: the group at risk"


FICTION = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios" / "marenland_2031"


@pytest.mark.parametrize(
    ("find", "new", "message"),
    [
        (",30000,", ",-30000,", "settlements.csv row 2 (Port Alder) has group_count -30000; write"),
        (",S_RELIEF_0315,2031", ",S_NOWHERE,2031", "row 2 (Port Alder) gives a group_count citing"),
        (",2031-03-15", ",15 March", "settlements.csv row 2 has known_on '15 March'; write YYYY-MM-DD."),
    ],
)
def test_group_counts_at_places_are_checked(tmp_path: Path, find: str, new: str, message: str) -> None:
    folder = tmp_path / "fiction"
    shutil.copytree(FICTION, folder)
    _replace("settlements.csv", find, new)(folder)
    report = check_scenario(folder)
    assert any(message in problem for problem in report.problems), report.problems


def test_an_unknown_perpetrator_kind_is_one_sentence(copy: Path) -> None:
    _replace(
        "incidents.csv",
        ",joint police and army search operation,state_forces,",
        ",joint police and army search operation,cops,",
    )(copy)
    report = check_scenario(copy)
    assert any("perpetrator_type 'cops' is not one of state_forces" in p for p in report.problems), (
        report.problems
    )


def test_incidents_attributed_to_security_forces_are_marked() -> None:
    incidents = load_scenario("kyrgyzstan_2010").incidents
    forces = incidents[incidents["perpetrator_type"] == "state_forces"]
    assert forces["place_name"].str.contains("Nariman").any()  # the sweep of 21 June 2010
    assert (forces["victim_group"] == "Uzbek").sum() >= 5
