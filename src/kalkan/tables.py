"""One reader for the CSV tables a user gives kalkan, with one set of checks.

Demand and site points, pledges, EWP country-year tables and risk-framework assessments all arrive as
CSV files written by hand or exported from a spreadsheet. :func:`read_csv_table` reads every one of
them the same way, so each gets the same checks and the same messages:

- the file exists (:class:`~kalkan.errors.InputError` otherwise);
- it parses as CSV (:class:`~kalkan.errors.SchemaError` with the parser's reason otherwise);
- column names are trimmed and lower-cased (``" Latitude"`` is ``latitude``);
- the ``required`` columns are there (a SchemaError names the missing ones and the ones it has);
- it has at least one row (an InputError otherwise).

Each message names the table (``what``) and the file and ends with ``needs``, the caller's sentence
on what the table needs. What a table's rows must hold (numbers, ranges, ids) stays with its module.

A scenario folder's tables are read by :func:`read_csv_listing`: the same parsing and column checks,
but each problem is handed to a callback instead of raised, because ``kalkan scenario check`` lists
every problem of a folder at once; a header with no rows is allowed there (a scenario may have no
incidents yet). Event sources (GED, ACLED, ...) are streamed by :mod:`kalkan.ingest`, which
quarantines bad rows instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from kalkan.errors import InputError, SchemaError

__all__ = ["read_csv_listing", "read_csv_table", "require_columns"]

#: What pandas raises on a file that is not CSV (or not UTF-8 text).
_UNREADABLE = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def read_csv_table(
    path: str | Path,
    what: str,
    *,
    required: tuple[str, ...] = (),
    needs: str = "",
    text: bool = False,
) -> pd.DataFrame:
    """The CSV file at ``path`` as a frame with trimmed, lower-case column names, checked.

    ``what`` names the table in messages ("demand", "pledges", "EWP"); ``required`` columns must be
    present; ``needs``, a sentence saying what the table needs, ends the messages about a missing
    file, an unreadable one or missing columns. With ``text``, every cell is read as text and an
    empty cell is ``""`` (tables of words and codes); otherwise pandas infers numbers and an empty
    cell is NaN.
    """
    path = Path(path)
    tail = f" {needs}" if needs else ""
    if not path.is_file():
        raise InputError(f"The {what} file {path} does not exist: give the path of a CSV file.{tail}")
    try:
        frame = _parse(path, text=text)
    except _UNREADABLE as error:
        raise SchemaError(f"Cannot read the {what} file {path} as CSV ({error}).{tail}") from None
    require_columns(frame, required, what=what, path=path, needs=needs)
    if len(frame) == 0:
        raise InputError(f"The {what} file {path} has no rows.")
    return frame


def require_columns(
    frame: pd.DataFrame, required: Sequence[str], *, what: str, path: str | Path, needs: str = ""
) -> None:
    """Raise :class:`~kalkan.errors.SchemaError` naming the ``required`` columns ``frame`` lacks.

    For a table read some other way (a JSON file) that must pass the same column check, with the
    same message, as :func:`read_csv_table`.
    """
    missing = _lacking(frame, required)
    if missing:
        tail = f" {needs}" if needs else ""
        raise SchemaError(
            f"The {what} file {path} lacks the columns {', '.join(missing)}; its columns are "
            f"{', '.join(map(str, frame.columns))}.{tail}"
        )


def read_csv_listing(
    path: Path, problem: Callable[[str], None], *, required: Sequence[str] = (), see: str = ""
) -> pd.DataFrame | None:
    """The CSV file at ``path`` as text cells (an empty cell is NaN), or None after telling ``problem`` why.

    For readers that list every problem at once (a scenario folder): the parsing and column checks of
    :func:`read_csv_table`, each failure one sentence naming the file by its name, and ``see`` (a
    document) named where the columns are described. The file must exist; it may have no rows.
    """
    tail = f" (see {see})" if see else ""
    try:
        frame = _parse(path, text=True, empty_is_missing=True)
    except _UNREADABLE as error:
        problem(f"{path.name} is not a readable CSV ({str(error).strip()}); fix or restore it.")
        return None
    missing = _lacking(frame, required)
    if missing:
        problem(
            f"{path.name} lacks the column(s) {', '.join(missing)}; it needs {', '.join(required)}{tail}."
        )
        return None
    return frame


def _parse(path: Path, *, text: bool, empty_is_missing: bool = False) -> pd.DataFrame:
    """Parse ``path`` (pandas' errors pass through) and trim and lower-case its column names.

    ``text``: every cell a string, an empty one ``""`` or, with ``empty_is_missing``, NaN (so a
    number column can tell an empty cell from text); otherwise pandas infers numbers.
    """
    if not text:
        frame = pd.read_csv(path)
    elif empty_is_missing:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:  # a short row's missing cells are empty text too
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).fillna("")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _lacking(frame: pd.DataFrame, required: Sequence[str]) -> list[str]:
    """The ``required`` columns ``frame`` does not have, in the order given."""
    return [c for c in required if c not in frame.columns]
