"""Every command's table goes through kalkan.terminal.fit: digits whole at any width, cells plain text."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.terminal import fit

_register_all()


def _render(table: Table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False).print(table)
    return out.getvalue()


@pytest.mark.parametrize("width", [40, 60, 100])
def test_a_built_table_is_refitted_without_cutting_numbers(width: int) -> None:
    table = Table(title="Force options")
    table.add_column("option")
    table.add_column("posts", justify="right")
    table.add_column("people reached")  # left-justified, but all numbers: still a number column
    table.add_column("what it means")
    table.add_row("police:300", "28", "1,234,567", Text("[draft] a long explanation " * 3))
    body = _render(fit(table, width=width), width)
    assert all(len(line) <= width for line in body.splitlines())
    assert "police:300" in body and "…" not in body
    assert "1,234,567" in body or "people reached" in body.split("Not shown")[-1]
    if "what it means" not in body.split("Not shown")[0]:
        assert "Not shown, the terminal is too narrow" in " ".join(body.split())
    else:
        assert "[draft]" in body  # plain text, not a style tag


def test_scenario_show_keeps_its_counts_whole_at_50_columns() -> None:
    result = CliRunner(env={"COLUMNS": "50"}).invoke(app, ["scenario", "show", "kyrgyzstan_2010"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert all(len(line) <= 50 for line in result.output.splitlines())
    said = " ".join(result.output.split())
    assert "Where they are: As of 30 June 2010:" in said and "458,265 where they are (-395)" in said
