"""The package's public names and the docs stay in step with the code."""

from __future__ import annotations

from pathlib import Path

import kalkan.register as register
from kalkan.register import commands

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "register.md").read_text()


def test_all_is_sorted_and_importable() -> None:
    assert register.__all__ == sorted(register.__all__)
    for name in register.__all__:
        assert getattr(register, name) is not None


def test_every_command_and_service_function_is_documented() -> None:
    for group in (commands.users_app, commands.register_app):
        for command in group.registered_commands:
            name = command.name or command.callback.__name__
            assert f"kalkan {group.info.name} {name}" in DOCS, name
    assert "kalkan serve" in DOCS
    from kalkan.register import service

    for name in service.__all__:
        if callable(getattr(service, name)) and name[0].islower() and name != "to_out":
            assert f"service.{name}(" in DOCS, name
