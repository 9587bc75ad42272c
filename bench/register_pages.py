"""The register's pages with many reports, timed in the system Chromium; kalkan's map layer side by
side with stock Leaflet markers (one ``L.circleMarker`` per report on Leaflet's canvas renderer, the
usual way a Leaflet page shows incidents).

Run from the repository root: ``.venv/bin/python bench/register_pages.py [--reports 10000]``.
Starts ``kalkan serve`` on loopback over a temporary SQLite register (reports inserted in bulk, see
``tests/register/browser/_pages_server.py``), signs in as an analyst and reads the browser's own
Performance API. Writes the ``register-pages`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _report import machine, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "register" / "browser"))

from _pages_server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    MEASURE_REDRAW,
    measure_pages,
    running_server,
    sign_in,
)

KALKAN_LAYER = """async () => {
  // Draw kalkan's layer again from scratch on the ready map (the same start as the stock layer).
  const map = window.kalkanLeafletMap;
  const old = window.kalkanPoints;
  map.removeLayer(old);
  const t = performance.now();
  const fresh = new old.constructor(old._rows, old._idx).addTo(map);
  await new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)));
  window.kalkanPoints = fresh;
  return performance.now() - t;
}"""

STOCK_LEAFLET = """async () => {
  // Replace kalkan's one-canvas layer by one L.circleMarker per report (Leaflet's canvas renderer).
  const map = window.kalkanLeafletMap;
  map.removeLayer(window.kalkanPoints);
  const rows = await (await fetch(document.getElementById('incident-map').dataset.source)).json();
  const t = performance.now();
  const renderer = L.canvas();
  const group = L.featureGroup();
  for (const r of rows.rows) {
    group.addLayer(L.circleMarker([r[1], r[2]], {radius: 6, renderer: renderer, color: '#111', weight: 2}));
  }
  group.addTo(map);
  await new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)));
  return performance.now() - t;
}"""


def _busy(cdp: object) -> float:
    """Main-thread busy time so far, ms (Chrome's TaskDuration: work, not waiting for a CPU)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]  # type: ignore[attr-defined]
    return 1000.0 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def map_costs(page: object, layer_script: str) -> dict[str, float]:
    """Open the map, (re)draw the reports with ``layer_script``, then zoom and pan 12 times.

    Returns wall times (ms, frames included) and main-thread busy times (ms) of the draw and of one
    move (median wall, mean busy).
    """
    from playwright.sync_api import expect

    p = page
    cdp = p.context.new_cdp_session(p)  # type: ignore[attr-defined]
    cdp.send("Performance.enable")
    p.goto("/map")  # type: ignore[attr-defined]
    expect(p.locator("#incident-map")).to_have_attribute("data-ready", "1", timeout=60_000)  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    before = _busy(cdp)
    draw_wall = p.evaluate(layer_script)  # type: ignore[attr-defined]
    draw_busy = _busy(cdp) - before
    before = _busy(cdp)
    rounds = p.evaluate(MEASURE_REDRAW)  # type: ignore[attr-defined]
    moves = sorted(t for r in rounds for t in r)
    busy = (_busy(cdp) - before) / len(moves)
    cdp.detach()
    return {"draw_wall_ms": draw_wall, "draw_busy_ms": draw_busy,
            "move_wall_median_ms": moves[len(moves) // 2], "move_wall_max_ms": moves[-1],
            "move_busy_mean_ms": busy}


def run(reports: int, seed: int) -> dict[str, object]:
    """Timings of the pages (kalkan) and of the map drawn with kalkan's layer and stock Leaflet."""
    from playwright.sync_api import sync_playwright

    with (tempfile.TemporaryDirectory() as tmp,
          running_server(Path(tmp), incidents=reports, seed=seed) as server,
          sync_playwright() as playwright):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, server.tokens["analyst"])
        ours = measure_pages(page)
        layers = {"kalkan": map_costs(page, KALKAN_LAYER), "stock": map_costs(page, STOCK_LEAFLET)}
        browser.close()
    return {"ours": ours, "layers": layers, "load": os.getloadavg()[0]}


def markdown(reports: int, result: dict[str, object]) -> str:
    """The BENCHMARKS.md section."""
    ours, layers, load = result["ours"], result["layers"], result["load"]
    assert isinstance(load, float)
    assert isinstance(ours, dict) and isinstance(layers, dict)
    m = ours["map"]
    k, peer = layers["kalkan"], layers["stock"]

    def ms(value: float) -> str:
        return f"{value:,.0f} ms"

    rows = [
        ("Reports list, first page (50 rows)", ms(ours["list"]["load_ms"])),
        ("Reports list, next page (keyset)", ms(ours["list_next_page"]["load_ms"])),
        ("Reports list filtered (type and status)", ms(ours["list_filtered"]["load_ms"])),
        ("Verification queue (20 oldest, duplicates beside each)", ms(ours["queue"]["load_ms"])),
        ("Export page (with the count)", ms(ours["export_page"]["load_ms"])),
        ("Map page loaded (HTML, CSS, scripts)", ms(m["page_load_ms"])),
        ("Map: fetch every report (compact JSON)", ms(m["fetchMs"])),
        ("Map: first draw after the fetch (fit to the reports, then draw)", ms(m["drawMs"])),
    ]
    lines = [
        f"## Register pages in the browser ({reports:,} reports)", "",
        machine() + f" Load average during the run: {load:.1f} (other jobs share the 2 cores; wall times",
        "stretch with it, main-thread busy times much less).", "",
        "Reproduce: `.venv/bin/python bench/register_pages.py "
        f"--reports {reports}` (system Chromium, headless; `kalkan serve` on loopback, SQLite).",
        "Times are the browser's own Performance API: a page's `loadEventEnd`; the map's draw and redraw",
        "include two animation frames (about 33 ms at 60 Hz is the floor).", "",
        "| Page | Time |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], "",
        "Map drawing, kalkan's one-canvas layer vs stock Leaflet (one `L.circleMarker` per report on",
        "Leaflet's canvas renderer), same page, same reports, same run. *Busy* is the browser main",
        "thread's work (Chrome's `TaskDuration`), which a busy machine does not inflate as much as the",
        "wall time; a move is one zoom step or pan, twelve in all. Both draw the same 10,000 circles; after",
        "a zoom or pan most of the cost is the browser rasterising them in software (headless Chromium,",
        "`--disable-gpu`), which kalkan's layer cannot avoid: its own script work is a few milliseconds.", "",
        "| Map | kalkan | stock Leaflet |", "|---|---|---|",
        f"| Draw every report: wall | {ms(k['draw_wall_ms'])} | {ms(peer['draw_wall_ms'])} |",
        f"| Draw every report: main thread busy | {ms(k['draw_busy_ms'])} | {ms(peer['draw_busy_ms'])} |",
        f"| Zoom or pan: wall, median | {ms(k['move_wall_median_ms'])} | {ms(peer['move_wall_median_ms'])} |",
        f"| Zoom or pan: wall, slowest | {ms(k['move_wall_max_ms'])} | {ms(peer['move_wall_max_ms'])} |",
        f"| Zoom or pan: main thread busy, mean | {ms(k['move_busy_mean_ms'])} "
        f"| {ms(peer['move_busy_mean_ms'])} |",
    ]
    return "\n".join(lines)


def main() -> None:
    """Measure and write the BENCHMARKS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000, help="reports in the register")
    parser.add_argument("--seed", type=int, default=2010, help="seed of the synthetic reports")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium is not at {CHROMIUM}: apt-get install chromium")
    result = run(args.reports, args.seed)
    text = markdown(args.reports, result)
    print(text)
    write_section("register-pages", text)


if __name__ == "__main__":
    main()
