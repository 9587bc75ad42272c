"""The shared event schema: field list, code lists and the maps from source codes."""

from __future__ import annotations

import pandas as pd
import pytest

import kalkan.model as model
from kalkan.errors import InputError
from kalkan.model import (
    EVENT_FIELDS,
    InformationCredibility,
    SourceReliability,
    acled_event_type,
    parse_event_type,
)

SHARED_COLUMNS = (
    "event_id, source, source_id, version, date_start, date_end, date_precision, latitude, longitude, "
    "location_precision, country_iso3, admin1, admin2, place_name, event_type, sub_event_type, "
    "civilian_targeting, perpetrator, perpetrator_type, victim_group, victim_type, fatalities_best, "
    "fatalities_low, fatalities_high, source_reliability, information_credibility, notes"
).split(", ")


def test_event_fields_are_the_shared_interface() -> None:
    assert [f.name for f in EVENT_FIELDS] == SHARED_COLUMNS
    assert all(f.description for f in EVENT_FIELDS)


def test_all_names_import() -> None:
    assert model.__all__ == sorted(set(model.__all__))
    for name in model.__all__:
        assert hasattr(model, name), name


def test_empty_events_has_schema_dtypes() -> None:
    frame = model.empty_events()
    assert list(frame.columns) == SHARED_COLUMNS
    assert frame["date_start"].dtype == "datetime64[us]"
    assert frame["fatalities_best"].dtype == pd.Int64Dtype()


def test_required_event_types_exist() -> None:
    for code in (
        "killing",
        "sexual_violence",
        "arson",
        "looting",
        "abduction",
        "displacement",
        "threat",
        "marking_of_homes",
        "armed_clash",
        "explosion_remote_violence",
        "riot",
        "protest",
        "assault",
        "other",
    ):
        assert model.EventType(code).meaning


def test_admiralty_grades_have_meanings() -> None:
    assert [g.value for g in SourceReliability] == list("ABCDEF")
    assert [g.value for g in InformationCredibility] == list("123456")
    assert SourceReliability.F.meaning.startswith("Reliability cannot be judged")
    assert InformationCredibility("1").meaning.startswith("Confirmed")


@pytest.mark.parametrize(
    ("event_type", "sub_event_type", "fatalities", "expected"),
    [
        ("Battles", "Armed clash", 3, "armed_clash"),
        # an attack on civilians with deaths is a killing, without deaths an assault
        ("Violence against civilians", "Attack", 2, "killing"),
        ("Violence against civilians", "Attack", 0, "assault"),
        ("Violence against civilians", "Sexual violence", 0, "sexual_violence"),
        ("Strategic developments", "Looting/property destruction", 0, "looting"),
        ("Strategic developments", "Arrests", 0, "other"),
        ("Riots", "Mob violence", 1, "riot"),
        # an unknown sub-type falls back to the event type
        ("Protests", "Something new", 0, "protest"),
    ],
)
def test_acled_mapping(event_type: str, sub_event_type: str, fatalities: int, expected: str) -> None:
    assert acled_event_type(event_type, sub_event_type, fatalities) == expected


def test_every_acled_sub_type_maps() -> None:
    assert len(model.ACLED_SUB_EVENT_TYPES) == 25
    assert set(model.ACLED_EVENT_TYPES) >= {"Battles", "Riots", "Protests"}


def test_ucdp_violence_types() -> None:
    assert model.UCDP_VIOLENCE_TYPES[3][0] == "killing"
    assert model.UCDP_VIOLENCE_TYPES[3][2] is True
    assert {t[0] for t in model.UCDP_VIOLENCE_TYPES.values()} == {"killing", "armed_clash"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("marking_of_homes", "marking_of_homes"),
        ("Marking of homes", "marking_of_homes"),
        ("rape", "sexual_violence"),
        ("Sexual violence", "sexual_violence"),
        ("Mob violence", "riot"),
        ("ARSON", "arson"),
    ],
)
def test_parse_event_type(text: str, expected: str) -> None:
    assert parse_event_type(text) == expected


def test_parse_event_type_unknown_names_valid_codes() -> None:
    with pytest.raises(InputError, match="unknown event type 'picnic': use one of killing"):
        parse_event_type("picnic")
