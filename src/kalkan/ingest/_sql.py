"""Parse, map and validate a UCDP GED CSV inside DuckDB, without a round trip through pandas.

Why: the pandas path (:mod:`kalkan.ingest.formats` + :mod:`kalkan.ingest.validate`) spends most of
an import building pandas objects. Here DuckDB's ``read_csv`` reads each used column as text, a
streaming ``row_number() OVER ()`` numbers the data rows in file order (which keeps the pipeline on
one thread), and layered SQL projections turn the text into event columns and a boolean per check.
The store inserts the accepted rows with ``INSERT ... SELECT`` (:mod:`kalkan.store`), and only the
few refused rows come back to Python, where their reason texts are written exactly as the pandas
path writes them.

Malformed records (too many or too few fields, a stray quote) are DuckDB's CSV *rejects*: they are
not data rows, and each is quarantined as ``malformed_row`` with its record number.

The same checks, codes and messages as :func:`kalkan.ingest.validate.validate` (see that module's
table), in the same order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from kalkan.errors import SchemaError
from kalkan.ingest import countries
from kalkan.ingest._parse import LARGEST_COUNT, TOO_LARGE, _show
from kalkan.model import (
    EVENT_FIELDS,
    GED_DATE_PRECISION,
    GED_WHERE_PRECISION,
    UCDP_VIOLENCE_TYPES,
    ActorType,
    LocationPrecision,
)

COLUMNS = [f.name for f in EVENT_FIELDS]
_DATE_FORMATS = ("%d %B %Y", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")


def literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """One reason a row is refused: SQL ``flag`` (true = refused), the field named and the value shown.

    The message is ``f"{code}: {field} {_show(value)} {text}"`` (or without the value when ``value``
    is None), as :class:`kalkan.ingest._parse.Problem` writes it.
    """

    code: str
    flag: str
    field: str
    value: str | None
    text: str

    def message(self, value: object) -> str:
        if self.value is None:
            return f"{self.code}: {self.field} {self.text}"
        return f"{self.code}: {self.field} {_show(value)} {self.text}"


@dataclass
class Plan:
    """The SQL of one file: ``mapped`` (a SELECT of ``row_pos``, the event columns, every check's flag
    ``k0..kN`` and shown value ``v0..vN``, and ``refused``) and the checks, in message order."""

    mapped: str
    checks: list[Check]
    refused: str  # SQL: true when any check fails

    def message(self, flags: Sequence[Any], values: Sequence[Any]) -> str:
        """The reason text of one refused row from its check flags and shown values."""
        return "; ".join(c.message(v) for c, f, v in zip(self.checks, flags, values, strict=True) if f)

    def accepted_sql(self) -> str:
        """``mapped`` without the refused rows, which go to ``kalkan_refuse`` (see :class:`Collector`).

        DuckDB runs the function only for refused rows (the THEN branch of a CASE is evaluated on
        the selected rows only), so the file is scanned once and the accepted rows stream on.
        """
        n = len(self.checks)
        flags = ", ".join(f"k{i}" for i in range(n))
        values = ", ".join(f"CAST(v{i} AS VARCHAR)" for i in range(n))
        args = f"row_pos, event_id, source_id IS NOT NULL, list_value({flags}), list_value({values})"
        return (
            f"SELECT * FROM ({self.mapped}) WHERE NOT CASE WHEN {self.refused} THEN kalkan_refuse({args}) "
            "ELSE false END"
        )


class Collector:
    """The refused rows of one scan, gathered by the DuckDB function ``kalkan_refuse``.

    :attr:`rows` holds ``(row_pos, event_id or None, reason)``; ids are kept only where the source id
    itself could be read (a refused row's id keeps the stored event from being taken for deleted).
    Keyed by row position, so a row is kept once however DuckDB schedules the calls.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._rows: dict[int, tuple[str | None, str]] = {}

    @property
    def rows(self) -> list[tuple[int, str | None, str]]:
        """The refused rows in file order."""
        return [(pos, *self._rows[pos]) for pos in sorted(self._rows)]

    def __call__(
        self, pos: pa.Array, ids: pa.Array, has_id: pa.Array, flags: pa.Array, values: pa.Array
    ) -> pa.Array:
        rows = zip(
            pos.to_pylist(),
            ids.to_pylist(),
            has_id.to_pylist(),
            flags.to_pylist(),
            values.to_pylist(),
            strict=True,
        )
        for row_pos, event_id, has, f, v in rows:
            self._rows[int(row_pos)] = (event_id if has else None, self.plan.message(f, v))
        return pa.array([True] * len(pos), type=pa.bool_())

    def register(self, con: Any) -> None:
        import duckdb
        from duckdb.sqltypes import BIGINT, BOOLEAN, VARCHAR

        with contextlib.suppress(duckdb.Error):
            con.remove_function("kalkan_refuse")
        con.create_function(
            "kalkan_refuse",
            self,
            [BIGINT, VARCHAR, BOOLEAN, duckdb.list_type(BOOLEAN), duckdb.list_type(VARCHAR)],
            BOOLEAN,
            type="arrow",
            null_handling="special",
            side_effects=True,
        )


# --- SQL building blocks ----------------------------------------------------------------------------


def _text(col: str) -> str:
    return f"NULLIF({col}, '')"


def _present(col: str) -> str:
    """The cell has something other than blanks (the pandas path's ``present``)."""
    return f"({col} IS NOT NULL AND trim({col}) <> '')"


def _date(col: str) -> str:
    """ISO 8601 (with or without a time), else ACLED's '15 March 2023', 'dd-mm-yyyy', ... (day precision)."""
    formats = "[" + ", ".join(literal(f) for f in _DATE_FORMATS) + "]"
    return (
        f"coalesce(TRY_CAST({col} AS DATE), CAST(TRY_CAST({col} AS TIMESTAMP) AS DATE), "
        f"CAST(TRY_STRPTIME(trim({col}), {formats}) AS DATE))"
    )


def _codes(col: str, mapping: dict[str, str]) -> str:
    """Map a code cell (trimmed, any case; '3.0' as '3') to a kalkan code; NULL when blank or unknown."""
    keys: dict[str, str] = {}
    for k, v in mapping.items():
        keys[k.lower()] = v
        if k.isdigit():
            keys[f"{k}.0"] = v
    exact = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in mapping.items())
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in keys.items())
    # the cell as written first (the usual case), then trimmed and lower-cased
    return f"CASE {col} {exact} ELSE CASE lower(trim({col})) {cases} ELSE NULL END END"


