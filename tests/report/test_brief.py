# ruff: noqa: E501  (sentences and HTML kept whole)
"""`kalkan brief` end to end into a temp dir, and bad input that must fail with one clear sentence."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalkan.cli import _register_all, app
from kalkan.report.asof import as_of_view
from kalkan.scenarios import load_scenario

# Small and fast: two options, short solver limits, no simulation (its panel has its own slow test).
SMALL = ["--options", "monitors:50,police:300", "--time-limit", "0.5", "--curve-points", "4", "--runs", "0"]


class _Page(HTMLParser):
    """Collects what the tests look at: remote resources, tables, ids, text."""

    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self.ids: set[str] = set()
        self.tables: list[str] = []
        self.text: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "video", "audio", "source") and a.get("src"):
            if re.match(r"^(https?:)?//", a["src"] or ""):
                self.remote.append(f"{tag} {a['src']}")
        if tag == "link" and re.match(r"^(https?:)?//", a.get("href") or ""):
            self.remote.append(f"link {a['href']}")
        if tag == "table":
            self.tables.append(a.get("class") or "")
        if tag == "svg":
            self.svgs += 1
        if a.get("id"):
            self.ids.add(a["id"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def brief_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One brief for all tests here, shared by the xdist workers (made once, under a file lock)."""
    import fcntl
    import os

    base = tmp_path_factory.getbasetemp()
    # Under xdist the parent is common to the workers of one run; without it, the parent is common to every
    # run (a brief left by an earlier run, of older code, would be read), so the run's own folder is used.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "brief-e2e"
    with open(shared / "brief-e2e.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "output.txt").is_file():
            _register_all()
            result = CliRunner().invoke(app, ["brief", "--out", str(out), *SMALL])
            assert result.exit_code == 0, result.output
            (out / "output.txt").write_text(result.output, encoding="utf-8")
    return out, (out / "output.txt").read_text(encoding="utf-8")


def test_brief_writes_both_files_and_prints_the_summary(brief_dir: tuple[Path, str]) -> None:
    out, output = brief_dir
    assert (out / "brief.html").stat().st_size > 10_000
    assert (out / "brief.pdf").stat().st_size > 10_000
    assert "50 unarmed monitors" in output and "300 armed police" in output
    assert re.search(r"50 unarmed monitors +│ +50 │ +\d+ │ +\d+% │ +none", output)  # monitors hold no one
    assert f"Wrote {out / 'brief.html'}" in output.replace("\n", "")


def test_html_is_self_contained_and_has_the_parts(brief_dir: tuple[Path, str]) -> None:
    out, _ = brief_dir
    html = (out / "brief.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    assert page.remote == []
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html)
    assert "options" in " ".join(page.tables)
    assert page.svgs >= 3  # two maps and the coverage curve
    expected = "decision situation asks at-risk options curve mandates known-later method sources".split()
    for section in expected:
        assert section in page.ids, section
    text = " ".join(page.text)
    assert "Decision asked" in text and "Key uncertainties" in text
    assert "Quinlivan" in text  # the force-sizing yardsticks are cited
    # No repository paths or shell commands in a brief for decision makers.
    assert not re.search(r"docs/|BENCHMARKS|\.md\b|kalkan (scenario|brief|plan|simulate)|src/kalkan", text)
    assert "protected (reach)" not in text


def test_every_cited_source_is_listed_and_every_headline_shown_with_its_source(
    brief_dir: tuple[Path, str],
) -> None:
    out, _ = brief_dir
    html = (out / "brief.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    cited = set(re.findall(r'href="#src-([A-Z0-9_]+)"', html))
    assert cited and {f"src-{c}" for c in cited} <= page.ids
    scenario = load_scenario()
    known, _ = as_of_view(scenario, scenario.as_of)
    for row in known.headlines.itertuples():
        figure = f"{row.value:,.0f}"
        assert figure in html
        for sid in str(row.source_ids).split(";"):
            assert sid in cited
    # Every incident's sources are in the source list.
    for ids in scenario.incidents["source_ids"]:
        for sid in str(ids).split(";"):
            assert not sid or f"src-{sid}" in page.ids, sid
    # The sources list gives each cited source's URL.
    from html import escape

    urls = scenario.sources.groupby("source_id")["url"].apply(list).to_dict()
    for sid in cited:
        assert any(escape(str(u)) in html for u in urls[sid]), sid


def test_estimates_are_marked(brief_dir: tuple[Path, str]) -> None:
    out, _ = brief_dir
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert html.count('class="est"') > 10


def test_pdf_has_pages_with_the_brief(brief_dir: tuple[Path, str]) -> None:
    from pypdf import PdfReader

    out, _ = brief_dir
    reader = PdfReader(str(out / "brief.pdf"))
    assert len(reader.pages) >= 3
    first = reader.pages[0].extract_text()
    assert "decision asked" in first.lower() and "recommended" in first.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "Unknown scenario 'nope'"),  # unknown scenario
        (["--options", "police:-5"], "whole number > 0"),  # negative officers
        (["--options", "abc"], "Cannot read force option 'abc'"),  # not UNIT:N
        (["--options", "tanks:5"], "Unknown unit type"),  # unknown unit
        (["--response-minutes", "0"], "--response-minutes must be a number of minutes > 0"),
        (["--target", "80"], "--target is a share"),  # percent instead of share
        (["--runs", "-1"], "--runs must be a whole number >= 0"),  # negative runs
        (["--ewp", "/nonexistent/ewp.csv"], "--ewp /nonexistent/ewp.csv is not a file"),  # missing table
    ],
)
def test_bad_input_gives_one_sentence_and_no_traceback(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kalkan.cli import main

    monkeypatch.setattr("sys.argv", ["kalkan", "brief", "--out", str(tmp_path / "o"), *args])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert message in " ".join(captured.err.split())
    assert captured.err.strip().startswith("error:")
    assert not (tmp_path / "o" / "brief.html").exists()


def test_the_installed_command_fails_cleanly(tmp_path: Path) -> None:
    """The console script itself (a new process): one sentence on stderr, exit 2, no traceback."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("kalkan")
    result = subprocess.run(
        [str(exe), "brief", "--out", str(tmp_path / "o"), "--options", "abc"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "Cannot read force option 'abc'" in " ".join(result.stderr.split())


def test_unwritable_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kalkan.cli import main

    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["kalkan", "brief", "--out", str(blocker / "sub"), *SMALL])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Cannot write the brief to" in " ".join(err.split())


def test_brief_html_keeps_reach_capacity_and_outcome_apart(brief_dir: tuple[Path, str]) -> None:
    out, _ = brief_dir
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert "Reach is not capacity" in html
    assert "none (unarmed)" in html  # the monitors' capacity
    assert "(weighted)" in html and "weighted share" in html  # weighted shares say so
    assert "officers on duty at any moment" in html


def test_brief_json_holds_the_decision_and_nothing_dated_after_the_as_of_day(
    brief_dir: tuple[Path, str],
) -> None:
    import json
    from datetime import date

    from kalkan.plan.units import UNIT_TYPES

    out, _ = brief_dir
    brief = json.loads((out / "brief.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(brief["as_of"])
    assert day == load_scenario().as_of
    # No number in the body is dated after the as-of day; later items only in the Known later box.
    # (The held-out validation, after the Known later box, is the one section that compares with later figures.)
    body = [n for n in brief["numbers"] if n["section"] != "validation"]
    assert body and all(date.fromisoformat(n["known_on"]) <= day for n in body)
    # Every section's numbers are recorded; every reach is said to be weighted.
    assert {"decision", "at-risk", "options", "situation"} <= {n["section"] for n in body}
    reach = [n for n in body if "reach" in n["what"]]
    assert reach and all("weighted" in n["what"] for n in reach)
    assert all(i["known_on"] is None or date.fromisoformat(i["known_on"]) > day for i in brief["known_later"])
    assert any("22 July" in i["text"] or i["known_on"] == "2010-07-22" for i in brief["known_later"])
    # On duty = posts x officers on duty per post, for every option and the recommendation.
    for option in brief["options"]:
        assert option["on_duty"] == option["posts"] * UNIT_TYPES[option["unit"]].officers_per_post
    rec = brief["recommendation"]
    assert rec["on_duty"] == rec["posts"] * UNIT_TYPES[rec["unit"]].officers_per_post
    assert len(rec["post_list"]) == rec["posts"]
    assert all({"latitude", "longitude"} <= set(p) for p in rec["post_list"])
    # People at risk where they are on the day, beside census residence, and the change (issue 18 item 1).
    where = brief["people_where_they_are"]
    assert where["as_of"] == brief["as_of"]
    assert abs(where["by_residence"] + where["change"] - where["where_they_are"]) < 1
    assert where["where_they_are"] == pytest.approx(brief["people_at_risk_counted"])
    # Incidents attributed to security forces are a category of their own, all known by the day.
    security = brief["incidents_by_security_forces"]
    assert security and all(i["perpetrator_type"] == "state_forces" for i in security)
    html = (out / "brief.html").read_text(encoding="utf-8")
    assert "Incidents attributed to security forces." in html and "Where they are on the day." in html
    # People at risk reconcile with the census count of the group.
    assert brief["people_at_risk_counted"] <= 768_405
    # ...and so does the bound said for the units whose share is unknown (their own bounds add up to more).
    more = [n["value"] for n in brief["numbers"] if n["what"].startswith("people at risk at most")]
    assert more and brief["people_at_risk_counted"] + more[0] <= 768_405 + 1


@pytest.mark.slow
def test_brief_with_the_simulation_panel(tmp_path: Path) -> None:
    """The outcomes panel runs the posterior-predictive comparison (slow: two arrivals x every option)."""
    _register_all()
    args = ["brief", "--out", str(tmp_path), *SMALL[:-2], "--runs", "8", "--scheduler", "serial"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert 'id="simulation"' in html and "8 runs per option" in html
    assert "If it arrives at the pace of pledges" in html and "(searched)" in html
    assert "paired runs" in html  # the criterion and the page-1 sentence rest on paired runs
    brief = json.loads((tmp_path / "brief.json").read_text(encoding="utf-8"))
    sim = brief["simulation"]
    assert sim["runs_per_option"] == 8 and sim["on_duty_on_decision_day"] and sim["at_the_pace_of_pledges"]
    assert {n["section"] for n in brief["numbers"]} >= {"decision", "simulation"}
    rec = brief["recommendation"]
    if rec is not None:  # the posts shown are the posts simulated for it
        posts = (
            sim["on_duty_on_decision_day"][rec["label"]]["posts"]
            if rec["label"] in sim["on_duty_on_decision_day"]
            else None
        )
        assert posts is None or len(rec["post_list"]) == posts


EWP = Path(__file__).resolve().parents[3] / "shared" / "data" / "ewp" / "ewp_countryyear_1960_2016.csv"


@pytest.mark.slow
@pytest.mark.skipif(
    not EWP.is_file(), reason="the EWP table is in the project's shared data, not in the repository"
)
def test_brief_with_the_country_panel(tmp_path: Path) -> None:
    """With --ewp the brief adds the structural forecast for Kyrgyzstan (slow: the model is fitted)."""
    _register_all()
    result = CliRunner().invoke(app, ["brief", "--out", str(tmp_path), *SMALL, "--ewp", str(EWP)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert 'id="country"' in html and "Kyrgystan" in html and "Honesty note" in html


def test_brief_stops_when_people_at_risk_exceed_the_census_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconciliation: a census count of the group smaller than the people at risk stops the brief."""
    from kalkan.cli import main

    folder = tmp_path / "small_census"
    shutil.copytree(load_scenario().path, folder)
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[census\].*?(?=^\[)", "", text)  # drop the scenario's own census table, if any
    toml.write_text(
        text + '\n[census]\nyear = 2009\ngroup_total = 1000\ngroup_total_area = "the test area"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(
        "sys.argv", ["kalkan", "brief", "--scenario", str(folder), "--out", str(tmp_path / "o"), *SMALL]
    )
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "more than the census count of 1,000" in err and "the test area" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "brief.html").exists()


def test_no_page_but_the_last_is_more_than_half_blank(brief_dir: tuple[Path, str]) -> None:
    """Issue 13's layout rule, on the rendered PDF: each page's lowest ink is below half its height."""
    import numpy as np
    import pypdfium2

    out, _ = brief_dir
    pages = [page.render(scale=20 / 72).to_pil() for page in pypdfium2.PdfDocument(out / "brief.pdf")]
    filled = []
    for page in pages:
        pixels = np.asarray(page.convert("L"))
        body = pixels[: int(pixels.shape[0] * 0.93)]  # above the page-number footer
        ink = np.flatnonzero((body < 200).any(axis=1))
        filled.append((ink.max() + 1) / pixels.shape[0] if len(ink) else 0.0)
    assert len(filled) > 3
    assert all(f > 0.5 for f in filled[:-1]), [round(f, 2) for f in filled]
