"""The register pages' message catalogue and per-language date and number formats.

Every string a page shows is a gettext message: the English text is the message id (templates use
``{% trans %}`` and ``_()``), ``messages.pot`` lists them all, and a language is added by dropping a
translated ``<lang>.po`` file beside it (``uz`` is written in CLDR's default script for it, the Latin one).
Catalogues drafted with machine assistance say so in their headers, pending a native speaker's review.
A message with no translation falls back to English, so a half-translated catalogue is usable.
Dates and numbers follow the chosen language through Babel's CLDR data (``babel.dates``,
``babel.numbers``), which already knows ``ru``, ``ky``, ``uz`` and ``fr``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from kalkan.errors import InputError

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_LANGUAGE",
    "TIMEZONE_ENV",
    "Language",
    "available_languages",
    "catalogue",
    "display_zone",
    "extract_messages",
    "language",
    "negotiate",
    "write_catalogue",
]

CATALOGUE_DIR = Path(__file__).resolve().parent
DEFAULT_LANGUAGE = "en"
TIMEZONE_ENV = "KALKAN_TIMEZONE"
_TEMPLATES = CATALOGUE_DIR.parent / "templates"


@dataclass(frozen=True)
class Language:
    """One language of the pages: its code, its own name, its translations and its formats."""

    code: str
    name: str
    translations: NullTranslations

    @property
    def locale(self) -> Locale:
        """The CLDR locale whose date and number formats the pages use."""
        return Locale.parse(self.code)

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (the English text), or the English text itself."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural translation for a count ``n``."""
        return self.translations.ngettext(singular, plural, n)

    def date(self, value: date | datetime | str | None, fmt: str = "medium") -> str:
        """``value`` as a date in this language's format ('' for a missing date)."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = _parse_iso(value)
            if isinstance(value, str):
                return value
        if isinstance(value, datetime):
            value = value.date()
        return format_date(value, format=fmt, locale=self.locale)

    def datetime(self, value: datetime | str | None, fmt: str = "medium") -> str:
        """``value`` as a date and time in this language's format, in the time zone it carries."""
        if value is None or value == "":
            return ""
        parsed = _parse_iso(value) if isinstance(value, str) else value
        if isinstance(parsed, str):
            return parsed
        if not isinstance(parsed, datetime):
            return format_date(parsed, format=fmt, locale=self.locale)
        if parsed.tzinfo is None:
            return format_datetime(parsed, format=fmt, locale=self.locale)
        zone = display_zone()
        local = parsed.astimezone(zone)
        return f"{format_datetime(local, format=fmt, tzinfo=zone, locale=self.locale)} {local.tzname()}"

    def number(self, value: float | int | None, digits: int | None = None) -> str:
        """``value`` with this language's digit grouping and decimal sign ('' for a missing value)."""
        if value is None or value != value:  # None or NaN
            return ""
        if digits is None:
            return format_decimal(value, locale=self.locale)
        return format_decimal(
            value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale
        )


@cache
def display_zone() -> ZoneInfo:
    """The time zone timestamps are shown in: ``KALKAN_TIMEZONE`` (e.g. ``Asia/Bishkek``), else UTC.

    The register stores every timestamp in UTC; the pages show them in one zone, named after the time.
    """
    name = os.environ.get(TIMEZONE_ENV, "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InputError(
            f"{TIMEZONE_ENV}={name!r} is not a time zone name: use an IANA name such as Asia/Bishkek or UTC."
        ) from error


def _parse_iso(text: str) -> date | datetime | str:
    """An ISO date or timestamp from the database; the text unchanged when it is neither."""
    try:
        return datetime.fromisoformat(text) if ("T" in text or " " in text) else date.fromisoformat(text)
    except ValueError:
        return text


@cache
def catalogue(code: str) -> Catalog:
    """The translated catalogue ``<code>.po`` (an empty catalogue for English, the source language)."""
    if code == DEFAULT_LANGUAGE:
        return Catalog(locale=DEFAULT_LANGUAGE)
    path = CATALOGUE_DIR / f"{code}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=code)


def available_languages() -> list[str]:
    """The language codes the pages can be shown in: English plus every shipped ``.po`` file."""
    return [DEFAULT_LANGUAGE] + sorted(p.stem for p in CATALOGUE_DIR.glob("*.po"))


@cache
def language(code: str) -> Language:
    """The :class:`Language` for ``code``; unknown codes give English."""
    if code not in available_languages():
        code = DEFAULT_LANGUAGE
    if code == DEFAULT_LANGUAGE:
        translations: NullTranslations = NullTranslations()
    else:
        buffer = io.BytesIO()
        write_mo(buffer, catalogue(code))
        buffer.seek(0)
        translations = Translations(fp=buffer)
    name = Locale.parse(code).get_display_name(code) or code
    return Language(code=code, name=name[:1].upper() + name[1:], translations=translations)


def negotiate(requested: Iterable[str | None], accept_language: str | None) -> str:
    """The language to show: the first of ``requested`` that is available, else the browser's choice.

    ``requested`` holds explicit choices in order of priority (a ``?lang=`` query, then the cookie);
    ``accept_language`` is the browser's ``Accept-Language`` header.
    """
    offered = available_languages()
    for code in requested:
        if code and code in offered:
            return code
    if accept_language:
        ranked = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            ranked.append((-quality, position, tag.strip().lower()))
        for _, _, tag in sorted(ranked):
            base = tag.split("-")[0]
            if base in offered:
                return base
    return DEFAULT_LANGUAGE


def extract_messages() -> Catalog:
    """Every message the pages use, as a catalogue (what ``messages.pot`` must contain).

    Found in the templates (``{% trans %}``, ``_()``), in the pages' Python code (``_()`` and the
    ``N_()`` marks of the vocabulary) and in :mod:`kalkan.model`'s meanings of the event types and
    Admiralty grades, which the pages show next to the choices.
    """
    from babel.messages.extract import extract_from_dir

    from kalkan.model import EventType, InformationCredibility, SourceReliability

    result = Catalog(
        project="kalkan register pages",
        version="0.1.0",
        locale=None,
        msgid_bugs_address="",
        copyright_holder="kalkan contributors",
    )
    root = CATALOGUE_DIR.parent
    method_map = [("templates/**.html", "jinja2"), ("pages/**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map=method_map, options_map=options, keywords=keywords
    ):
        result.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    for grades in (EventType, SourceReliability, InformationCredibility):
        for grade in grades:
            result.add(
                grade.meaning,
                locations=[("kalkan/model.py", 0)],
                auto_comments=[f"{grades.__name__}.{grade.name}"],
            )
    return result


def write_catalogue() -> list[Path]:
    """Write ``messages.pot`` from the code and bring every ``<lang>.po`` up to date with it.

    New messages enter each ``.po`` untranslated (English is shown until a translator fills them);
    messages no longer used are kept as obsolete entries. Returns the files written.
    """
    from babel.messages.pofile import write_po

    template = extract_messages()
    written = [CATALOGUE_DIR / "messages.pot"]
    with written[0].open("wb") as handle:
        write_po(
            handle,
            template,
            width=100,
            omit_header=False,
            sort_output=False,
            no_location=False,
            include_lineno=False,
        )
    for code in available_languages()[1:]:
        translated = catalogue(code)
        translated.update(template, no_fuzzy_matching=True)
        path = CATALOGUE_DIR / f"{code}.po"
        with path.open("wb") as handle:
            write_po(handle, translated, width=100, include_lineno=False, ignore_obsolete=False)
        written.append(path)
    catalogue.cache_clear()
    language.cache_clear()
    return written