class _Builder:
    """Collects the SQL of one file in two layers: ``pre`` parses each used source cell once
    (``x0, x1, ...`` over the raw text columns), ``fields`` and parse checks refer to those."""

    def __init__(self, names: list[str]) -> None:
        self.position: dict[str, int] = {}
        for i, name in enumerate(names):
            self.position.setdefault(name, i)
        self.pre: list[str] = []
        self.fields: dict[str, str] = {}
        self.checks: list[Check] = []

    def raw(self, *options: str) -> str | None:
        for option in options:
            if option in self.position:
                return f"c{self.position[option]}"
        return None

    def parsed(self, sql: str) -> str:
        self.pre.append(sql)
        return f"x{len(self.pre) - 1}"

    def check(self, code: str, flag: str, field: str, value: str, text: str) -> None:
        self.checks.append(Check(code, flag, field, value, text))

    def codes(self, col: str, mapping: dict[str, str], field: str) -> str:
        out = self.parsed(_codes(col, mapping))
        valid = ", ".join(sorted(mapping)[:12])
        self.check(
            "unknown_code",
            f"CASE WHEN {out} IS NULL THEN {_present(col)} ELSE false END",
            field,
            col,
            f"is not a known code (one of {valid})",
        )
        return out

    def number(self, col: str, field: str, code: str) -> str:
        value = self.parsed(f"TRY_CAST({col} AS DOUBLE)")
        self.check(
            code,
            f"CASE WHEN {value} IS NULL OR isnan({value}) THEN {_present(col)} ELSE false END",
            field,
            col,
            "is not a number",
        )
        return f"CASE WHEN isnan({value}) THEN NULL ELSE {value} END"

    def integer(self, col: str, field: str) -> str:
        value = self.number(col, field, "bad_fatalities")
        frac = f"coalesce(isfinite({value}) AND {value} <> floor({value}), false)"
        self.check("bad_fatalities", frac, field, col, "is not a whole number")
        whole = f"isfinite({value}) AND {value} = floor({value})"
        huge = f"coalesce(abs({value}) > {LARGEST_COUNT}, false)"  # infinity too
        self.check("bad_fatalities", huge, field, col, TOO_LARGE)
        return f"CASE WHEN {whole} AND abs({value}) <= {LARGEST_COUNT} THEN CAST({value} AS BIGINT) END"

    def dates(self, col: str, field: str) -> str:
        out = self.parsed(_date(col))
        self.check(
            "bad_date",
            f"CASE WHEN {out} IS NULL THEN {_present(col)} ELSE false END",
            field,
            col,
            "is not a date (use YYYY-MM-DD)",
        )
        return out


