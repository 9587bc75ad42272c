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
Event sources (GED, ACLED, ...) are streamed by :mod:`kalkan.ingest`, which quarantines bad rows
instead; scenario folders are read by :mod:`kalkan.scenarios`, which lists every problem at once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kalkan.errors import InputError, SchemaError

__all__ = ["read_csv_table"]


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
        if text:  # a short row's missing cells are empty text too
            frame = pd.read_csv(path, dtype=str, keep_default_na=False).fillna("")
        else:
            frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SchemaError(f"Cannot read the {what} file {path} as CSV ({error}).{tail}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {what} file {path} lacks the columns {', '.join(missing)}; its columns are "
            f"{', '.join(map(str, frame.columns))}.{tail}"
        )
    if len(frame) == 0:
        raise InputError(f"The {what} file {path} has no rows.")
    return frame
