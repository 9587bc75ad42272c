"""Every message of the pages has a translation in every language the pages offer, keeping its
placeholders, written in the language's own script, and the machine-assisted catalogues say so."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from kalkan.register.i18n import CATALOGUE_DIR, available_languages, extract_messages, language, negotiate

OFFERED = available_languages()
TRANSLATED = OFFERED[1:]
MACHINE_ASSISTED = ("ky", "uz", "fr")
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")
# Words that stay as they are in every language: names of formats, tools, standards and codes.
_KEPT = {
    "CSV", "GeoJSON", "HXL", "HDX", "OCHA", "QGIS", "ArcGIS", "UCDP", "ACLED", "GeoNames", "COD-AB",
    "WGS84", "SHA-256", "kalkan", "Humanitarian", "Exchange", "Language", "Looting/property",
    "destruction", "Battles", "users", "add", "risk", "hotspots", "forecasts", "ingest", "JSON",
}  # fmt: skip


@cache
def _catalogue(code: str) -> Catalog:
    with (CATALOGUE_DIR / f"{code}.po").open("rb") as handle:
        return read_po(handle, locale=code)


def _strings(message: object) -> list[str]:
    string = message.string  # type: ignore[attr-defined]
    return list(string) if isinstance(string, tuple) else [string]


def test_the_pages_offer_the_mission_languages() -> None:
    assert {"en", "ru", "ky", "uz", "fr"} <= set(OFFERED)
    assert language("ky").name == "Кыргызча" and language("fr").name == "Français"
    assert language("uz").name in ("O‘zbek", "Oʻzbek")  # CLDR's uz is the Latin script


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(code: str) -> None:
    wanted = {m.id: m for m in extract_messages() if m.id}
    catalogue = _catalogue(code)
    missing, changed = [], []
    for msgid, source in wanted.items():
        message = catalogue.get(msgid)
        if message is None or message.fuzzy or not all(_strings(message)):
            missing.append(msgid)
            continue
        ids = list(msgid) if isinstance(msgid, tuple) else [msgid]
        expected = sorted(_PLACEHOLDER.findall(ids[-1]))
        for text in _strings(message):
            if sorted(_PLACEHOLDER.findall(text)) != expected:
                changed.append((msgid, text))
        assert source.python_format == message.python_format or not source.python_format
    assert missing == [], f"{code}: {len(missing)} message(s) untranslated, e.g. {missing[:3]}"
    assert changed == [], f"{code}: placeholders differ from the English: {changed[:3]}"
    assert [(str(m.id), e) for m, e in catalogue.check()] == []


@pytest.mark.parametrize("code", [c for c in TRANSLATED if c in ("ru", "ky")])
def test_cyrillic_catalogues_do_not_mix_latin_letters_into_words(code: str) -> None:
    mixed = []
    for message in _catalogue(code):
        for text in _strings(message) if message.id else []:
            for word in re.findall(r"[\w’'-]+", _PLACEHOLDER.sub(" ", text)):
                if _CYRILLIC.search(word) and _LATIN.search(word):
                    mixed.append(word)
    assert mixed == []  # e.g. a Latin "a" inside a Cyrillic word looks right and reads wrong


@pytest.mark.parametrize("code", [c for c in TRANSLATED if c in ("uz", "fr")])
def test_latin_catalogues_have_no_cyrillic_and_uzbek_uses_its_own_letters(code: str) -> None:
    texts = [t for m in _catalogue(code) if m.id for t in _strings(m)]
    assert not [t for t in texts if _CYRILLIC.search(t)]
    if code == "uz":
        joined = " ".join(texts)
        # oʻ and gʻ take U+02BB (not a quote or a backtick); the tutuq belgisi is U+02BC.
        assert "oʻ" in joined and "gʻ" in joined and "maʼlumot" in joined
        assert not re.search(r"[og][`'‘’]", joined)


@pytest.mark.parametrize("code", MACHINE_ASSISTED)
def test_machine_assisted_catalogues_say_they_need_a_native_speaker(code: str) -> None:
    header = (CATALOGUE_DIR / f"{code}.po").read_text(encoding="utf-8").split("msgid", 1)[0]
    assert "MACHINE-ASSISTED" in header and "native speaker" in header


@pytest.mark.parametrize(
    "header, expected",
    [
        ("ky-KG,ky;q=0.9,ru;q=0.8", "ky"),
        ("uz-Latn-UZ,uz;q=0.9", "uz"),
        ("fr-CF,fr;q=0.9,sg;q=0.8", "fr"),
        ("sg-CF,fr;q=0.5", "fr"),  # Sango is not offered: French, the next choice
        ("de-DE,en;q=0.5,ru;q=0.4", "en"),
    ],
)
def test_browsers_asking_for_the_new_languages_get_them(header: str, expected: str) -> None:
    assert negotiate([None, None], header) == expected


@pytest.mark.parametrize(
    "code, number, month",
    [
        ("ky", "12\N{NO-BREAK SPACE}345,5", "июн"),
        ("uz", "12\N{NO-BREAK SPACE}345,5", "iyn"),
        ("fr", "12\N{NARROW NO-BREAK SPACE}345,5", "juin"),
    ],
)
def test_dates_and_numbers_follow_the_new_languages(code: str, number: str, month: str) -> None:
    lang = language(code)
    assert lang.number(12345.5) == number
    assert month in lang.date("2010-06-11").lower()


def test_the_longest_translations_are_known() -> None:
    """Which language is longest for how many messages: the layout tests run every language, so
    each longest text is shown in a browser (tests/register/browser/test_i18n_forms.py)."""
    longest: dict[str, int] = {}
    for message in extract_messages():
        if not message.id or isinstance(message.id, tuple):
            continue
        lengths = {"en": len(message.id)}
        for code in TRANSLATED:
            lengths[code] = max(len(t) for t in _strings(_catalogue(code)[message.id]))
        winner = max(lengths, key=lambda c: lengths[c])
        longest[winner] = longest.get(winner, 0) + 1
    assert sum(longest.values()) > 250
    assert set(longest) - {"en"}, "a translation is longer than the English somewhere"
