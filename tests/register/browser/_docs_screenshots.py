"""Make the screenshots in docs/img/register-*.png.

Run: ``.venv/bin/python tests/register/browser/_docs_screenshots.py`` (from the repository root).

Files the embedded scenario's located incidents of May-June 2010 (kalkan.scenarios, with their
sources) as reports of one monitor, graded F6 ("cannot be judged": the grading was not done), plus
one second report of the first killing as a candidate duplicate, then photographs the verification
queue and the map as an analyst sees them.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from _pages_server import CHROMIUM, CHROMIUM_ARGS, REPO, running_server, sign_in


def main() -> None:
    """Write docs/img/register-queue.png and docs/img/register-map.png."""
    from playwright.sync_api import expect, sync_playwright

    from kalkan.scenarios import load_scenario

    incidents = load_scenario().incidents
    located = incidents[incidents["located"]].sort_values("date_start")
    reports = []
    for row in located.to_dict("records"):
        text = f"{row['place_name']}: {row['notes']} (sources: {row['source_ids']})"
        reports.append(
            {
                "client_id": str(uuid.uuid4()),
                "type": row["event_type"],
                "date_start": row["date_start"].date().isoformat(),
                "latitude": float(row["latitude"]),
                "longitude": float(row["longitude"]),
                "source_reliability": "F",
                "information_credibility": "6",
                "description": text[:2000],
                "place_name": str(row["place_name"])[:200],
            }
        )
    first_killing = next(r for r in reports if r["type"] == "killing")
    reports.insert(
        3,
        {
            **first_killing,
            "client_id": str(uuid.uuid4()),
            "description": first_killing["description"] + " Seen by a second monitor.",
        },
    )
    out = REPO / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp)) as server,
        sync_playwright() as playwright,
    ):
        with server.api("monitor") as api:
            result = api.post("/api/incidents/bulk", json={"reports": reports})
            result.raise_for_status()
            assert result.json()["invalid"] == 0, result.json()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 900}, locale="en-GB"
        ).new_page()
        sign_in(page, server.tokens["analyst"])
        page.goto("/queue")
        page.screenshot(path=str(out / "register-queue.png"))
        page.goto("/map")
        expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        page.screenshot(path=str(out / "register-map.png"), full_page=True)
        browser.close()
    print(out / "register-queue.png", out / "register-map.png", file=sys.stderr)


if __name__ == "__main__":
    main()
