"""Where each area's commands are added to the ``kalkan`` app (see ``kalkan.cli``).

Each area keeps its commands in its own ``commands`` module with a ``register(app)`` function.
Those modules import heavy libraries inside the command functions, so ``kalkan --help`` stays fast.
"""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    """Add every area's commands to ``app``."""
    from kalkan.ingest import commands as ingest
    from kalkan.plan import commands as plan
    from kalkan.register import commands as register
    from kalkan.report import commands as report
    from kalkan.risk import commands as risk
    from kalkan.scenarios import commands as scenarios
    from kalkan.simulate import commands as simulate

    for area in (report, scenarios, plan, risk, simulate, ingest, register):
        area.register(app)
