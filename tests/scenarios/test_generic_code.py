"""Scenario facts live in scenario folders: the generic code names no crisis, and a brief of a fictional
crisis carries no word of the shipped ones.

The code scan is a ratchet: ``KNOWN`` lists, per file, how many lines still name a shipped crisis (work in
progress, issue 14); a file may lose such lines but never gain them, and no new file may have any.
"""

from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kalkan"
SCENARIOS = SRC / "scenarios"
FICTION = ROOT / "tests" / "fixtures" / "scenarios" / "marenland_2031"

#: Words of the shipped crises that no generic code or other brief may use (besides the names below).
CRISIS_WORDS = [
    "OSCE",
    "Kyrgyz",
    "Kyrgyzstan",
    "Uzbek",
    "Uzbeks",
    "Bangui",
    "anti-balaka",
    "Séléka",
    "Seleka",
    "MINUSCA",
    "MISCA",
    "Sangaris",
    "2009",
    "2010",
    "2013",
    "2014",
]


def _shipped() -> list[Path]:
    return sorted(p for p in SCENARIOS.iterdir() if (p / "scenario.toml").is_file())


def scenario_names() -> set[str]:
    """Place, unit and region names of every shipped scenario (3 letters or more)."""
    names: set[str] = set()
    for folder in _shipped():
        settings = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
        names.update(str(o) for o in settings.get("oblasts", []))
        names.update(str(c) for c in settings.get("main_cities", []))
        with (folder / "settlements.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names.add((row.get("alt_name") or "").split(" (")[0] or row["name"])
        with (folder / "districts.csv").open(encoding="utf-8") as handle:
            names.update(row["district"] for row in csv.DictReader(handle))
    return {n.strip() for n in names if len(n.strip()) >= 3}


def _pattern(words: set[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


FORBIDDEN = _pattern(scenario_names() | set(CRISIS_WORDS))
# In code "oblast" is the admin1 column of kalkan's tables; a reader of another crisis must not see it.
IN_BRIEF = _pattern(scenario_names() | set(CRISIS_WORDS) | {"oblast", "oblasts"})

#: Text that matches the scan but is generic, judged line by line: literature and document citations and
#: the EWP data's last outcome year. The scan removes these before it looks (file -> texts).
GENERIC: dict[str, tuple[str, ...]] = {
    "ingest/formats.py": ("Sundberg & Melander 2013",),
    "model.py": ("Sundberg & Melander 2013",),
    "plan/units.py": ("Ref. 2009.32", "policy 2009.32"),
    # the shipped translation catalogues, by language
    "register/i18n/__init__.py": ("Russian, Kyrgyz, Uzbek", "the Kyrgyz, Uzbek and French"),
    "report/panels.py": ("Framework of Analysis for Atrocity Crimes (2014)",),
    "risk/country_backtest.py": ("last_year: int = 2014",),  # EWP's last year with a known outcome
    "risk/country_commands.py": ("Framework of Analysis (2014)", "] = 2014,"),
    "risk/framework.py": ("Atrocity Crimes (2014)", "Responsibility to Protect, 2014"),
    "risk/structural.py": ("Tibshirani (2010)", "Friedman et al. 2010"),
}
#: Lines per file that still name a shipped crisis. Only ever lower these numbers (none left).
KNOWN: dict[str, int] = {}


def _without_generic(file: str, line: str) -> str:
    for text in GENERIC.get(file, ()):
        line = line.replace(text, " ")
    return line


def _hits() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        lines = [
            f"{number}: {line.strip()}"
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if FORBIDDEN.search(_without_generic(str(path.relative_to(SRC)), line))
        ]
        if lines:
            found[str(path.relative_to(SRC))] = lines
    return found


def test_the_forbidden_words_come_from_the_shipped_scenarios() -> None:
    names = scenario_names()
    assert {"Osh", "Jalal-Abad", "Aravan"} <= names  # the test would be empty without them
    assert FORBIDDEN.search("around Osh and Jalal-Abad") and not FORBIDDEN.search("Oshawa, Boshkent")


def test_generic_code_gains_no_scenario_facts() -> None:
    hits = _hits()
    grown = {file: lines for file, lines in hits.items() if len(lines) > KNOWN.get(file, 0)}
    message = "\n".join(
        f"{file} ({len(lines)} lines, allowed {KNOWN.get(file, 0)}):\n  " + "\n  ".join(lines[:8])
        for file, lines in grown.items()
    )
    assert not grown, (
        "Generic code names a shipped crisis; move the text into the scenario folder (scenario.toml "
        "[narrative], [request], [[ask]], ...; see docs/scenarios.md):\n" + message
    )


def test_the_fictional_scenario_shares_no_name_with_the_shipped_ones() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in FICTION.iterdir() if p.suffix in (".csv", ".md", ".toml")
    )
    assert not FORBIDDEN.search(text), FORBIDDEN.search(text)


@pytest.mark.slow
def test_a_brief_of_a_fictional_crisis_says_nothing_of_the_shipped_ones(tmp_path: Path) -> None:
    """The whole brief on a crisis kalkan has never seen: no name, word or sentence of another scenario."""
    import html as html_lib

    from typer.testing import CliRunner

    from kalkan.cli import _register_all, app

    _register_all()
    out = tmp_path / "brief"
    result = CliRunner().invoke(
        app,
        [
            "brief",
            "--scenario",
            str(FICTION),
            "--out",
            str(out),
            "--time-limit",
            "0.5",
            "--curve-points",
            "4",
            "--runs",
            "4",
            "--days",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    page = (out / "brief.html").read_text(encoding="utf-8")
    page = re.sub(r"<style.*?</style>|<script.*?</script>", " ", page, flags=re.S)
    text = re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "the Tovar community" in text and "Port Alder" in text
    leaks = sorted({m.group(0) for m in IN_BRIEF.finditer(text)})
    assert not leaks, f"the brief of a fictional crisis names {leaks}"
    sentences = []
    for folder in _shipped():
        settings = tomllib.loads((folder / "scenario.toml").read_text(encoding="utf-8"))
        sentences += [str(settings.get("request", {}).get("text", "")), str(settings.get("decision", ""))]
        sentences += [str(v) for v in settings.get("narrative", {}).values()]
        sentences += [str(item.get("text", "")) for item in settings.get("known_later", [])]
        sentences += [str(item.get("label", "")) for item in settings.get("headline", [])]
    copied = [s for s in sentences if len(s) > 20 and s in text]
    assert not copied, copied
