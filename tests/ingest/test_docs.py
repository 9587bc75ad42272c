"""docs/events.md documents every field, code, reason and command option (checked against the code)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from kalkan.ingest import REASONS
from kalkan.ingest import commands as ingest_commands
from kalkan.model import EVENT_FIELDS, ActorType, DatePrecision, EventType, LocationPrecision

DOC = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    [f.name for f in EVENT_FIELDS]
    + [t.value for t in EventType]
    + [p.value for p in DatePrecision]
    + [p.value for p in LocationPrecision]
    + [a.value for a in ActorType]
    + list(REASONS),
)
def test_documented(name: str) -> None:
    assert f"`{name}`" in DOC


def test_every_cli_option_is_documented() -> None:
    app = typer.Typer()
    ingest_commands.register(app)
    from typer.main import get_command

    group = get_command(app)
    for command_name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"kalkan {command_name}" in DOC
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in DOC, f"{command_name} {opt}"
