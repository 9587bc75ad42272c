"""The `kalkan` command starts and lists its areas."""

from typer.testing import CliRunner

from kalkan.cli import _register_all, app


def test_help_lists_commands() -> None:
    _register_all()
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Atrocity early warning" in result.output
