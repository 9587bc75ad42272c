"""Find the line number and exact raw text of chosen CSV records, reading the file in blocks.

The fast path of an import parses the file with pandas and never looks at raw bytes. Only when some
rows are refused does kalkan need their line numbers and raw text for the quarantine; this module
then scans the file once more, in fixed-size blocks (memory stays flat with file size), with numpy.

A record ends at a newline outside double quotes. Because a CSV escapes a quote inside a quoted
field by doubling it, the parity of the number of quote characters before a newline says whether
that newline is inside a quoted field. Records are numbered from 1 (the header is record 1), blank
records included, which is how pandas numbers the lines it skips ("Skipping line 7: ..."). A record is
blank when it holds nothing but spaces, tabs and carriage returns: pandas skips those lines, so they
are not data rows either here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_BLOCK_BYTES = 16 << 20
_LOOP_MAX = 256  # records starting with whitespace checked one by one; beyond, one pass per block
_NL = 10
_QUOTE = 34
_CR = 13
_SPACE = 32
_TAB = 9


@dataclass(frozen=True)
class RecordSpan:
    """Where one record is: its first physical line (1-based) and its byte range in the file."""

    line: int
    start: int
    end: int


def locate_records(
    path: str | Path,
    *,
    data_rows: np.ndarray,
    records: np.ndarray,
    header_records: int = 1,
    skipped_records: np.ndarray | None = None,
) -> tuple[dict[int, RecordSpan], dict[int, RecordSpan]]:
    """Locate data rows (0-based, as pandas numbers them) and records (1-based numbers).

    Parameters
    ----------
    data_rows
        0-based indices of parsed data rows, counted the way pandas counts them: header records,
        blank records and ``skipped_records`` do not count.
    records
        1-based record numbers to locate directly (e.g. lines pandas skipped as malformed).
    header_records
        How many records the header takes (2 for HXL: column names and hashtags).
    skipped_records
        1-based record numbers pandas skipped as malformed (not data rows).
    """
    want_rows = np.unique(np.asarray(data_rows, dtype=np.int64))
    want_recs = np.unique(np.asarray(records, dtype=np.int64))
    skipped = np.unique(np.asarray(skipped_records if skipped_records is not None else [], dtype=np.int64))
    found_rows: dict[int, RecordSpan] = {}
    found_recs: dict[int, RecordSpan] = {}
    if len(want_rows) == 0 and len(want_recs) == 0:
        return found_rows, found_recs

    offset = 0  # file offset of the block start
    record_start = 0  # offset where the current (unfinished) record starts
    record_line = 1  # physical line where it starts
    newlines_before = 0  # newlines in the file before the block
    in_quote = 0
    pending_text = False  # the unfinished record holds a byte other than whitespace
    record_no = 0  # records finished so far
    data_no = 0  # data rows finished so far
    with open(path, "rb") as f:
        while True:
            block = f.read(_BLOCK_BYTES)
            if not block:
                break
            buf = np.frombuffer(block, dtype=np.uint8)
            nl = np.flatnonzero(buf == _NL)
            quotes = np.flatnonzero(buf == _QUOTE)
            parity = (np.searchsorted(quotes, nl) + in_quote) % 2
            ends_local = nl[parity == 0]
            in_quote = (in_quote + len(quotes)) % 2
            if len(ends_local):
                ends = offset + ends_local
                starts = np.concatenate(([record_start], ends[:-1] + 1))
                # physical line of each record start: 1 + newlines before it
                nl_index = np.searchsorted(nl, ends_local)  # index among this block's newlines
                lines = np.concatenate(([record_line], newlines_before + nl_index[:-1] + 2))
                numbers = record_no + 1 + np.arange(len(ends))
                # a record is blank when it has no byte but whitespace
                local_starts = np.maximum(starts - offset, 0)
                blank = _blank(buf, local_starts, ends_local)
                if starts[0] < offset:  # the first record began in an earlier block
                    blank[0] &= not pending_text
                _collect(
                    found_rows,
                    found_recs,
                    want_rows,
                    want_recs,
                    skipped,
                    numbers,
                    starts,
                    ends,
                    lines,
                    blank,
                    header_records,
                    data_no,
                )
                is_data = (numbers > header_records) & ~blank & ~np.isin(numbers, skipped)
                data_no += int(is_data.sum())
                record_no = int(numbers[-1])
                record_start = int(ends[-1]) + 1
                record_line = int(newlines_before + nl_index[-1] + 2)
                pending_text = not bool(_whitespace(buf[ends_local[-1] + 1 :]).all())
            else:
                pending_text = pending_text or bool((~_whitespace(buf)).any())
            newlines_before += len(nl)
            offset += len(block)
            if len(found_rows) == len(want_rows) and len(found_recs) == len(want_recs):
                return found_rows, found_recs  # everything asked for is found: no need to read on
    if offset > record_start:  # last record without a final newline
        numbers = np.array([record_no + 1])
        _collect(
            found_rows,
            found_recs,
            want_rows,
            want_recs,
            skipped,
            numbers,
            np.array([record_start]),
            np.array([offset]),
            np.array([record_line]),
            np.array([not pending_text]),
            header_records,
            data_no,
        )
    return found_rows, found_recs


def _whitespace(buf: np.ndarray) -> np.ndarray:
    """True where a byte is a space, a tab or a carriage return."""
    found: np.ndarray = (buf == _SPACE) | (buf == _TAB) | (buf == _CR)
    return found


def _blank(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """True where ``buf[start:end]`` is all whitespace (an empty range included).

    Almost every record starts with a non-whitespace byte, which settles it; only records that start
    with whitespace are checked byte by byte (by a running count of non-whitespace bytes when there
    are many of them, which costs a pass over the block).
    """
    blank = starts >= ends
    first_ws = np.zeros(len(starts), dtype=bool)
    filled = ~blank
    first_ws[filled] = _whitespace(buf[starts[filled]])
    check = np.flatnonzero(first_ws)
    if len(check) > _LOOP_MAX:
        text_before = np.concatenate(([0], np.cumsum(~_whitespace(buf), dtype=np.int64)))
        blank[check] = text_before[ends[check]] == text_before[starts[check]]
    else:
        for i in check:
            blank[i] = bool(_whitespace(buf[starts[i] : ends[i]]).all())
    return blank


def _collect(
    found_rows: dict[int, RecordSpan],
    found_recs: dict[int, RecordSpan],
    want_rows: np.ndarray,
    want_recs: np.ndarray,
    skipped: np.ndarray,
    numbers: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    lines: np.ndarray,
    blank: np.ndarray,
    header_records: int,
    data_no: int,
) -> None:
    hit = np.isin(numbers, want_recs)
    for i in np.flatnonzero(hit):
        found_recs[int(numbers[i])] = RecordSpan(int(lines[i]), int(starts[i]), int(ends[i]))
    is_data = (numbers > header_records) & ~blank & ~np.isin(numbers, skipped)
    data_index = data_no + np.cumsum(is_data) - 1
    hit = is_data & np.isin(data_index, want_rows)
    for i in np.flatnonzero(hit):
        found_rows[int(data_index[i])] = RecordSpan(int(lines[i]), int(starts[i]), int(ends[i]))


def read_raw(path: str | Path, spans: list[RecordSpan], encoding: str = "utf-8") -> list[str]:
    """The exact text of each span (without its line end), decoded; undecodable bytes become U+FFFD."""
    out: list[str] = []
    with open(path, "rb") as f:
        for span in spans:
            f.seek(span.start)
            raw = f.read(span.end - span.start)
            out.append(raw.rstrip(b"\r").decode(encoding, errors="replace"))
    return out


def locate_records_exact(
    path: str | Path,
    *,
    data_rows: np.ndarray,
    records: np.ndarray,
    header_records: int = 1,
    skipped_records: np.ndarray | None = None,
    encoding: str = "utf-8",
) -> tuple[dict[int, RecordSpan], dict[int, RecordSpan]]:
    """:func:`locate_records` by Python's CSV reader: slower, but right where the quote count is not.

    The fast scan takes every double quote for a field delimiter. A stray quote inside an unquoted
    field (``ab"c``), which parsers read as a plain character, flips its parity and shifts every
    later record; the caller then falls back to this pass, which splits records the way the parsers
    do (a quote opens a quoted field only at the start of a field).
    """
    import csv

    want_rows = {int(x) for x in np.asarray(data_rows, dtype=np.int64).ravel()}
    want_recs = {int(x) for x in np.asarray(records, dtype=np.int64).ravel()}
    skipped = {
        int(x) for x in np.asarray(skipped_records if skipped_records is not None else [], dtype=np.int64)
    }
    found_rows: dict[int, RecordSpan] = {}
    found_recs: dict[int, RecordSpan] = {}
    pending: list[bytes] = []  # raw lines handed to the CSV reader since the last record ended

    def lines() -> Iterator[str]:
        with open(path, "rb") as f:
            for raw in f:
                pending.append(raw)
                yield raw.decode(encoding, errors="replace")

    offset, line, record_no, data_no = 0, 1, 0, 0
    source = lines()

    def finish() -> None:
        nonlocal offset, line, record_no, data_no
        if not pending:
            return
        body = b"".join(pending)
        size, count = len(body), len(pending)
        pending.clear()
        text = body[:-1] if body.endswith(b"\n") else body
        record_no += 1
        span = RecordSpan(line, offset, offset + len(text))
        if record_no in want_recs:
            found_recs[record_no] = span
        blank = not text.strip(b" \t\r")
        if record_no > header_records and not blank and record_no not in skipped:
            if data_no in want_rows:
                found_rows[data_no] = span
            data_no += 1
        offset += size
        line += count

    while True:
        reader = csv.reader(source)
        try:
            for _ in reader:
                finish()
            finish()  # anything left without a final record end
            break
        except csv.Error:  # a NUL byte, or the file ends inside quotes: the lines read so far are one record
            finish()
    return found_rows, found_recs
