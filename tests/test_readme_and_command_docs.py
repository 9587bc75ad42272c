"""The README and docs/ describe every command, and every link in the README resolves."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from kalkan.cli import _register_all, app

ROOT = Path(__file__).resolve().parent.parent


def _command_paths(command: object, prefix: str) -> list[str]:
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, f"{prefix} {name}")
    return paths


def _docs_text() -> str:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def test_every_command_is_documented() -> None:
    _register_all()
    paths = _command_paths(typer.main.get_command(app), "kalkan")[1:]
    text = _docs_text()
    missing = [p for p in paths if p not in text]
    assert len(paths) > 20
    assert not missing, f"commands not mentioned in README.md or docs/*.md: {missing}"


def test_readme_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
