"""The pages' parts that need no browser: catalogue, language choice, form parsing, offline assets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pydantic import ValidationError
from starlette.datastructures import FormData

from kalkan.errors import InputError
from kalkan.register.i18n import CATALOGUE_DIR, available_languages, extract_messages, language, negotiate
from kalkan.register.pages._report import report_from_form
from kalkan.register.pages._web import STATIC, TEMPLATES, csrf_for, safe_next

CLIENT_ID = "5b0c7f9e-3a0e-4c8f-9a57-2f3f0b1c2d3e"
BASE = {
    "client_id": CLIENT_ID,
    "type": "arson",
    "date_start": "2010-06-12",
    "latitude": "40.53",
    "longitude": "72.80",
    "source_reliability": "B",
    "information_credibility": "2",
    "description": "Houses burning",
}


def form(**extra: str) -> FormData:
    return FormData(list({**BASE, **extra}.items()))


def test_message_template_lists_every_message_the_code_uses() -> None:
    # Regenerate with `python -m kalkan.register.i18n` when this fails.
    with (CATALOGUE_DIR / "messages.pot").open("rb") as handle:
        shipped = {m.id for m in read_po(handle) if m.id}
    assert shipped == {m.id for m in extract_messages() if m.id}


@pytest.mark.parametrize("code", available_languages()[1:])
def test_each_translation_is_complete_and_keeps_its_placeholders(code: str) -> None:
    with (CATALOGUE_DIR / f"{code}.po").open("rb") as handle:
        catalogue = read_po(handle, locale=code)
    wanted = {m.id for m in extract_messages() if m.id}
    untranslated = sorted(
        str(m.id)
        for m in catalogue
        if m.id in wanted and not all(m.string if isinstance(m.string, tuple) else (m.string,))
    )
    assert untranslated == []
    problems = [(str(message.id), [str(e) for e in errors]) for message, errors in catalogue.check()]
    assert problems == []


@pytest.mark.parametrize(
    "requested, header, expected",
    [
        (["ru", None], None, "ru"),  # ?lang= wins
        ([None, "ru"], "en-GB", "ru"),  # then the cookie
        (["xx", None], "ru-RU,ru;q=0.9,en;q=0.8", "ru"),  # an unknown choice falls to the browser's
        ([None, None], "de-DE,en;q=0.5,ru;q=0.4", "en"),  # German is not offered: next by quality
        ([None, None], "de-DE, ru;q=0.7, en;q=0.3", "ru"),
        ([None, None], "de", "en"),  # nothing offered: English
        ([None, None], None, "en"),
    ],
)
def test_language_choice(requested: list[str | None], header: str | None, expected: str) -> None:
    assert negotiate(requested, header) == expected


@pytest.mark.parametrize(
    "code, number, day",
    [
        ("en", "12,345.5", "Jun 11, 2010"),
        ("ru", "12\N{NO-BREAK SPACE}345,5", "11 июн. 2010\N{NARROW NO-BREAK SPACE}г."),
    ],
)
def test_numbers_and_dates_follow_the_language(code: str, number: str, day: str) -> None:
    lang = language(code)
    assert lang.number(12345.5) == number
    assert lang.date("2010-06-11") == day
    assert lang.number(None) == "" and lang.number(float("nan")) == ""


def test_timestamps_show_their_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    from kalkan.register.i18n import display_zone

    monkeypatch.setenv("KALKAN_TIMEZONE", "Asia/Bishkek")
    display_zone.cache_clear()
    try:
        shown = language("en").datetime("2010-06-11T00:00:00+00:00", "short")
        assert shown.endswith("6:00\N{NARROW NO-BREAK SPACE}AM +06")
    finally:
        display_zone.cache_clear()


def test_report_form_becomes_an_incident() -> None:
    report = report_from_form(
        form(
            **{
                "time": "02:15",
                "victims.killed.men": "2",
                "victims.injured.girls": "1",
                "victims.missing.women": "",
                "victims.abducted.boys": "0",
                "witnesses.0.name": "A",
                "witnesses.0.contact": "+996",
                "witnesses.1.name": "",
                "captured_at": "2010-06-12T03:00:00+06:00",
            }
        )
    )
    assert str(report.client_id) == CLIENT_ID
    assert report.description == "[02:15 local time] Houses burning"
    assert {(v.category, v.sex, v.age_group, v.count) for v in report.victims} == {
        ("killed", "m", "adults", 2),
        ("injured", "f", "children", 1),
    }
    assert report.personal is not None and [w.name for w in report.personal.witnesses] == ["A"]
    assert report.captured_at is not None and report.captured_at.hour == 21  # stored in UTC


@pytest.mark.parametrize(
    "extra, error, match",
    [
        ({"victims.killed.men": "two"}, InputError, "not a whole number"),
        ({"victims.killed.men": "-1"}, InputError, "negative"),
        ({"victims.killed.aliens": "1"}, InputError, "unknown"),
        ({"witnesses.0.contact": "+996"}, InputError, "no name"),
        ({"time": "25:99"}, InputError, "HH:MM"),
        ({"latitude": "91"}, ValidationError, "latitude"),
        ({"type": "tanks"}, ValidationError, "type"),
        ({"description": ""}, ValidationError, "description"),
    ],
)
def test_report_form_errors_name_the_field(extra: dict[str, str], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        report_from_form(form(**extra))


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/incidents?status=reported", "/incidents?status=reported"),
        ("//evil.example/", "/"),  # protocol-relative: another site
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_sign_in_returns_only_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_csrf_token_depends_on_the_session() -> None:
    assert csrf_for("token-a") != csrf_for("token-b")
    assert csrf_for("token-a") == csrf_for("token-a")


def test_pages_reference_no_outside_address() -> None:
    # Offline on a mission LAN: every asset comes from this server (the tile URL is a setting).
    ours = [*TEMPLATES.glob("*.html"), *STATIC.glob("js/*.js"), *STATIC.glob("css/*.css")]
    assert ours
    offenders = [
        (p.name, m) for p in ours for m in re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", p.read_text())
    ]
    assert offenders == []


def test_every_asset_a_template_names_is_shipped() -> None:
    named = {m for p in TEMPLATES.glob("*.html") for m in re.findall(r"static\('([^']+)'\)", p.read_text())}
    assert named and all((STATIC / name).is_file() for name in named), named
    for folder in ("leaflet", "htmx"):
        assert (STATIC / "vendor" / folder / "LICENSE.txt").is_file()
    assert Path(STATIC / "vendor" / "README.md").is_file()


def test_forecast_cells_become_polygons(tmp_path: Path) -> None:
    from kalkan.errors import SchemaError
    from kalkan.register.pages._map import forecast_geojson, latest_forecast

    assert latest_forecast(tmp_path) is None
    folder = tmp_path / "forecasts"
    folder.mkdir()
    path = folder / "f.csv"
    # One H3 cell (a hexagon) and one PRIO-GRID cell (a 0.5 degree square around its centre).
    path.write_text(
        "cell_id,latitude,longitude,probability,expected_events\n"
        "8620a8777ffffff,40.50,72.78,0.62,1.4\n189006,40.75,72.75,0.1,\n"
    )
    assert latest_forecast(tmp_path) == path
    hexagon, square = forecast_geojson(path)["features"]
    assert len(hexagon["geometry"]["coordinates"][0]) == 7  # six corners, closed
    assert square["geometry"]["coordinates"][0] == [
        [72.5, 40.5],
        [73.0, 40.5],
        [73.0, 41.0],
        [72.5, 41.0],
        [72.5, 40.5],
    ]
    assert square["properties"] == {"cell_id": "189006", "probability": 0.1, "expected_events": None}
    path.write_text("cell,probability\nx,0.5\n")
    with pytest.raises(SchemaError, match="lacks the columns cell_id, latitude, longitude"):
        forecast_geojson(path)


def test_decision_buttons_put_reject_last() -> None:
    from kalkan.register.pages._vocab import moves
    from kalkan.register.service import TRANSITIONS

    assert moves(TRANSITIONS["reported"]) == ["corroborated", "verified", "rejected"]
    assert moves({"rejected", "verified"}) == ["verified", "rejected"]
    assert all(set(moves(t)) == set(t) for t in TRANSITIONS.values())  # nothing dropped
