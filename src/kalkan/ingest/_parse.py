"""Vectorised parsing of source columns into event columns, recording every value that fails.

Each helper takes one source column (a pandas Series of whatever dtype pandas inferred) and returns
the parsed values plus a :class:`Problem` for the rows whose value was present but unusable. Nothing
is parsed row by row in Python: refused rows are rare, so only their messages are built one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_numeric_dtype


@dataclass
class Problem:
    """Rows of a chunk refused for one reason: ``code`` (see docs/events.md) and a message per row."""

    code: str
    mask: np.ndarray
    field: str
    values: pd.Series | None
    text: str

    def messages(self, rows: np.ndarray) -> list[str]:
        """The reason text of each of ``rows`` (positions in the chunk)."""
        if self.values is None:
            return [f"{self.code}: {self.field} {self.text}"] * len(rows)
        vals = self.values.iloc[rows]
        return [f"{self.code}: {self.field} {_show(v)} {self.text}" for v in vals]


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "(empty)"
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def present(series: pd.Series, among: np.ndarray | None = None) -> np.ndarray:
    """True where the source cell is not empty (blank text counts as empty).

    With ``among``, only those positions are examined (the rest are False): callers ask only about
    the few rows whose value failed to parse, so the text is not scanned twice.
    """
    mask = np.array(series.notna().to_numpy(), dtype=bool)
    if among is not None:
        mask &= among
    if (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)) and mask.any():
        rows = np.flatnonzero(mask)
        blank = (series.iloc[rows].astype("str").str.strip() == "").fillna(True).to_numpy(dtype=bool)
        mask[rows[blank]] = False
    return mask


def text(series: pd.Series) -> pd.Series:
    """Source text as the schema's string dtype; empty cells become missing."""
    if is_float_dtype(series.dtype):
        values = series.to_numpy()
        whole = np.isfinite(values) & (np.floor(values) == values)
        out = series.astype("str")
        if whole.any():  # 12.0 read from "12": give back the digits the file had
            out[whole] = pd.Series(values[whole].astype(np.int64), index=series.index[whole]).astype("str")
        return out
    if series.dtype == "str":
        return series
    return series.astype("str")


def number(series: pd.Series, field: str, problems: list[Problem], code: str = "bad_number") -> np.ndarray:
    """Parse numbers as float64 (NaN when empty); non-numeric text is a problem."""
    if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    raw = series.astype("str")
    parsed = pd.to_numeric(raw.str.strip(), errors="coerce")
    values = parsed.to_numpy(dtype=float, na_value=np.nan)
    bad = present(series, np.isnan(values))
    if bad.any():
        problems.append(Problem(code, bad, field, series, "is not a number"))
    return values


#: The largest whole number a count may be: every whole number up to it is exact as a float, and it fits
#: a 64-bit integer column (a larger one, such as 1e20, cannot be stored).
LARGEST_COUNT = 2**53
TOO_LARGE = f"is too large for a count (more than {LARGEST_COUNT:,})"


def integer(series: pd.Series, field: str, problems: list[Problem], code: str) -> pd.Series:
    """Parse whole numbers as nullable Int64; non-numeric or fractional values are a problem."""
    if is_integer_dtype(series.dtype):
        return series.astype("Int64")
    values = number(series, field, problems, code)
    frac = np.isfinite(values) & (np.floor(values) != values)
    if frac.any():
        problems.append(Problem(code, frac, field, series, "is not a whole number"))
    huge = np.abs(values) > LARGEST_COUNT  # infinity too; NaN (missing or not a number) is not
    if huge.any():
        problems.append(Problem(code, huge, field, series, TOO_LARGE))
    values = np.where(frac | huge, np.nan, values)
    out = pd.array(np.where(np.isfinite(values), values, 0).astype(np.int64), dtype="Int64")
    out[~np.isfinite(values)] = pd.NA
    return pd.Series(out, index=series.index)


def choose(index: pd.Index, codes_: np.ndarray, values: Sequence[str | None]) -> pd.Series:
    """A string column from small integer codes into ``values`` (-1 = missing), built in Arrow.

    Much faster than ``numpy.where`` on objects followed by a conversion to the string dtype.
    """
    indices = pa.array(codes_, mask=codes_ < 0, type=pa.int32())
    arrow = pa.DictionaryArray.from_arrays(indices, pa.array(values, type=pa.string())).cast(pa.string())
    out = pd.Series(arrow.to_pandas(), dtype="str")
    out.index = index
    return out


def constant(index: pd.Index, value: str | None) -> pd.Series:
    """A string column holding one value (or missing) in every row."""
    return choose(index, np.zeros(len(index), dtype=np.int32), [value])


def _key(value: object) -> str:
    """A code as text: 3.0 -> '3', ' B ' -> 'B'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _blank(value: object) -> bool:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return True
    return not _key(value)


def translate(series: pd.Series, fn: Callable[[Any], str | None]) -> tuple[pd.Series, np.ndarray]:
    """Apply ``fn`` to each *distinct* value (codes repeat a lot), vectorised over the column.

    Returns the translated column (schema string dtype; missing where ``fn`` gives None or the
    cell is empty) and a mask of cells that were present but that ``fn`` did not know.
    """
    codes_, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = [fn(u) for u in uniques]
    dictionary = pa.array(mapped, type=pa.string())
    indices = pa.array(codes_, mask=codes_ < 0, type=pa.int32())
    arrow = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
    out = pd.Series(arrow.to_pandas(), dtype="str")
    out.index = series.index
    unknown_unique = np.array(
        [m is None and not _blank(u) for u, m in zip(uniques, mapped, strict=True)] + [False]
    )
    unknown = unknown_unique[np.where(codes_ < 0, len(uniques), codes_)]
    return out, unknown


def codes(series: pd.Series, mapping: Mapping[Any, Any], field: str, problems: list[Problem]) -> pd.Series:
    """Map source codes to kalkan codes; a present code outside ``mapping`` is an ``unknown_code``."""
    exact = {str(k): str(v) for k, v in mapping.items()}
    lower = {k.lower(): v for k, v in exact.items()}

    def look(value: object) -> str | None:
        key = _key(value)
        return exact.get(key, lower.get(key.lower()))

    mapped, bad = translate(series, look)
    if bad.any():
        valid = ", ".join(sorted({str(k) for k in mapping})[:12])
        problems.append(Problem("unknown_code", bad, field, series, f"is not a known code (one of {valid})"))
    return mapped


_DATE_FORMATS = ("%d %B %Y", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")


def dates(series: pd.Series, field: str, problems: list[Problem]) -> pd.Series:
    """Parse ISO 8601 dates (and ACLED's '15 March 2023' or 'dd-mm-yyyy') to day precision.

    Unparseable or impossible dates (2019-02-30) are a ``bad_date`` problem.
    """
    raw = series if series.dtype == "str" else series.astype("str")
    parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    todo = parsed.isna() & raw.notna()
    if todo.any():
        stripped = raw[todo].str.strip()
        for fmt in _DATE_FORMATS:
            again = pd.to_datetime(stripped, format=fmt, errors="coerce")
            parsed[again.index[again.notna()]] = again[again.notna()]
            stripped = stripped[again.isna()]
            if stripped.empty:
                break
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    out = parsed.dt.floor("D").astype("datetime64[us]")
    bad = present(series, out.isna().to_numpy(dtype=bool))
    if bad.any():
        problems.append(Problem("bad_date", bad, field, series, "is not a date (use YYYY-MM-DD)"))
    return out
