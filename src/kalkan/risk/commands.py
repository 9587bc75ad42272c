"""The ``kalkan risk`` command group: country risk (structural) and hotspot forecasts."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``kalkan risk ...`` to ``app``."""
    from kalkan.risk import country_commands, hotspot_commands

    risk_app = typer.Typer(
        help="Risk of mass violence: countries (structural) and places (hotspots).", no_args_is_help=True
    )
    country_commands.register(risk_app)
    hotspot_commands.register(risk_app)
    app.add_typer(risk_app, name="risk")
