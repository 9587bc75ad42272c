"""The `kalkan` commands of this area (see `kalkan.commands`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
