"""kalkan.tables.read_csv_table: the one reader of the CSV tables users give, with one set of checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kalkan.errors import InputError, SchemaError
from kalkan.tables import read_csv_listing, read_csv_table


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_columns_are_trimmed_and_lower_cased_and_numbers_inferred(tmp_path: Path) -> None:
    path = _write(tmp_path, " ID ,Latitude, weight\nd1,40.5,100\nd2,40.6,\n")
    frame = read_csv_table(path, "demand", required=("id", "latitude"))
    assert list(frame.columns) == ["id", "latitude", "weight"]
    assert frame["latitude"].tolist() == [40.5, 40.6]
    assert frame["weight"].isna().tolist() == [False, True]


def test_text_mode_keeps_codes_as_text_and_empty_cells_empty(tmp_path: Path) -> None:
    # "5.10" must stay a code, not become 5.1; a short row's missing cells are "" too
    path = _write(tmp_path, "code,status,sources\n5.10,present,HRW\n6.4,unknown\n")
    frame = read_csv_table(path, "assessment", text=True)
    assert frame["code"].tolist() == ["5.10", "6.4"]
    assert frame["sources"].tolist() == ["HRW", ""]


def test_missing_file_says_so_and_what_the_table_needs(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"The pledges file .*nope\.csv does not exist.* Pledges need a, b\."
    ):
        read_csv_table(tmp_path / "nope.csv", "pledges", needs="Pledges need a, b.")


def test_missing_columns_are_named_with_the_columns_it_has(tmp_path: Path) -> None:
    path = _write(tmp_path, "code,status\n5.1,present\n")
    message = "lacks the columns date, evidence; its columns are code, status. Add them."
    with pytest.raises(SchemaError, match=re.escape(message)):
        read_csv_table(path, "assessment", required=("code", "date", "evidence"), needs="Add them.")


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (b"", SchemaError, "Cannot read the demand file .* as CSV"),  # no header at all
        (b"id,weight\n", InputError, "has no rows"),
        (b"id,weight\n\xff\xfe,1\n", SchemaError, "Cannot read the demand file .* as CSV"),  # not UTF-8
    ],
)
def test_unreadable_or_empty_files_fail_with_one_sentence(
    tmp_path: Path, content: bytes, error: type[Exception], match: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        read_csv_table(path, "demand")


def test_listing_reads_text_with_empty_cells_missing_and_allows_no_rows(tmp_path: Path) -> None:
    # a scenario folder's reader: "5.10" stays text, an empty cell is NaN, a header alone is a table
    path = _write(tmp_path, " Code ,deaths\n5.10,\n")
    problems: list[str] = []
    frame = read_csv_listing(path, problems.append, required=("code",))
    assert frame is not None and not problems
    assert frame["code"].tolist() == ["5.10"] and frame["deaths"].isna().all()
    header_only = read_csv_listing(_write(tmp_path, "code,deaths\n"), problems.append, required=("code",))
    assert header_only is not None and len(header_only) == 0 and not problems


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        # a column missing: named, with what the file needs and where that is written
        (b"code\n1\n", "t.csv lacks the column(s) deaths; it needs code, deaths (see docs/x.md)."),
        # nothing at all, then bytes that are not UTF-8
        (b"", "t.csv is not a readable CSV (No columns to parse from file); fix or restore it."),
        (b"code,deaths\n\xff\xfe,1\n", "t.csv is not a readable CSV ("),
    ],
)
def test_listing_tells_the_problem_instead_of_raising(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    problems: list[str] = []
    assert read_csv_listing(path, problems.append, required=("code", "deaths"), see="docs/x.md") is None
    assert len(problems) == 1 and problems[0].startswith(problem)
