"""Tables on the terminal that never cut a number: text wraps, columns drop, digits stay whole.

Why: Rich shrinks every column of a table that is wider than the terminal and cuts cells with an
ellipsis, so an 80-column terminal showed an import's 15,786 rows as ``15,7…``. A number read wrong is
worse than a number not shown. :func:`fit_table` gives each number column the width of its widest
cell, lets text columns fold, and, when even that does not fit, leaves out columns from the right
(never the ones marked ``keep``) and says which in the caption. Every cell is plain text, never
Rich markup, so a file or place named ``[draft]`` is shown as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

_TEXT_MIN = 8  # a text column may fold down to this many characters a line


@dataclass(frozen=True)
class Column:
    """One column: its header, whether it holds numbers (right-aligned, never cut) and whether it
    must stay when the terminal is too narrow for all of them."""

    name: str
    number: bool = False
    keep: bool = False


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> Table:
    """A Rich table of ``rows`` (cells shown with ``str``) that fits ``width`` characters (default:
    the terminal's) without cutting any number."""
    width = width if width is not None else Console().width
    cells = [[str(v) for v in row] for row in rows]
    need = []
    for i, column in enumerate(columns):
        widest = max((len(row[i]) for row in cells), default=0)
        header = max((len(word) for word in column.name.split()), default=1)
        need.append(max(widest, header) if column.number else max(min(max(widest, header), _TEXT_MIN), 1))
    shown = list(range(len(columns)))

    def total() -> int:  # cells, one space of padding either side, and the borders between them
        return sum(need[i] for i in shown) + 3 * len(shown) + 1

    dropped: list[str] = []
    while total() > width:
        droppable = [i for i in shown if not columns[i].keep]
        if not droppable or len(shown) == 1:
            break
        shown.remove(droppable[-1])
        dropped.insert(0, columns[droppable[-1]].name)
    notes = [caption] if caption else []
    if dropped:
        left_out = ", ".join(dropped)
        notes.append(
            f"Not shown, the terminal is too narrow: {left_out} (widen it, or ask for --format csv)."
        )
    table = Table(
        title=Text(title) if title else None,
        caption=Text(" ".join(notes)) if notes else None,
    )
    for i in shown:
        column = columns[i]
        if column.number:
            table.add_column(Text(column.name), justify="right", no_wrap=True, min_width=need[i])
        else:
            table.add_column(Text(column.name), overflow="fold", min_width=min(need[i], _TEXT_MIN))
    for row in cells:
        table.add_row(*(Text(row[i]) for i in shown))
    return table


def _plain(value: object) -> str:
    """A cell, header or title as plain text (a Rich ``Text`` keeps its text, anything else is ``str``)."""
    return value.plain if isinstance(value, Text) else "" if value is None else str(value)


def _looks_numeric(cells: Sequence[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip() not in ("", "-", "—")]
    if not filled:
        return False
    for cell in filled:
        core = cell.replace(",", "").replace("%", "").replace("+", "").replace("−", "-").split(" ")[0]
        try:
            float(core)
        except ValueError:
            return False
    return True


def fit(table: Table, *, width: int | None = None) -> Table:
    """An already built Rich table, refitted by :func:`fit_table`: numbers never cut, text folds.

    A column is a number column when it is right-justified or all its cells read as numbers; the first
    column always stays. Cells become plain text (no Rich markup). One call at the ``print`` of each
    command's table, so every terminal table of kalkan keeps its digits at any width.
    """
    columns = []
    grid: list[list[str]] = []
    for index, column in enumerate(table.columns):
        cells = [_plain(cell) for cell in column.cells]
        number = column.justify == "right" or _looks_numeric(cells)
        columns.append(Column(_plain(column.header), number=number, keep=index == 0))
        grid.append(cells)
    rows = [list(row) for row in zip(*grid, strict=True)] if grid else []
    return fit_table(
        columns,
        rows,
        title=_plain(table.title) or None,
        caption=_plain(table.caption) or None,
        width=width,
    )
