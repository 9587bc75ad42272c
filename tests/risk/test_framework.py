"""The UN Framework of Analysis as data, the assessment validator on good and bad files, the profile,
and the ``kalkan risk framework`` command."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalkan.errors import InputError, SchemaError
from kalkan.risk.framework import (
    STATUSES,
    framework_factors,
    framework_indicators,
    load_assessment,
    profile_chart,
    risk_factor_profile,
    shipped_assessment,
)


def test_fourteen_factors_grouped_as_the_framework() -> None:
    factors = framework_factors()
    assert factors["factor"].tolist() == [str(i) for i in range(1, 15)]
    groups = dict(zip(factors["factor"], factors["group"], strict=True))
    assert {groups[str(i)] for i in range(1, 9)} == {"common"}
    assert groups["9"] == groups["10"] == "genocide"
    assert groups["11"] == groups["12"] == "crimes_against_humanity"
    assert groups["13"] == groups["14"] == "war_crimes"


def test_indicators_numbered_consecutively_within_each_factor() -> None:
    ind = framework_indicators()
    assert ind["code"].is_unique
    for factor, part in ind.groupby("factor"):
        numbers = [int(code.split(".")[1]) for code in part["code"]]
        assert numbers == list(range(1, len(numbers) + 1)), factor
    # counts of the common factors as numbered in the 2014 document (reference notes, section 4.1)
    counts = ind.groupby("factor").size()
    assert counts.loc[["1", "2", "3", "4", "5", "6", "7", "8", "9"]].tolist() == [
        11,
        8,
        10,
        9,
        8,
        11,
        14,
        12,
        6,
    ]


def test_shipped_kyrgyzstan_assessment_is_valid_and_dated_by_the_letter() -> None:
    assessment = shipped_assessment("kyrgyzstan_2010")
    assert assessment.country == "Kyrgyzstan"
    assert assessment.as_of.isoformat() == "2010-06-30"
    assert all(f.date <= assessment.as_of for f in assessment.findings)
    codes = {f.code: f.status for f in assessment.findings}
    # the letter's four points: mobilisable perpetrators, weapons, eroded trust, a state unable to protect
    assert codes["5.3"] == codes["5.1"] == codes["2.8"] == codes["3.2"] == "present"
    assert codes["7.12"] == "present"  # homes marked with red paint
    assert set(assessment.sources["source_id"]) >= {s for f in assessment.findings for s in f.sources}


def test_profile_counts_add_up() -> None:
    assessment = shipped_assessment()
    profile = risk_factor_profile(assessment)
    assert len(profile) == 14
    totals = profile[list(STATUSES)].sum(axis=1) + profile["not_assessed"]
    assert (totals == profile["indicators"]).all()
    assert profile["present"].sum() == sum(f.status == "present" for f in assessment.findings)
    row = profile.set_index("factor").loc["7"]
    assert row["level"] == "many" and row["share_present"] == row["present"] / row["indicators"]
    assert profile.set_index("factor").loc["14", "level"] == "not assessed"
    assert profile["indicators_verified"].tolist() == [True] * 9 + [False] * 5


def test_profile_chart_writes_a_png(tmp_path: Path) -> None:
    path = profile_chart(risk_factor_profile(shipped_assessment()), tmp_path / "profile.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------- the validator


def good_doc() -> dict:
    return {
        "assessment": {"country": "Testland", "as_of": "2020-05-31"},
        "sources": [{"id": "S1", "title": "A report", "publisher": "NGO", "date": "2020-05-01", "url": ""}],
        "indicators": [
            {"code": "1.1", "status": "present", "evidence": "war", "sources": ["S1"], "date": "2020-05-01"},
            {
                "code": "7.12",
                "status": "absent",
                "evidence": "none seen",
                "sources": ["S1"],
                "date": "2020-05",
            },
            {"code": "8.9", "status": "unknown", "evidence": "", "sources": [], "date": "2020-05-30"},
        ],
    }


def write(tmp_path: Path, doc: dict, name: str = "a.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    assessment = load_assessment(write(tmp_path, good_doc()))
    assert [f.code for f in assessment.findings] == ["1.1", "7.12", "8.9"]
    assert assessment.findings[1].date.isoformat() == "2020-05-01"  # YYYY-MM is the month's first day
    table = assessment.table()
    assert table.loc[0, "factor"] == "1" and "armed conflict" in table.loc[0, "indicator"]


def broken(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    doc = good_doc()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        # an indicator the Framework does not have
        (
            broken(lambda d: d["indicators"][0].update(code="15.1")),
            r"1 indicator codes are not in the Framework \(15.1\)",
        ),
        # an unquoted code: YAML would read 7.10 as 7.1
        (
            broken(lambda d: d["indicators"][1].update(code=7.1)),
            r"1 indicator codes are numbers, not text \(7.1 \(entry #2\)\)",
        ),
        # a status outside present/absent/unknown
        (
            broken(lambda d: d["indicators"][0].update(status="likely")),
            r"not present/absent/unknown \(1.1 \('likely'\)\)",
        ),
        # a present finding without any source
        (
            broken(lambda d: d["indicators"][0].update(sources=[])),
            r"1 present or absent findings have no source \(1.1\)",
        ),
        # a source id missing from the source table
        (
            broken(lambda d: d["indicators"][1].update(sources=["S9"])),
            r"not in the sources table \(7.12: S9\)",
        ),
        # a date that is not ISO
        (
            broken(lambda d: d["indicators"][0].update(date="31/05/2020")),
            r"missing or non-ISO date \(1.1 \('31/05/2020'\)\)",
        ),
        # evidence dated after the assessment: look-ahead
        (
            broken(lambda d: d["indicators"][2].update(date="2020-06-02")),
            r"dated after the assessment date 2020-05-31 \(8.9",
        ),
        # the same indicator twice
        (broken(lambda d: d["indicators"].append(dict(d["indicators"][0]))), r"assessed twice \(1.1\)"),
        # no assessment date
        (broken(lambda d: d["assessment"].pop("as_of")), "the assessment date as_of is missing"),
        # no country
        (broken(lambda d: d["assessment"].pop("country")), "no country"),
    ],
)
def test_bad_files_get_clear_messages(tmp_path: Path, doc: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_assessment(write(tmp_path, doc))


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    doc = good_doc()
    doc["indicators"][0]["code"] = "99.9"
    doc["indicators"][1]["status"] = "maybe"
    doc["indicators"][2]["date"] = "soon"
    with pytest.raises(InputError, match="a.yaml has 3 problems"):
        load_assessment(write(tmp_path, doc))


def test_malformed_yaml_and_layout(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("assessment: {country: X\nindicators: [")
    with pytest.raises(SchemaError, match="not valid YAML at line"):
        load_assessment(bad)
    with pytest.raises(SchemaError, match="has no 'indicators' list"):
        load_assessment(write(tmp_path, {"assessment": {"country": "X"}}))
    with pytest.raises(SchemaError, match="neither YAML nor CSV"):
        load_assessment(write(tmp_path, good_doc(), name="a.txt"))


def test_csv_assessment(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame(
        [
            {
                "code": "5.1",
                "status": "present",
                "evidence": "arms",
                "sources": "HRW 2020; UN 2020",
                "date": "2020-01-02",
            },
            {"code": "6.4", "status": "unknown", "evidence": "", "sources": "", "date": "2020-01-03"},
        ]
    ).to_csv(path, index=False)
    assessment = load_assessment(path, country="Testland", as_of="2020-02-01")
    assert assessment.findings[0].sources == ("HRW 2020", "UN 2020")
    with pytest.raises(InputError, match="no country"):
        load_assessment(path, as_of="2020-02-01")
    pd.DataFrame([{"code": "5.1", "status": "present"}]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match="lacks the columns date, evidence, sources"):
        load_assessment(path, country="X", as_of="2020-02-01")


# ------------------------------------------------------------------------------------------- CLI


def kalkan(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from kalkan.cli import main; sys.argv = ['kalkan', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_cli_profile_of_the_shipped_assessment(tmp_path: Path) -> None:
    result = kalkan("risk", "framework", "--example", "--format", "csv", "--chart", str(tmp_path / "p.png"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("factor,name,group,indicators,present,absent,unknown")
    assert len(lines) == 15
    assert (tmp_path / "p.png").exists()


def test_cli_bad_file_one_sentence_exit_2(tmp_path: Path) -> None:
    doc = good_doc()
    doc["indicators"][0]["code"] = "15.1"
    result = kalkan("risk", "framework", str(write(tmp_path, doc)))
    assert result.returncode == 2
    assert "15.1" in result.stderr and "Traceback" not in result.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    code=st.one_of(st.text(max_size=6), st.sampled_from(["1.1", "7.12", "14.2", "0.0"])),
    status=st.one_of(st.text(max_size=8), st.sampled_from(list(STATUSES))),
    date=st.one_of(st.text(max_size=12), st.dates().map(str), st.none()),
    sources=st.lists(st.sampled_from(["S1", "S2", ""]), max_size=3),
)
def test_any_entry_either_loads_or_raises_input_error(
    tmp_path: Path, code: str, status: str, date: str | None, sources: list[str]
) -> None:
    # the validator never fails with anything but a named user error, whatever an analyst types
    doc = good_doc()
    doc["indicators"].append(
        {"code": code, "status": status, "evidence": "x", "sources": sources, "date": date}
    )
    try:
        assessment = load_assessment(write(tmp_path, doc))
    except InputError:
        return
    assert {f.status for f in assessment.findings} <= set(STATUSES)
    assert all(f.date <= assessment.as_of for f in assessment.findings)
