"""The public API of kalkan.plan: a sorted __all__ that matches what imports."""

import kalkan.plan


def test_all_is_sorted_and_importable() -> None:
    assert kalkan.plan.__all__ == sorted(kalkan.plan.__all__)
    for name in kalkan.plan.__all__:
        assert getattr(kalkan.plan, name) is not None
    public = {
        n
        for n in dir(kalkan.plan)
        if not n.startswith("_") and not isinstance(getattr(kalkan.plan, n), type(kalkan))
    }
    assert public == set(kalkan.plan.__all__)


def test_every_plan_command_and_option_is_documented() -> None:
    """docs/plan.md names every `kalkan plan` command and every option of `coverage`."""
    from pathlib import Path

    import typer.main

    from kalkan.plan.commands import plan_app

    docs = (Path(__file__).resolve().parents[2] / "docs" / "plan.md").read_text()
    group = typer.main.get_command(plan_app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert f"kalkan plan {name}" in docs, name
        if name == "coverage":
            for param in command.params:
                for flag in param.opts:
                    assert flag in docs, flag


def test_every_default_is_documented() -> None:
    from pathlib import Path

    from kalkan.plan.defaults import SETTINGS, settings_table

    docs = (Path(__file__).resolve().parents[2] / "docs" / "plan.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs, setting.name
    assert list(settings_table()["name"]) == [s.name for s in SETTINGS]
