"""The optional panels' honesty notes say what the skill is, or where it is measured."""

from __future__ import annotations

import pandas as pd

from kalkan.report.panels import _skill_text


def test_skill_text_without_a_shipped_backtest_points_to_it() -> None:
    assert "hotspot backtests, not on this scenario" in _skill_text(None)
    assert "hotspot backtests, not on this scenario" in _skill_text(pd.DataFrame())


def test_skill_text_reports_pooled_scores_with_intervals() -> None:
    skill = pd.DataFrame(
        {
            "group": ["SYR", "pooled", "pooled"],
            "model": ["hawkes", "hawkes", "baseline"],
            "auc": [0.5, 0.81, 0.74],
            "auc_low": [0.4, 0.78, 0.70],
            "auc_high": [0.6, 0.84, 0.78],
            "period": ["2015-2019"] * 3,
        }
    )
    text = _skill_text(skill)
    assert "hawkes: auc 0.81 [0.78, 0.84]" in text and "baseline: auc 0.74 [0.70, 0.78]" in text
    assert "0.50" not in text  # only the pooled rows
    assert "(2015-2019)" in text


def _simulated(option: str, siting: str, deaths: float, armed: bool, share: float) -> dict[str, object]:
    row: dict[str, object] = {"option": option, "siting": siting, "armed": armed, "covered_share": share,
                              "runs": 20}  # fmt: skip
    for what, scale in (("deaths", 1.0), ("homes_destroyed", 5.0), ("displaced", 800.0)):
        row.update({f"{what}_p5": 0.5 * deaths * scale, f"{what}_median": deaths * scale,
                    f"{what}_p95": 1.5 * deaths * scale})  # fmt: skip
    return row


def test_simulation_section_compares_the_recommended_option_sited_for_depth() -> None:
    from types import SimpleNamespace

    from kalkan.report.panels import simulation_section

    table = pd.DataFrame(
        [
            _simulated("none", "none", 470, False, 0.0),
            _simulated("monitors:100", "reach", 470, False, 0.87),
            _simulated("police:300", "reach", 88, True, 0.97),
            _simulated("police:600", "reach", 84, True, 1.0),
            _simulated("police:300", "depth", 3, True, 0.93),
            _simulated("police:600", "depth", 2, True, 0.96),
        ]
    )
    table.attrs["days"] = 10
    late = pd.DataFrame([_simulated("police:300", "depth", d, True, 0.93) for d in (120, 390)])
    table.attrs["late"] = late.assign(arrival_day=[1.0, 5.0])
    rec = SimpleNamespace(label="police:300", words="300 armed police", deaths_median=3.0, deaths_p5=2.0,
                          deaths_p95=4.0)  # fmt: skip
    data = SimpleNamespace(panels={"simulation": table}, decision=SimpleNamespace(recommendation=rec),
                           scenario=None)  # fmt: skip
    ctx = SimpleNamespace(data=data)
    section = simulation_section(ctx)  # type: ignore[arg-type]
    assert section is not None
    html = section.html
    assert "with police:600 84." in html  # the best reach-sited option, not a depth row
    assert "The same police:300 sited for depth" in html  # the recommended option's depth row
    assert "median of 3 deaths (2-4) instead of 88" in html
    assert "93% of the weight in reach instead of 97%" in html
    assert html.count("sited for depth</small>") == 2
    late_table = html[html.index("When the posts arrive matters") :]
    assert "from the start" in late_table and "from day 5" in late_table
    order = [late_table.index(x) for x in ("3 <small>(2–4)", "120 <small>", "390 <small>")]
    assert order == sorted(order)


def test_terminal_table_puts_reach_and_depth_side_by_side() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from kalkan.report.commands import simulation_table

    rows = [("none", "none", 470, False, 0.0), ("police:300", "reach", 88, True, 0.97),
            ("police:300", "depth", 3, True, 0.93)]  # fmt: skip
    table = pd.DataFrame([_simulated(*r) for r in rows])
    table.attrs["days"] = 10
    console = Console(width=100, record=True)
    console.print(simulation_table(SimpleNamespace(panels={"simulation": table})))
    text = console.export_text()
    assert "over 20 runs" in text
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in text.splitlines() if "police:300" in line]
    assert cells == [["police:300", "88 [44-132]", "3 [2-4]"]]
    assert simulation_table(SimpleNamespace(panels={})) is None