# --- UCDP GED -----------------------------------------------------------------------------------------


def ged_plan(names: list[str], csv_sql: str, *, today: date, check_boundaries: bool) -> Plan:
    """The SQL that maps a UCDP GED file (columns ``names``, read by ``csv_sql``) to event rows.

    The same mapping as :func:`kalkan.ingest.formats.map_ged`.
    """
    b = _Builder(names)
    fields = b.fields
    ident = b.raw("id")
    if ident is None:  # formats.check_columns refuses such a file before
        raise SchemaError("a UCDP GED file needs an id column")
    fields["source"] = "'ged'"
    fields["source_id"] = _text(ident)
    fields["event_id"] = f"'ged:' || {_text(ident)}"
    fields["version"] = "1"
    start = b.dates(f"c{b.position['date_start']}", "date_start")
    fields["date_start"] = start
    end_col = b.raw("date_end")
    fields["date_end"] = start if end_col is None else f"coalesce({b.dates(end_col, 'date_end')}, {start})"
    prec = b.raw("date_prec")
    if prec is not None:
        fields["date_precision"] = b.codes(
            prec, {str(k): v.value for k, v in GED_DATE_PRECISION.items()}, "date_prec"
        )
    fields["latitude"] = b.number(f"c{b.position['latitude']}", "latitude", "bad_coordinates")
    fields["longitude"] = b.number(f"c{b.position['longitude']}", "longitude", "bad_coordinates")
    where = b.raw("where_prec")
    if where is not None:
        fields["location_precision"] = b.codes(
            where, {str(k): v.value for k, v in GED_WHERE_PRECISION.items()}, "where_prec"
        )
    iso = b.raw("iso3", "country_iso3")
    country = b.raw("country")
    if iso is not None:
        fields["country_iso3"] = f"upper({_text(iso)})"
    elif country is not None:
        fields["country_iso3"] = b.parsed(f"kalkan_iso3({_text(country)})")
    for ours, theirs in (("admin1", ("adm_1",)), ("admin2", ("adm_2",))):
        col = b.raw(*theirs)
        if col is not None:
            fields[ours] = _text(col)
    place = b.raw("where_description", "where_coordinates")
    if place is not None:
        fields["place_name"] = _text(place)
    violence = b.codes(
        f"c{b.position['type_of_violence']}",
        {k: k for k in map(str, UCDP_VIOLENCE_TYPES)},
        "type_of_violence",
    )
    kinds = {str(k): v for k, v in UCDP_VIOLENCE_TYPES.items()}

    def by_violence(pick: Callable[[tuple[Any, str, bool]], str]) -> str:
        cases = " ".join(f"WHEN {literal(k)} THEN {pick(v)}" for k, v in kinds.items())
        return f"CASE {violence} {cases} ELSE NULL END"

    fields["event_type"] = by_violence(lambda v: literal(v[0].value))
    fields["sub_event_type"] = by_violence(lambda v: literal(v[1]))
    fields["civilian_targeting"] = by_violence(lambda v: "true" if v[2] else "false")
    side_a, side_b = b.raw("side_a"), b.raw("side_b")
    a = _text(side_a) if side_a else "NULL::VARCHAR"
    v = _text(side_b) if side_b else "NULL::VARCHAR"
    fields["perpetrator"] = a
    fields["victim_group"] = v
    state = literal(ActorType.STATE_FORCES.value)
    # perpetrator: a government is state forces, anyone else an organised non-state group
    fields["perpetrator_type"] = (
        f"CASE WHEN starts_with({a}, 'Government of') THEN {state} WHEN {violence} IS NULL THEN NULL "
        f"ELSE {literal(ActorType.NON_STATE_GROUP.value)} END"
    )
    # victims: civilians in one-sided violence; a government; rebels (state-based); a group (non-state)
    fields["victim_type"] = (
        f"CASE WHEN {violence} = '3' THEN {literal(ActorType.CIVILIANS.value)} "
        f"WHEN starts_with({v}, 'Government of') THEN {state} "
        f"WHEN {violence} = '1' THEN {literal(ActorType.REBEL_GROUP.value)} "
        f"WHEN {violence} = '2' THEN {literal(ActorType.NON_STATE_GROUP.value)} END"
    )
    fields["fatalities_best"] = b.integer(f"c{b.position['best']}", "best")
    for ours, name in (("fatalities_low", "low"), ("fatalities_high", "high")):
        cell = b.raw(name)
        if cell is not None:
            fields[ours] = b.integer(cell, name)
    notes = b.raw("source_headline", "notes")
    if notes is not None:
        fields["notes"] = _text(notes)
    return _plan(b, csv_sql, today=today, check_boundaries=check_boundaries)


