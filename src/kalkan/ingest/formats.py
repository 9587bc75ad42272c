"""One mapper per source format: a chunk of source rows in, a chunk of event rows out.

Each mapper turns a pandas chunk (columns as the file names them) into the columns of
:data:`kalkan.model.EVENT_FIELDS` and lists the values it could not parse as :class:`Problem` s.
Formats are detected from the header (:func:`detect`); ``--format`` forces one.

- ``ged``: UCDP GED CSV (codebook column names; Sundberg & Melander 2013).
- ``acled``: ACLED CSV, the 2023 layout and the older one (``iso3``, ``ally_actor_1``, numeric ``inter``).
- ``hxl``: a CSV with an HXL hashtag row under the header (HXL 1.1).
- ``kalkan``: kalkan's own CSV (the event columns) and GeoJSON (a FeatureCollection of Points).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import SchemaError
from kalkan.ingest import countries
from kalkan.ingest._parse import Problem, choose, codes, constant, dates, integer, number, text, translate
from kalkan.model import (
    ACLED_EVENT_TYPES,
    ACLED_GEO_PRECISION,
    ACLED_INTER_CODES,
    ACLED_SUB_EVENT_TYPES,
    ACLED_TIME_PRECISION,
    EVENT_COLUMNS,
    EVENT_FIELDS,
    GED_DATE_PRECISION,
    GED_WHERE_PRECISION,
    UCDP_VIOLENCE_TYPES,
    ActorType,
    DatePrecision,
    EventType,
    InformationCredibility,
    LocationPrecision,
    SourceReliability,
    parse_event_type,
)

FORMATS = ("ged", "acled", "hxl", "kalkan")


@dataclass(frozen=True)
class Format:
    """A source format: its name, the columns it must have and its chunk mapper."""

    name: str
    required: tuple[str, ...]
    mapper: Callable[[pd.DataFrame, list[Problem]], pd.DataFrame]
    header_records: int = 1


def _finish(cols: dict[str, object], index: pd.Index) -> pd.DataFrame:
    """Assemble the event columns in schema order with schema dtypes."""
    n = len(index)
    data: dict[str, Any] = {}
    for f in EVENT_FIELDS:
        value = cols.get(f.name)
        dtype: Any = f.pandas_dtype
        if value is None:
            if f.dtype == "str":
                data[f.name] = constant(index, None)
            else:
                data[f.name] = pd.Series(np.full(n, np.nan), index=index).astype(dtype)
        elif isinstance(value, pd.Series):
            data[f.name] = value.astype(dtype) if value.dtype != dtype else value
        else:
            data[f.name] = pd.Series(value, index=index).astype(dtype)
    return pd.DataFrame(data, index=index, columns=EVENT_COLUMNS)


def _iso3_of_names(names: pd.Series) -> pd.Series:
    return translate(names, lambda name: countries.iso3(str(name)))[0]


def _col(chunk: pd.DataFrame, *names: str) -> pd.Series | None:
    for name in names:
        if name in chunk.columns:
            return chunk[name]
    return None


def _empty(index: pd.Index) -> pd.Series:
    return constant(index, None)


def _coded(
    chunk: pd.DataFrame, column: str, table: Mapping[Any, Any], problems: list[Problem]
) -> pd.Series | None:
    """The source's codes in ``column`` as kalkan's (``table``), or None when the file lacks the column."""
    return codes(chunk[column], table, column, problems) if column in chunk.columns else None


def _coordinates(chunk: pd.DataFrame, cols: dict[str, object], problems: list[Problem]) -> None:
    """``latitude`` and ``longitude`` as numbers; a value that is not one is a ``bad_coordinates`` problem."""
    for name in ("latitude", "longitude"):
        cols[name] = number(chunk[name], name, problems, "bad_coordinates")


def _country(chunk: pd.DataFrame, codes_in: tuple[str, ...], names_in: tuple[str, ...]) -> pd.Series | None:
    """ISO3 codes from the first of ``codes_in`` the file has, else from the first of ``names_in``
    (country names or ISO numeric codes, looked up), else None."""
    code = _col(chunk, *codes_in)
    if code is not None:
        return text(code).str.upper()
    name = _col(chunk, *names_in)
    return None if name is None else _iso3_of_names(text(name))


# --- UCDP GED -----------------------------------------------------------------------------------


def map_ged(chunk: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    """UCDP GED rows to events: type_of_violence, where_prec, date_prec, best/low/high."""
    idx = chunk.index
    cols: dict[str, object] = {"source": constant(idx, "ged")}
    cols["source_id"] = text(chunk["id"])
    start = dates(chunk["date_start"], "date_start", problems)
    cols["date_start"] = start
    end_raw = _col(chunk, "date_end")
    cols["date_end"] = start.copy() if end_raw is None else dates(end_raw, "date_end", problems).fillna(start)
    cols["date_precision"] = _coded(chunk, "date_prec", GED_DATE_PRECISION, problems)
    _coordinates(chunk, cols, problems)
    cols["location_precision"] = _coded(chunk, "where_prec", GED_WHERE_PRECISION, problems)
    cols["country_iso3"] = _country(chunk, ("iso3", "country_iso3"), ("country",))
    cols["admin1"] = text(chunk["adm_1"]) if "adm_1" in chunk.columns else None
    cols["admin2"] = text(chunk["adm_2"]) if "adm_2" in chunk.columns else None
    place = _col(chunk, "where_description", "where_coordinates")
    cols["place_name"] = text(place) if place is not None else None
    violence = codes(
        chunk["type_of_violence"], {k: k for k in UCDP_VIOLENCE_TYPES}, "type_of_violence", problems
    )
    types = {str(k): v for k, v in UCDP_VIOLENCE_TYPES.items()}
    cols["event_type"] = translate(violence, lambda v: types[v][0].value if v in types else None)[0]
    cols["sub_event_type"] = translate(violence, lambda v: types[v][1] if v in types else None)[0]
    target = translate(violence, lambda v: str(types[v][2]) if v in types else None)[0]
    cols["civilian_targeting"] = (target == "True").astype("boolean").mask(target.isna())
    side_a = text(chunk["side_a"]) if "side_a" in chunk.columns else _empty(idx)
    side_b = text(chunk["side_b"]) if "side_b" in chunk.columns else _empty(idx)
    cols["perpetrator"] = side_a
    cols["victim_group"] = side_b
    gov_a = side_a.str.startswith("Government of").fillna(False).to_numpy(dtype=bool)
    gov_b = side_b.str.startswith("Government of").fillna(False).to_numpy(dtype=bool)
    v: Any = violence.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    # perpetrator: a government is state forces, anyone else an organised non-state group
    missing = pd.isna(v).astype(bool)
    actor_types = [
        ActorType.STATE_FORCES.value,
        ActorType.NON_STATE_GROUP.value,
        ActorType.CIVILIANS.value,
        ActorType.REBEL_GROUP.value,
    ]
    perpetrator = np.where(gov_a, 0, np.where(missing, -1, 1))
    cols["perpetrator_type"] = choose(idx, perpetrator, actor_types)
    # victims: civilians in one-sided violence; a government; rebels (state-based); a group (non-state)
    victim = np.where(v == "3", 2, np.where(gov_b, 0, np.where(v == "1", 3, np.where(v == "2", 1, -1))))
    cols["victim_type"] = choose(idx, victim, actor_types)
    cols["fatalities_best"] = integer(chunk["best"], "best", problems, "bad_fatalities")
    cols["fatalities_low"] = (
        integer(chunk["low"], "low", problems, "bad_fatalities") if "low" in chunk else None
    )
    cols["fatalities_high"] = (
        integer(chunk["high"], "high", problems, "bad_fatalities") if "high" in chunk else None
    )
    notes = _col(chunk, "source_headline", "notes")
    cols["notes"] = text(notes) if notes is not None else None
    return _finish(cols, idx)


# --- ACLED ----------------------------------------------------------------------------------------


def map_acled(chunk: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    """ACLED rows (2023 layout or older) to events."""
    idx = chunk.index
    cols: dict[str, object] = {"source": constant(idx, "acled")}
    cols["source_id"] = text(chunk["event_id_cnty"])
    start = dates(chunk["event_date"], "event_date", problems)
    cols["date_start"] = start
    cols["date_end"] = start.copy()
    cols["date_precision"] = _coded(chunk, "time_precision", ACLED_TIME_PRECISION, problems)
    _coordinates(chunk, cols, problems)
    cols["location_precision"] = _coded(chunk, "geo_precision", ACLED_GEO_PRECISION, problems)
    cols["country_iso3"] = _country(chunk, ("iso3",), ("iso", "country"))  # iso: ISO 3166 numeric
    for ours, theirs in (
        ("admin1", "admin1"),
        ("admin2", "admin2"),
        ("place_name", "location"),
        ("notes", "notes"),
    ):
        cols[ours] = text(chunk[theirs]) if theirs in chunk.columns else None
    event = text(chunk["event_type"]).str.strip()
    sub = text(chunk["sub_event_type"]).str.strip() if "sub_event_type" in chunk.columns else _empty(idx)
    sub_kinds = {k: v.value for k, v in ACLED_SUB_EVENT_TYPES.items()}
    kinds = {k: v.value for k, v in ACLED_EVENT_TYPES.items()}
    kind = translate(sub, sub_kinds.get)[0].fillna(translate(event, kinds.get)[0])
    unknown = (kind.isna() & event.notna()).to_numpy(dtype=bool)
    if unknown.any():
        problems.append(
            Problem(
                "unknown_code",
                unknown,
                "event_type",
                event,
                "is not an ACLED event type (Battles, Riots, Protests, ...)",
            )
        )
    fatalities = integer(chunk["fatalities"], "fatalities", problems, "bad_fatalities")
    killed = (fatalities.fillna(0) > 0).to_numpy(dtype=bool)
    kind = kind.mask(
        (kind == EventType.ASSAULT.value).fillna(False).to_numpy(dtype=bool) & killed, EventType.KILLING.value
    )
    cols["event_type"] = kind
    cols["sub_event_type"] = sub.fillna(event)
    if "civilian_targeting" in chunk.columns:
        ct = text(chunk["civilian_targeting"]).str.strip().str.lower()
        cols["civilian_targeting"] = (ct == "civilian targeting").fillna(False).astype("boolean")
    else:  # pre-2023 files: civilians are the target of every "Violence against civilians" event
        target = (event == "Violence against civilians").astype("boolean")
        target = target.mask(event.isna())
        cols["civilian_targeting"] = target
    cols["perpetrator"] = _join_actors(chunk, "actor1", ("assoc_actor_1", "ally_actor_1"))
    cols["victim_group"] = _join_actors(chunk, "actor2", ("assoc_actor_2", "ally_actor_2"))
    inter = {str(k): v.value for k, v in ACLED_INTER_CODES.items()}
    if "inter1" in chunk.columns:
        cols["perpetrator_type"] = codes(chunk["inter1"], inter, "inter1", problems)
    if "inter2" in chunk.columns:
        cols["victim_type"] = codes(chunk["inter2"], inter, "inter2", problems)
    cols["fatalities_best"] = fatalities
    return _finish(cols, idx)


def _join_actors(chunk: pd.DataFrame, main: str, assoc: tuple[str, ...]) -> pd.Series | None:
    if main not in chunk.columns:
        return None
    out = text(chunk[main])
    other = _col(chunk, *assoc)
    if other is not None:
        extra = text(other)
        has = extra.notna().to_numpy(dtype=bool)
        if has.any():
            out = out.copy()
            out[has] = out[has].fillna("") + "; " + extra[has]
            out = out.str.removeprefix("; ")
    return out


# --- HXL ------------------------------------------------------------------------------------------


def _norm_tag(tag: object) -> str:
    """'#Affected +killed+F' -> '#affected+f+killed' (attributes sorted, lower case)."""
    parts = str(tag).strip().lower().replace(" ", "").split("+")
    if not parts[0].startswith("#"):
        return ""
    return "+".join([parts[0], *sorted(p for p in parts[1:] if p)])


# kalkan field -> HXL tag patterns, most specific first
HXL_TAGS: dict[str, tuple[str, ...]] = {
    "event_id": ("#meta+event_id",),  # kalkan's own HXL export: 'source:source_id'
    "source": ("#meta+source+dataset",),
    "source_id": ("#meta+id", "#event+id", "#event+code", "#incident+id", "#incident+code"),
    "date_start": ("#date+start", "#date+occurred", "#date"),
    "date_end": ("#date+end",),
    "date_precision": ("#date+precision",),
    "latitude": ("#geo+lat",),
    "longitude": ("#geo+lon",),
    "location_precision": ("#geo+precision",),
    "country_iso3": ("#country+code", "#country+code+iso3"),
    "country_name": ("#country+name", "#country"),
    "admin1": ("#adm1+name", "#adm1", "#adm1+code"),
    "admin2": ("#adm2+name", "#adm2", "#adm2+code"),
    "place_name": ("#loc+name", "#loc"),
    "event_type": ("#event+type", "#event+category", "#event+name"),
    "sub_event_type": ("#event+type+sub",),
    "civilian_targeting": ("#meta+civilian_targeting",),
    "perpetrator_type": ("#group+type+perpetrator",),
    "victim_type": ("#group+type+victim",),
    "perpetrator": ("#group+first+name", "#group+name+perpetrator", "#group+perpetrator", "#group+name"),
    "victim_group": ("#group+name+second", "#group+name+victim", "#group+victim", "#affected+group"),
    "fatalities_best": ("#affected+killed", "#affected+dead"),
    "fatalities_low": ("#affected+killed+min", "#affected+killed+low"),
    "fatalities_high": ("#affected+killed+max", "#affected+high+killed"),
    "source_reliability": ("#meta+reliability", "#meta+source_reliability"),
    "information_credibility": ("#meta+credibility", "#meta+information_credibility"),
    "notes": ("#description", "#description+notes", "#meta+notes"),
}
HXL_REQUIRED = ("date_start", "latitude", "longitude", "event_type")


def hxl_columns(names: list[str], tags: list[str]) -> dict[str, str]:
    """Which file column feeds which kalkan field, chosen by hashtag (first matching pattern wins)."""
    by_tag: dict[str, str] = {}
    for name, tag in zip(names, tags, strict=False):
        key = _norm_tag(tag)
        if key and key not in by_tag:
            by_tag[key] = name
    chosen: dict[str, str] = {}
    for field, patterns in HXL_TAGS.items():
        for pattern in patterns:
            key = _norm_tag(pattern)
            if key in by_tag:
                chosen[field] = by_tag[key]
                break
    return chosen


def make_hxl_mapper(columns: dict[str, str]) -> Callable[[pd.DataFrame, list[Problem]], pd.DataFrame]:
    """A mapper for one HXL file, given :func:`hxl_columns` of its header and hashtag rows."""

    def map_hxl(chunk: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
        idx = chunk.index
        get = {field: chunk[col] for field, col in columns.items()}
        cols: dict[str, object] = {}
        source = text(get["source"]) if "source" in get else constant(idx, "hxl")
        if "event_id" in get:  # a kalkan export: keep the original identity
            prefix, rest = split_event_id(text(get["event_id"]))
            source = source.fillna(prefix)
            cols["source_id"] = rest
        elif "source_id" in get:
            cols["source_id"] = text(get["source_id"])
        else:  # no id column: the content identifies the row (stable across re-imports of the file)
            cols["source_id"] = _content_ids(chunk)
        cols["source"] = source.fillna("hxl")
        _map_native_like(get, cols, problems, idx, field_names={f: columns[f] for f in get})
        if "country_iso3" not in get and "country_name" in get:
            cols["country_iso3"] = _iso3_of_names(text(get["country_name"]))
        return _finish(cols, idx)

    return map_hxl


def _event_type_or_none(value: object) -> str | None:
    try:
        return parse_event_type(str(value)).value
    except ValueError:
        return None


def split_event_id(event_ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'ged:123' -> ('ged', '123'); an id without a colon is all source id (source missing)."""
    parts = event_ids.str.extract(r"^([^:]*):(.*)$", expand=True)
    return parts[0].astype("str"), parts[1].astype("str").fillna(event_ids)


