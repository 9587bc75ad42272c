"""Readers for ACLED (2023 and older layouts), HXL and kalkan's own CSV/GeoJSON; format detection."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kalkan.errors import SchemaError
from kalkan.ingest import open_source, read_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"


def test_acled_2023_layout() -> None:
    result = read_events(FIXTURES / "acled_sample.csv")
    assert result.format == "acled"
    assert (result.rows, result.accepted, len(result.quarantine)) == (6, 6, 0)
    e = result.events.set_index("source_id")
    assert e.loc["KGZ90001", "event_id"] == "acled:KGZ90001"
    # an "Attack" with deaths is a killing; the victims' associated actor is kept
    assert e.loc["KGZ90001", "event_type"] == "killing"
    assert e.loc["KGZ90001", "victim_group"] == "Civilians (Kyrgyzstan); Uzbek Ethnic Group (Kyrgyzstan)"
    assert e.loc["KGZ90001", "perpetrator_type"] == "rioters"  # text label
    assert e.loc["KGZ90003", "perpetrator_type"] == "rioters"  # numeric code 5
    assert e.loc["KGZ90002", "event_type"] == "looting"
    assert e.loc["KGZ90003", "event_type"] == "sexual_violence"
    assert e.loc["KGZ90004", "event_type"] == "riot"
    assert e.loc["KGZ90005", "event_type"] == "armed_clash"
    assert bool(e.loc["KGZ90001", "civilian_targeting"]) is True
    assert bool(e.loc["KGZ90004", "civilian_targeting"]) is False
    assert e.loc["KGZ90004", "date_precision"] == "week"
    assert e.loc["KGZ90006", "date_precision"] == "month"
    assert e.loc["KGZ90003", "location_precision"] == "near"
    assert set(e["country_iso3"]) == {"KGZ"}  # from the numeric ISO code 417
    assert e.loc["KGZ90001", "fatalities_best"] == 12
    assert e.loc["KGZ90001", "place_name"] == "Osh"


def test_acled_pre2023_layout() -> None:
    result = read_events(FIXTURES / "acled_pre2023_sample.csv")
    assert result.format == "acled"
    e = result.events.set_index("source_id")
    assert e.loc["KGZ80001", "date_start"] == pd.Timestamp("2010-06-11")  # "11 June 2010"
    assert e.loc["KGZ80002", "event_type"] == "abduction"
    assert e.loc["KGZ80003", "event_type"] == "other"  # Arrests
    assert bool(e.loc["KGZ80001", "civilian_targeting"]) is True  # Violence against civilians
    assert pd.isna(e.loc["KGZ80003", "civilian_targeting"]) or not e.loc["KGZ80003", "civilian_targeting"]
    assert e.loc["KGZ80003", "perpetrator_type"] == "state_forces"


def test_hxl() -> None:
    result = read_events(FIXTURES / "hxl_sample.csv")
    assert result.format == "hxl"
    assert (result.rows, result.accepted) == (4, 4)
    e = result.events.set_index("source_id")
    assert e.loc["OSH-001", "event_id"] == "hxl:OSH-001"
    assert e.loc["OSH-003", "event_type"] == "marking_of_homes"
    assert e.loc["OSH-004", "event_type"] == "displacement"
    assert e.loc["OSH-001", "fatalities_best"] == 12
    assert (e.loc["OSH-001", "source_reliability"], e.loc["OSH-001", "information_credibility"]) == ("B", "2")
    assert e.loc["OSH-002", "place_name"] == "Cheremushki"
    assert e.loc["OSH-003", "notes"] == 'Hand-made sample: "SOS" painted on roofs; homes marked'


def test_hxl_lines_count_the_hashtag_row(tmp_path: Path) -> None:
    text = (FIXTURES / "hxl_sample.csv").read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace("2010-06-12", "2010-06-99")
    path = tmp_path / "hxl_bad.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = read_events(path)
    assert result.quarantine["line"].tolist() == [4]
    assert result.quarantine["raw"].iat[0] == text[3]


def test_kalkan_geojson(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [72.7985, 40.52828]},
            "properties": {
                "event_id": "field:1",
                "date_start": "2010-06-11",
                "event_type": "arson",
                "country_iso3": "KGZ",
                "fatalities_best": 0,
            },
        },
        {
            "type": "Feature",
            "geometry": None,
            "properties": {"event_id": "field:2", "date_start": "2010-06-11", "event_type": "arson"},
        },
    ]
    path = tmp_path / "events.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = read_events(path)
    assert result.format == "kalkan"
    assert result.events["event_id"].tolist() == ["field:1"]
    assert result.events["latitude"].iat[0] == pytest.approx(40.52828)
    assert result.quarantine["line"].tolist() == [2]  # feature number
    assert "missing_field: latitude is empty" in result.quarantine["reason"].iat[0]
    assert json.loads(result.quarantine["raw"].iat[0]) == features[1]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        # a GED file without its fatality column
        (
            "id,type_of_violence,where_prec,side_a,date_start,latitude,longitude",
            "lacks the column best that the ged",
        ),
        # nothing kalkan knows
        ("name,colour,size", "cannot tell the format"),
    ],
)
def test_whole_file_errors(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(header + "\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=message):
        read_events(path)


def test_forced_format_names_missing_columns() -> None:
    with pytest.raises(SchemaError, match="lacks the columns event_id_cnty, event_date, event_type"):
        read_events(FIXTURES / "ged_sample.csv", format="acled")


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="unknown format 'xls'"):
        open_source(FIXTURES / "ged_sample.csv", format="xls")
    with pytest.raises(SchemaError, match="does not exist"):
        open_source(tmp_path / "nope.csv")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "event_id,date_start,latitude,longitude,event_type\nk:1,2010-06-11,40.5,72.8,arson\n"
        "k:2,2010-06-11,40.5,72.8,arson,Bishkek \xe9\n".encode("latin-1")
    )
    with pytest.raises(SchemaError, match="not utf-8 text"):
        read_events(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(SchemaError, match="is empty"):
        read_events(path)


def test_header_only_file_reads_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("event_id,date_start,latitude,longitude,event_type\n", encoding="utf-8")
    result = read_events(path)
    assert (result.rows, result.accepted, len(result.quarantine)) == (0, 0, 0)