# --- checks that need parsed values (the pandas path's validate) --------------------------------------


def _plan(b: _Builder, csv_sql: str, *, today: date, check_boundaries: bool) -> Plan:
    from kalkan.model import REQUIRED_FIELDS

    typed = {f.name: f.duckdb_type for f in EVENT_FIELDS}
    pre = ", ".join(f"{sql} AS x{i}" for i, sql in enumerate(b.pre))
    zero = f"SELECT *{', ' if pre else ''}{pre} FROM ({csv_sql})"
    # stage 1: parsed cells -> event columns, plus every parse check's flag and shown value
    select = [f"CAST({b.fields.get(name, 'NULL')} AS {typed[name]}) AS {name}" for name in COLUMNS]
    parse_checks = b.checks
    checks = list(parse_checks)
    parse_flags = [c.flag for c in parse_checks]
    parse_bad = "(" + " OR ".join(parse_flags) + ")" if parse_flags else "false"
    stage1 = [*select]
    for i, c in enumerate(parse_checks):
        stage1.append(f"{c.flag} AS p{i}")
        stage1.append(f"{c.value} AS pv{i}" if c.value else f"NULL AS pv{i}")
    stage1.append(f"{parse_bad} AS parse_bad")
    one = f"SELECT {', '.join(stage1)} FROM ({zero})"

    # stage 2: checks on the event columns
    later: list[Check] = []
    for field in REQUIRED_FIELDS:
        later.append(Check("missing_field", f"({field} IS NULL AND NOT parse_bad)", field, None, "is empty"))
    later.append(
        Check(
            "date_order",
            "coalesce(date_end < date_start, false)",
            "date_end",
            "strftime(date_end, '%Y-%m-%d')",
            "is before date_start",
        )
    )
    later.append(
        Check(
            "future_date",
            f"coalesce(date_start > DATE {literal(today.isoformat())}, false)",
            "date_start",
            "strftime(date_start, '%Y-%m-%d')",
            f"is after today ({today.isoformat()})",
        )
    )
    later.append(
        Check(
            "bad_coordinates",
            "coalesce(abs(latitude) > 90, false)",
            "latitude",
            "latitude",
            "is outside -90..90",
        )
    )
    later.append(
        Check(
            "bad_coordinates",
            "coalesce(abs(longitude) > 180, false)",
            "longitude",
            "longitude",
            "is outside -180..180",
        )
    )
    later.append(
        Check(
            "null_island",
            "coalesce(latitude = 0 AND longitude = 0, false)",
            "latitude/longitude",
            None,
            "are (0, 0): add the real location or leave them empty",
        )
    )
    for field in ("fatalities_best", "fatalities_low", "fatalities_high"):
        later.append(Check("bad_fatalities", f"coalesce({field} < 0, false)", field, field, "is negative"))
    later.append(
        Check(
            "fatalities_order",
            "coalesce(fatalities_low > fatalities_best, false) "
            "OR coalesce(fatalities_best > fatalities_high, false) "
            "OR coalesce(fatalities_low > fatalities_high, false)",
            "fatalities",
            "'low=' || coalesce(CAST(fatalities_low AS VARCHAR), '') || ' best=' || "
            "coalesce(CAST(fatalities_best AS VARCHAR), '') || ' high=' || "
            "coalesce(CAST(fatalities_high AS VARCHAR), '')",
            "are not low <= best <= high",
        )
    )
    n_parse = len(parse_checks)
    flags = [f"p{i}" for i in range(n_parse)] + [c.flag for c in later]
    values = [f"pv{i}" for i in range(n_parse)] + [c.value or "NULL" for c in later]
    checks += later
    two = [
        *COLUMNS,
        *(f"{f} AS k{i}" for i, f in enumerate(flags)),
        *(f"{v} AS v{i}" for i, v in enumerate(values)),
    ]
    layers = f"SELECT {', '.join(two)} FROM ({one})"
    n = len(flags)
    if check_boundaries:
        # a layer of its own, so the test reads the flags above instead of computing them again
        so_far = " OR ".join(f"k{i}" for i in range(n))
        water = literal(LocationPrecision.WATER.value)
        flag = (
            f"CASE WHEN NOT ({so_far}) AND coalesce(location_precision <> {water}, true) "
            "AND country_iso3 IS NOT NULL AND isfinite(latitude) AND isfinite(longitude) "
            "THEN kalkan_outside(latitude, longitude, country_iso3) ELSE false END"
        )
        checks.append(
            Check(
                "outside_country",
                "",
                "point",
                "",
                "lies outside that country's boundary: check the coordinates or the country",
            )
        )
        shown = (
            "CAST(latitude AS VARCHAR) || ', ' || CAST(longitude AS VARCHAR) || ' in ' "
            "|| coalesce(country_iso3, '')"
        )
        layers = f"SELECT *, {flag} AS k{n}, {shown} AS v{n} FROM ({layers})"
        n += 1
    refused = " OR ".join(f"k{i}" for i in range(n))
    # The row number comes after the mapping: a filter on the flags cannot be pushed below a window,
    # so DuckDB computes each flag once instead of inlining every expression into the filter.
    mapped = f"SELECT row_number() OVER () - 1 AS row_pos, *, ({refused}) AS refused FROM ({layers})"
    return Plan(mapped, checks, "refused")


