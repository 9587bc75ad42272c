"""The ``kalkan`` command: one thin command per capability, no logic of its own.

Each area registers its commands from its own ``commands`` module; this file only wires them and
turns kalkan's errors into one sentence and an exit code (no traceback for a user's mistake).
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from kalkan.errors import KalkanError

app = typer.Typer(
    name="kalkan",
    help="Atrocity early warning and protection planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True)


def _register_all() -> None:
    from kalkan.commands import register_all

    register_all(app)


def main() -> None:
    """Entry point of the console script."""
    _register_all()
    try:
        app()
    except KalkanError as error:
        _err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as error:
        # A path the user gave cannot be read or written: say which and why, no traceback.
        _err.print(f"[bold red]error:[/] {error.strerror or error}: {error.filename or ''}".rstrip(": "),
                   highlight=False, soft_wrap=True)
        sys.exit(2)
