"""axe-core (from npm, ``make axe``) finds no serious or critical violation on any register page, in
Chromium, for each role that works there, in English and (slow) in every language the pages offer.

axe-core is pinned with its integrity hash in package-lock.json and installed by ``make axe``
(``npm ci``) into node_modules/; the tests skip without it unless ``CI`` is set. Each run's results
(violations by impact, rules passed) go to test-artifacts/register-pages/axe-<lang>.json.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from _pages_server import ARTIFACTS, REPO, Server
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from kalkan.register.i18n import available_languages, language
from kalkan.register.pages import install

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
LANG_COOKIE = "kalkan_lang"
# (role signed in, page): every page, by every kind of user that works in it. {id}: a report.
PAGES = [
    (None, "/signin"),
    ("monitor", "/report"),
    ("monitor", "/incidents"),
    ("monitor", "/incidents/{id}"),
    ("monitor", "/queue"),  # the 403 page a monitor gets
    ("monitor", "/incidents/999999"),  # the 404 page
    ("analyst", "/incidents"),
    ("analyst", "/incidents/{id}"),
    ("analyst", "/queue"),
    ("analyst", "/map"),
    ("analyst", "/export"),
    ("investigator", "/incidents/{id}"),
    ("admin", "/incidents/{id}"),
    ("monitor", "/mission"),
    ("monitor", "/mission/new/detention_visit"),
    ("monitor", "/mission/new/dispute"),
    ("analyst", "/mission/dispute"),
]
# GET routes that are not pages a person reads: files, data for the map, redirects, Swagger UI
# (a third-party page for admins; its assets are the swagger-ui-bundle package's).
NOT_PAGES = {
    "/",
    "/language",
    "/sw.js",
    "/docs",
    "/docs/assets/{name}",
    "/export/download",
    "/incidents/{incident_id}/attachments/{attachment_id}",
    "/map/incidents.json",
    "/map/districts.geojson",
    "/map/places.json",
    "/map/forecast.geojson",
    "/map/mission.json",
    # The mission's pages by kind and record: every form, list and record page is opened by
    # browser/test_mission_pages.py's axe test (the mission helper's); PAGES opens some in every language.
    "/mission/new/{kind}",
    "/mission/{kind}",
    "/mission/{kind}/{record_id}",
}
SERIOUS = ("serious", "critical")


def _axe_source() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but axe-core is not installed at {AXE}: run `make axe`")
        pytest.skip(f"axe-core is not installed at {AXE}: run `make axe` (npm ci)")
    return AXE.read_text(encoding="utf-8")


def test_every_page_route_is_checked() -> None:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install(app)
    routes = {
        route.path  # type: ignore[attr-defined]
        for route in app.routes
        if "GET" in (getattr(route, "methods", None) or set())
    }
    checked = {path.replace("{id}", "{incident_id}").replace("999999", "{incident_id}") for _, path in PAGES}
    assert routes - NOT_PAGES - checked == set(), "a page no axe test opens: add it to PAGES"


@pytest.fixture(scope="module")
def incident(server: Server) -> int:
    """A report with a witness, an attachment, a grade and a near duplicate: every part shows."""
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
            "personal": {"witnesses": [{"name": "A. Witness", "contact": "+996 555 000 111"}]},
        }
        with server.api("monitor") as api:
            response = api.post("/api/incidents", json=body)
            response.raise_for_status()
            ids.append(int(response.json()["id"]))
    with server.api("monitor") as api:
        files = {"file": ("note.txt", b"seen at 14:00", "text/plain")}
        api.post(f"/api/incidents/{ids[0]}/attachments", files=files).raise_for_status()
    with server.api("analyst") as api:
        api.post(f"/api/incidents/{ids[0]}/status", json={"status": "corroborated", "reason": "two sources"})
    return ids[0]


def _open(browser: Any, server: Server, code: str, role: str | None) -> Page:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": LANG_COOKIE, "value": code, "url": server.url}])
    page = context.new_page()
    if role is not None:
        t = language(code).gettext
        page.goto("/signin")
        page.get_by_label(t("Access token")).fill(server.tokens[role])
        page.get_by_role("button", name=t("Sign in"), exact=True).click()
        page.wait_for_url(lambda url: "/signin" not in url)
    return page


def _audit(browser: Any, server: Server, incident: int, code: str) -> dict[str, Any]:
    source = _axe_source()
    results: dict[str, Any] = {}
    pages: dict[str | None, Page] = {}
    try:
        for role, path in PAGES:
            if role not in pages:
                pages[role] = _open(browser, server, code, role)
            page = pages[role]
            page.goto(path.format(id=incident))
            if path == "/map":
                expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
            page.evaluate(source)  # through the DevTools protocol: the pages' CSP allows no inline script
            found = page.evaluate(
                "() => axe.run(document, {resultTypes: ['violations']})"
                ".then(r => ({violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
                " help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})),"
                " passes: r.passes.length, version: r.testEngine.version}))"
            )
            results[f"{role or 'signed out'} {path}"] = found
    finally:
        for page in pages.values():
            page.context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{code}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return results


def _serious(results: dict[str, Any]) -> dict[str, list[str]]:
    return {
        where: [
            f"{v['impact']} {v['id']}: {v['help']} ({'; '.join(v['nodes'])})" for v in found["violations"]
        ]
        for where, found in results.items()
        if any(v["impact"] in SERIOUS for v in found["violations"])
    }


def test_no_serious_violation_on_any_page(browser: Any, server: Server, incident: int) -> None:
    results = _audit(browser, server, incident, "en")
    assert {r["version"] for r in results.values()} == {
        json.loads((AXE.parent / "package.json").read_text())["version"]
    }
    assert _serious(results) == {}


@pytest.mark.slow  # every page again in each other language: about a minute on the shared machine
@pytest.mark.parametrize("code", available_languages()[1:])
def test_no_serious_violation_in_any_language(browser: Any, server: Server, incident: int, code: str) -> None:
    assert _serious(_audit(browser, server, incident, code)) == {}


def test_axe_core_comes_from_the_pinned_npm_package() -> None:
    lock = json.loads((REPO / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/axe-core"]
    assert pinned["integrity"].startswith("sha512-") and pinned["license"] == "MPL-2.0"
    assert json.loads((REPO / "package.json").read_text())["devDependencies"]["axe-core"] == pinned["version"]
    source = _axe_source()
    assert source.startswith(f"/*! axe v{pinned['version']}")
    assert Path(AXE.parent / "LICENSE").is_file()
