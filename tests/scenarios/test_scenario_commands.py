"""`kalkan scenario list` and `kalkan scenario show`: what is inside, what is merged, what is estimated."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register_all()
    return CliRunner()


def test_list_names_the_embedded_scenario(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scenario", "list"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "kyrgyzstan_2010" in result.output
    assert "1,295" in result.output  # places


def test_show_says_what_is_inside_and_what_is_estimated(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scenario", "show", "kyrgyzstan_2010"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "29 with a population figure, 1,266 estimated" in text
    assert "26 located, 2 without coordinates (kept, flagged)" in text
    assert "Merged or dropped rows" in text and "same place as town" in text
    assert "≈" in text  # estimated numbers are marked
    assert "Kara-Kulja" in text and "at most 0.1%" in text  # the capped share rule is shown
    assert "Not verified in any stored source" in text
    assert "Incident without coordinates" in text


def test_show_unknown_scenario_fails_with_the_names(runner: CliRunner) -> None:
    result = runner.invoke(app, ["scenario", "show", "nope"])
    assert result.exit_code != 0
    assert "Unknown scenario 'nope'" in str(result.exception)
