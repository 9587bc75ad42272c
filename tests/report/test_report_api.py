"""Public names of the foundation's packages import, and every `kalkan brief` option is documented."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import typer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "brief.md"


@pytest.mark.parametrize("module", ["kalkan.report", "kalkan.scenarios"])
def test_all_is_sorted_and_imports(module: str) -> None:
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def _options() -> list[str]:
    from kalkan.report.commands import brief

    app = typer.Typer(add_completion=False)
    app.command("brief")(brief)
    cli = typer.main.get_command(app)
    return [opt for param in cli.params for opt in getattr(param, "opts", []) if opt.startswith("--")]


def test_every_brief_option_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    options = _options()
    assert "--options" in options and "--response-minutes" in options
    missing = [opt for opt in options if not re.search(rf"`{re.escape(opt)}`", text)]
    assert missing == []


def test_scenario_commands_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "kalkan scenario list" in text and "kalkan scenario show" in text
