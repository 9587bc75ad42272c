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


def run(reports: int, seed: int) -> dict[str, object]:
    """Timings of the pages (kalkan) and of the map drawn with stock Leaflet markers (peer)."""
    from playwright.sync_api import expect, sync_playwright

    with (tempfile.TemporaryDirectory() as tmp,
          running_server(Path(tmp), incidents=reports, seed=seed) as server,
          sync_playwright() as playwright):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, server.tokens["analyst"])
        ours = measure_pages(page)
        page.goto("/map")
        expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1", timeout=60_000)
        our_draw = page.evaluate(KALKAN_LAYER)
        stock_draw = page.evaluate(STOCK_LEAFLET)
        first, again = (sorted(r) for r in page.evaluate(MEASURE_REDRAW))
        browser.close()
    peer = {"drawMs": stock_draw, "redraw_first_median_ms": first[len(first) // 2],
            "redraw_median_ms": again[len(again) // 2], "redraw_max_ms": max(first[-1], again[-1])}
    ours["map"]["layer_draw_ms"] = our_draw  # type: ignore[index]
    return {"ours": ours, "peer": peer}


def markdown(reports: int, result: dict[str, object]) -> str:
    """The BENCHMARKS.md section."""
    ours, peer = result["ours"], result["peer"]
    assert isinstance(ours, dict) and isinstance(peer, dict)
    m = ours["map"]

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
        ("Map: first draw after the fetch (fit to the reports, districts, reports)", ms(m["drawMs"])),
    ]
    lines = [
        f"## Register pages in the browser ({reports:,} reports)", "",
        machine(), "",
        "Reproduce: `.venv/bin/python bench/register_pages.py "
        f"--reports {reports}` (system Chromium, headless; `kalkan serve` on loopback, SQLite).",
        "Times are the browser's own Performance API: a page's `loadEventEnd`; the map's draw and redraw",
        "include two animation frames (about 33 ms at 60 Hz is the floor).", "",
        "| Page | Time |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], "",
        "Map drawing, kalkan's one-canvas layer vs stock Leaflet (one `L.circleMarker` per report on",
        "Leaflet's canvas renderer), same page, same reports, same run:", "",
        "| Map | kalkan | stock Leaflet |", "|---|---|---|",
        f"| Draw every report on the ready map | {ms(m['layer_draw_ms'])} | {ms(peer['drawMs'])} |",
        f"| Redraw after zoom/pan, first visit of a zoom level (median) | {ms(m['redraw_first_median_ms'])} "
        f"| {ms(peer['redraw_first_median_ms'])} |",
        f"| Redraw after zoom/pan, again (median) | {ms(m['redraw_median_ms'])} "
        f"| {ms(peer['redraw_median_ms'])} |",
        f"| Slowest redraw | {ms(m['redraw_max_ms'])} | {ms(peer['redraw_max_ms'])} |",
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
