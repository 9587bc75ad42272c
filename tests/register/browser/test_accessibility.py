"""Every page passes axe-core (run in Chromium) with no serious or critical violation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from _pages_server import Server, sign_in
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

# (role signed in, page) pairs: every page each kind of user works in.
PAGES = [
    (None, "/signin"),
    ("monitor", "/report"),
    ("monitor", "/incidents"),
    ("monitor", "/queue"),  # the 403 page a monitor gets
    ("analyst", "/queue"),
    ("analyst", "/incidents"),
    ("analyst", "/incidents/{id}"),
    ("analyst", "/map"),
    ("analyst", "/export"),
    ("admin", "/incidents/{id}"),
]


@pytest.fixture(scope="module")
def incident(server: Server) -> int:
    """A report with a witness and a near duplicate, so the pages show all their parts."""
    ids = []
    for grade in ("B", "C"):
        body = {
            "client_id": str(uuid.uuid4()),
            "type": "arson",
            "date_start": "2010-06-12",
            "latitude": 40.53,
            "longitude": 72.80,
            "source_reliability": grade,
            "information_credibility": "2",
            "description": "Houses set on fire in Cheremushki",
            "personal": {"witnesses": [{"name": "A. Witness"}]},
        }
        with server.api("monitor") as api:
            response = api.post("/api/incidents", json=body)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return int(ids[0])


@pytest.mark.parametrize("role, path", PAGES)
def test_no_serious_accessibility_violations(
    context: Any, server: Server, incident: int, role: str | None, path: str
) -> None:
    page = context.new_page()
    if role:
        sign_in(page, server.tokens[role])
    page.goto(path.format(id=incident))
    if path == "/map":
        expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in serious
    ]
    assert not serious, "\n".join(details)


def test_the_check_finds_a_violation_when_there_is_one(context: Any, server: Server) -> None:
    # Guard against a check that passes because it never ran: a nameless button must be caught.
    page = context.new_page()
    page.goto("/signin")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    results = Axe().run(page)
    assert "button-name" in {
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    }


@pytest.mark.parametrize("path", ["/report", "/incidents"])
def test_monitor_pages_fit_a_phone_screen(browser: Any, server: Server, path: str) -> None:
    # A monitor often has only a phone: no sideways scrolling of the page (wide tables scroll alone).
    ctx = browser.new_context(
        base_url=server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = ctx.new_page()
        sign_in(page, server.tokens["monitor"])
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()