def _content_ids(chunk: pd.DataFrame) -> pd.Series:
    joined = chunk.astype("str").fillna("").agg("\x1f".join, axis=1)
    return joined.map(lambda s: hashlib.sha1(s.encode()).hexdigest()[:16]).astype("str")


# --- kalkan CSV / GeoJSON -------------------------------------------------------------------------


def map_kalkan(chunk: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    """kalkan's own CSV (the columns of EVENT_FIELDS; ``version`` is ignored, the store assigns it)."""
    idx = chunk.index
    get = {name: chunk[name] for name in EVENT_COLUMNS if name in chunk.columns}
    cols: dict[str, object] = {}
    source = text(get["source"]) if "source" in get else constant(idx, "kalkan")
    source_id = text(get["source_id"]) if "source_id" in get else None
    if "event_id" in get:
        prefix, rest = split_event_id(text(get["event_id"]))
        if source_id is None:
            source_id = rest
        if "source" not in get:
            source = prefix.fillna("kalkan")
    cols["source"] = source.fillna("kalkan")
    cols["source_id"] = source_id if source_id is not None else _content_ids(chunk)
    _map_native_like(get, cols, problems, idx, field_names={f: f for f in get})
    return _finish(cols, idx)


def _map_native_like(
    get: dict[str, pd.Series],
    cols: dict[str, object],
    problems: list[Problem],
    idx: pd.Index,
    field_names: dict[str, str],
) -> None:
    """Columns that already use kalkan's codes (kalkan CSV, HXL): parse and check them."""
    name = field_names.get

    def kalkan_codes(field: str, kinds: type[Enum]) -> None:
        """A column of kalkan's own codes (``kinds``' values), checked, when the file has it."""
        if field in get:
            cols[field] = codes(get[field], {k.value: k.value for k in kinds}, name(field, ""), problems)

    if "date_start" in get:
        start = dates(get["date_start"], name("date_start", "date_start"), problems)
        cols["date_start"] = start
        cols["date_end"] = (
            dates(get["date_end"], name("date_end", "date_end"), problems).fillna(start)
            if "date_end" in get
            else start.copy()
        )
    kalkan_codes("date_precision", DatePrecision)
    for axis in ("latitude", "longitude"):
        if axis in get:
            cols[axis] = number(get[axis], name(axis, axis), problems, "bad_coordinates")
    kalkan_codes("location_precision", LocationPrecision)
    if "country_iso3" in get:
        cols["country_iso3"] = text(get["country_iso3"]).str.strip().str.upper()
    for field in ("admin1", "admin2", "place_name", "perpetrator", "victim_group", "notes", "sub_event_type"):
        if field in get:
            cols[field] = text(get[field])
    if "event_type" in get:
        raw = text(get["event_type"])
        kind, bad = translate(raw, _event_type_or_none)
        if bad.any():
            problems.append(
                Problem(
                    "unknown_code",
                    bad,
                    name("event_type", "event_type"),
                    raw,
                    "is not a kalkan event type (killing, arson, looting, ...)",
                )
            )
        cols["event_type"] = kind
        if "sub_event_type" not in get:
            cols["sub_event_type"] = raw
    if "civilian_targeting" in get:
        truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        flag = codes(get["civilian_targeting"], truth, name("civilian_targeting", ""), problems)
        cols["civilian_targeting"] = (flag == "True").astype("boolean").mask(flag.isna())
    actor = {a.value: a.value for a in ActorType}
    for field in ("perpetrator_type", "victim_type"):
        if field in get:
            cols[field] = codes(get[field], actor, name(field, field), problems)
    for field in ("fatalities_best", "fatalities_low", "fatalities_high"):
        if field in get:
            cols[field] = integer(get[field], name(field, field), problems, "bad_fatalities")
    kalkan_codes("source_reliability", SourceReliability)
    kalkan_codes("information_credibility", InformationCredibility)


# --- detection ------------------------------------------------------------------------------------

GED = Format("ged", ("id", "type_of_violence", "date_start", "latitude", "longitude", "best"), map_ged)
ACLED = Format(
    "acled", ("event_id_cnty", "event_date", "event_type", "latitude", "longitude", "fatalities"), map_acled
)
KALKAN = Format("kalkan", ("date_start", "latitude", "longitude", "event_type"), map_kalkan)

_HXL_TAG = re.compile(r"^#[a-z][a-z0-9_]*(\s*\+\s*[a-z][a-z0-9_]*)*$", re.IGNORECASE)

_SIGNATURES = {
    "ged": {"type_of_violence", "where_prec", "best", "side_a"},
    "acled": {"event_id_cnty", "event_type", "sub_event_type", "actor1"},
    "kalkan": {"event_id", "source_id", "date_start", "event_type", "fatalities_best"},
}


def detect(names: list[str], second_row: list[str] | None) -> str:
    """The format of a CSV from its header (and the row under it, for HXL hashtags)."""
    if second_row:
        cells = [c.strip() for c in second_row if c and c.strip()]
        tags = sum(bool(_HXL_TAG.match(c)) for c in cells)
        if cells and tags >= max(1, (len(cells) + 1) // 2):
            return "hxl"
    have = {n.strip().lower() for n in names}
    scores = {fmt: len(sig & have) / len(sig) for fmt, sig in _SIGNATURES.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] >= 0.5:
        return best
    raise SchemaError(
        f"cannot tell the format of a file with columns {', '.join(names[:8])}"
        f"{', ...' if len(names) > 8 else ''}: expected UCDP GED (id, type_of_violence, where_prec, best), "
        "ACLED (event_id_cnty, event_date, event_type, ...), an HXL hashtag row, or kalkan's own columns "
        "(event_id, date_start, event_type, ...); pass --format to force one"
    )


def format_for(name: str) -> Format:
    """The :class:`Format` called ``name`` (HXL formats are built per file by the reader)."""
    table = {"ged": GED, "acled": ACLED, "kalkan": KALKAN}
    if name not in table:
        raise SchemaError(f"unknown format {name!r}: use one of auto, {', '.join(FORMATS)}")
    return table[name]


def check_columns(fmt: Format, names: list[str], path: str) -> None:
    """A whole-file error naming every required column the file lacks, and the format expected."""
    have = set(names)
    missing = [c for c in fmt.required if c not in have]
    if missing:
        raise SchemaError(
            f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} that the "
            f"{fmt.name} format requires: add {'them' if len(missing) > 1 else 'it'}, or pass --format if "
            "the file is in another format"
        )
