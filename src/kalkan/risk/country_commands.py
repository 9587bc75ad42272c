"""Commands of ``kalkan risk`` for this part of the risk area (see ``kalkan.risk.commands``)."""

from __future__ import annotations

import typer


def register(risk_app: typer.Typer) -> None:
    """Add this part's commands to the ``kalkan risk`` group."""
