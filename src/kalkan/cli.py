"""The ``kalkan`` command: one thin command per capability, no logic of its own.

Each area registers its commands from its own ``commands`` module; this file only wires them and
turns kalkan's errors into one sentence and an exit code (no traceback for a user's mistake).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from kalkan.errors import KalkanError

app = typer.Typer(
    name="kalkan",
    help="Atrocity early warning and protection planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True)


class ProgressBar:
    """A :class:`kalkan._base.Progress` drawn as one Rich bar on stderr (see :func:`progress_bar`)."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task

    def __call__(self, done: int, total: int, /) -> None:
        """Absolute progress: ``done`` of ``total`` units."""
        self._bar.update(self._task, completed=done, total=total)

    def describe(self, label: str) -> None:
        """Change the bar's label (a multi-step task names the step it is on)."""
        self._bar.update(self._task, description=label)


@contextmanager
def progress_bar(label: str, *, transient: bool = True, hidden: bool = False) -> Iterator[ProgressBar]:
    """The one way commands draw a :class:`kalkan._base.Progress`: a Rich bar with ``label``, done of
    total, and the time elapsed, on stderr (so ``--format json`` on stdout stays clean)::

        with progress_bar("backtest folds") as progress:
            backtest(..., progress=progress)

    ``hidden`` draws nothing (for output that must stay free of decoration).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=transient,
        disable=hidden,
    ) as bar:
        yield ProgressBar(bar, bar.add_task(label, total=None))


def _register_all() -> None:
    from kalkan.commands import register_all

    register_all(app)


def main() -> None:
    """Entry point of the console script."""
    _register_all()
    try:
        app()
    except KalkanError as error:
        # The message is text, not markup: "[district_names]" must stay visible.
        _err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as error:
        # A path the user gave cannot be read or written: say which and why, no traceback.
        _err.print(
            escape(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": ")),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