# --- DuckDB functions the SQL calls ---------------------------------------------------------------------


def register_functions(con: Any) -> None:
    """``kalkan_iso3(name)`` and ``kalkan_outside(lat, lon, iso3)`` as vectorised (Arrow) functions."""
    import duckdb
    from duckdb.sqltypes import BOOLEAN, DOUBLE, VARCHAR

    def iso3(names: pa.Array) -> pa.Array:
        import pyarrow.compute as pc

        names = names.combine_chunks() if isinstance(names, pa.ChunkedArray) else names
        encoded = pc.dictionary_encode(names)
        mapped = pa.array([countries.iso3(str(v)) for v in encoded.dictionary.to_pylist()], type=pa.string())
        return pc.take(mapped, encoded.indices)

    def outside(lat: pa.Array, lon: pa.Array, codes: pa.Array) -> pa.Array:
        import pyarrow.compute as pc
        import shapely

        codes = codes.combine_chunks() if isinstance(codes, pa.ChunkedArray) else codes
        x = np.asarray(lon.to_numpy(zero_copy_only=False), dtype=float)
        y = np.asarray(lat.to_numpy(zero_copy_only=False), dtype=float)
        out = np.zeros(len(x), dtype=bool)
        encoded = pc.dictionary_encode(codes)
        index = encoded.indices.to_numpy(zero_copy_only=False)
        for k, code in enumerate(encoded.dictionary.to_pylist()):
            geometry = countries.boundary(str(code).upper()) if code else None
            if geometry is None:
                continue
            rows = np.flatnonzero(index == k) if len(encoded.dictionary) > 1 else slice(None)
            out[rows] = ~shapely.contains_xy(geometry, x[rows], y[rows])
        return pa.array(out, type=pa.bool_())

    for name, fn, args, out in (
        ("kalkan_iso3", iso3, [VARCHAR], VARCHAR),
        ("kalkan_outside", outside, [DOUBLE, DOUBLE, VARCHAR], BOOLEAN),
    ):
        with contextlib.suppress(duckdb.Error):
            con.remove_function(name)
        con.create_function(name, fn, args, out, type="arrow", side_effects=False, null_handling="special")


# --- the CSV scan -----------------------------------------------------------------------------------------


def csv_sql(path: str, names: list[str], *, header_records: int = 1) -> str:
    """A SELECT of every column as text ``c0..cN``, in file order.

    Records that do not split into ``len(names)`` fields are rejects (table ``kalkan_rejects``), not
    rows; so are records longer than DuckDB's ``max_line_size`` (2 MB).
    """
    columns = "{" + ", ".join(f"{literal(f'c{i}')}: 'VARCHAR'" for i in range(len(names))) + "}"
    read = (
        f"read_csv({literal(path)}, columns = {columns}, header = false, skip = {header_records}, "
        "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        "store_rejects = true, rejects_table = 'kalkan_rejects', rejects_scan = 'kalkan_reject_scans')"
    )
    return f"SELECT * FROM {read}"


def clear_rejects(con: Any) -> None:
    """Drop the rejects tables of an earlier scan on this connection (another file's malformed records)."""
    con.execute("DROP TABLE IF EXISTS kalkan_rejects")
    con.execute("DROP TABLE IF EXISTS kalkan_reject_scans")


def rejects(con: Any, source: Any) -> dict[int, str]:
    """Record number (1-based, header included) -> parser message for every malformed record.

    Lines of nothing but blanks are not records (the pandas path skips them too). A byte sequence that
    is not UTF-8 is a whole-file error, as on the pandas path.
    """
    found = con.execute(
        "SELECT line, min(error_type), min(error_message), min(csv_line) FROM kalkan_rejects "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    out: dict[int, str] = {}
    for line, kind, message, raw in found:
        if kind == "INVALID ENCODING" or kind == "INVALID UNICODE":
            raise SchemaError(
                f"{source.path} is not {source.encoding} text (a byte in record {int(line)} cannot be "
                "decoded): re-save it as UTF-8"
            )
        if raw is not None and raw.strip(" \t\r\n") == "" and kind == "MISSING COLUMNS":
            continue  # a blank line
        out[int(line)] = _malformed(str(kind), str(message), raw)
    return out


def _malformed(kind: str, message: str, raw: str | None) -> str:
    """'expected 13 fields, saw 15' (DuckDB stops counting at the first field too many: count them)."""
    import csv
    import io
    import re

    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts and kind in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        saw = counts.group(2)
        if raw is not None:
            with contextlib.suppress(csv.Error, StopIteration):
                saw = str(len(next(csv.reader(io.StringIO(raw.rstrip("\r\n"))))))
        return f"expected {counts.group(1)} fields, saw {saw}"
    text = message.strip().rstrip(".")
    return text[:1].lower() + text[1:]
