"""The mission's pages in Chromium: a monitor files each kind of record from the browser, one of them
while offline (it waits in the device's outbox and is sent on reconnect, once); an analyst follows a
dispute and sees patrols and coverage gaps on the map; every new page passes axe-core."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from _pages_server import Server, sign_in
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

FORMS: dict[str, dict[str, str]] = {
    "site": {
        "kind": "camp",
        "name": "Suzak school camp",
        "latitude": "40.89",
        "longitude": "72.90",
        "admin2": "Suzak",
    },
    "return_visit": {
        "visited_on": "2010-06-28",
        "latitude": "40.51",
        "longitude": "72.81",
        "place_name": "Shait-Tepe",
        "households_back": "42",
        "homes_destroyed": "30",
        "people.0.name": "Interviewee C",
    },
    "patrol": {
        "kind": "joint_patrol",
        "started_at": "2010-06-12T09:00",
        "latitude": "40.53",
        "longitude": "72.80",
        "radius_km": "3",
        "mission_unit": "Team Osh-2",
        "partner_unit": "Osh city police",
    },
    "detention_visit": {
        "visited_on": "2010-06-20",
        "facility": "Osh temporary detention",
        "facility_kind": "temporary_detention",
        "latitude": "40.53",
        "longitude": "72.80",
        "groups.0.group": "ethnic Uzbek",
        "groups.0.count": "14",
        "allegations": "4",
        "summary": "four alleged beatings",
        "people.0.name": "Detainee A",
    },
    "dispute": {
        "kind": "return_to_home",
        "opened_on": "2010-06-25",
        "latitude": "40.52",
        "longitude": "72.79",
        "admin2": "Osh city",
        "parties.0.group": "returning family",
        "summary": "house occupied",
    },
}


def fill(page: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f'#mission-form [name="{name}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def records(server: Server, path: str, marker: str, key: str) -> list[dict[str, Any]]:
    with server.api("admin") as api:
        return [r for r in api.get(path).json() if marker in str(r.get(key, ""))]


def test_a_monitor_files_every_kind_of_record_from_the_browser(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    marker = uuid.uuid4().hex[:8]
    for kind, values in FORMS.items():
        page.goto(f"/mission/new/{kind}")
        values = {**values, **({"name": f"camp {marker}"} if kind == "site" else {})}
        fill(page, values)
        page.get_by_role("button", name="File it").click()
        expect(page.locator("#mission-result")).to_contain_text("Filed: the register keeps it as number")
        expect(page.locator("#mission-outbox")).to_be_hidden()
    assert len(records(server, "/api/sites", marker, "name")) == 1
    # a figure for the new site, chosen by name in the form
    page.goto("/mission/new/figure")
    page.get_by_label("Site").select_option(label=f"camp {marker}")
    fill(page, {"as_of": "2010-06-20", "group": "ethnic Uzbeks", "persons": "1200", "source": "UNHCR"})
    page.get_by_role("button", name="File it").click()
    expect(page.locator("#mission-result")).to_contain_text("Filed")
    site = records(server, "/api/sites", marker, "name")[0]
    assert [f["persons"] for f in site["figures"]] == [1200]


def test_a_record_filed_offline_waits_on_the_device_and_is_sent_once(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    marker = f"offline {uuid.uuid4().hex[:8]}"
    page.goto("/mission/new/detention_visit")
    fill(page, {**FORMS["detention_visit"], "facility": marker})
    client_id = page.locator('#mission-form [name="client_id"]').input_value()
    context.set_offline(True)
    page.get_by_role("button", name="File it").click()
    expect(page.locator("#mission-outbox-status")).to_contain_text("cannot be reached")
    assert records(server, "/api/detention-visits", marker, "facility") == []
    page.close()
    context.set_offline(False)
    page = context.new_page()
    page.goto("/mission/new/patrol")  # any mission form sends what waits
    expect(page.locator("#mission-result")).to_contain_text("Filed")
    stored = records(server, "/api/detention-visits", marker, "facility")
    assert [r["client_id"] for r in stored] == [client_id]
    page.reload()  # nothing waits any more: nothing is sent again
    expect(page.locator("#mission-outbox")).to_be_hidden()
    assert len(records(server, "/api/detention-visits", marker, "facility")) == 1


def test_a_refused_record_comes_back_to_the_form_with_the_reason(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    page.goto("/mission/new/detention_visit")
    fill(page, {**FORMS["detention_visit"], "interviewed": "99"})
    page.get_by_role("button", name="File it").click()
    expect(page.locator("#mission-errors")).to_contain_text("interviewed")
    expect(page.locator('#mission-form [name="facility"]')).to_have_value("Osh temporary detention")


def test_an_analyst_follows_a_dispute_and_sees_patrol_coverage_on_the_map(
    context: Any, server: Server
) -> None:
    with server.api("monitor") as api:
        dispute = api.post(
            "/api/disputes",
            json={
                "client_id": str(uuid.uuid4()),
                "kind": "property_land",
                "opened_on": "2010-06-25",
                "latitude": 40.52,
                "longitude": 72.79,
                "admin2": "Osh city",
                "summary": "a plot claimed by two families",
            },
        ).json()
        api.post(
            "/api/incidents",
            json={
                "client_id": str(uuid.uuid4()),
                "type": "arson",
                "date_start": "2010-06-12",
                "latitude": 40.93,
                "longitude": 73.0,
                "source_reliability": "B",
                "information_credibility": "2",
                "description": "far from any patrol",
            },
        )
        api.post(
            "/api/patrols",
            json={
                "client_id": str(uuid.uuid4()),
                "kind": "joint_patrol",
                "started_at": "2010-06-12T09:00:00+06:00",
                "latitude": 40.53,
                "longitude": 72.80,
                "mission_unit": "Team Osh-1",
                "partner_unit": "Osh city police",
            },
        )
    page = context.new_page()
    sign_in(page, server.tokens["analyst"])
    page.goto(f"/mission/dispute/{dispute['id']}")
    page.locator("#s-on").fill("2010-06-30")
    page.get_by_label("Status from that day").select_option("resolved")
    page.locator("#s-outcome").fill("the plot was divided")
    page.get_by_role("button", name="Record it").click()
    expect(page.locator("#mission-result")).to_contain_text("Filed")
    page.reload()
    expect(page.locator("ol.history")).to_contain_text("Resolved")
    page.goto("/map?date_from=2010-06-10&date_to=2010-06-14")
    expect(page.locator("#coverage-status")).to_contain_text("had no patrol within a day")
    assert int(page.locator("#incident-map").get_attribute("data-patrols") or 0) >= 1
    assert int(page.locator("#incident-map").get_attribute("data-uncovered") or 0) >= 1


MISSION_PAGES = [
    ("monitor", "/mission"),
    *[("monitor", f"/mission/new/{kind}") for kind in (*FORMS, "figure")],
    ("analyst", "/mission/dispute"),
    ("analyst", "/mission/site"),
    ("analyst", "/mission/detention_visit"),
    ("analyst", "/mission/dispute/{dispute}"),
    ("admin", "/mission/detention_visit/{visit}"),
]


@pytest.fixture(scope="module")
def filed(server: Server) -> dict[str, int]:
    with server.api("monitor") as api:
        dispute = api.post(
            "/api/disputes",
            json={
                "client_id": str(uuid.uuid4()),
                "kind": "community_tension",
                "opened_on": "2010-06-26",
                "latitude": 40.52,
                "longitude": 72.79,
                "summary": "tension at the bazaar",
                "personal": {"people": [{"name": "Elder D"}]},
            },
        ).json()
        visit = api.post(
            "/api/detention-visits",
            json={
                "client_id": str(uuid.uuid4()),
                "visited_on": "2010-06-20",
                "facility": "Jalal-Abad police",
                "latitude": 40.93,
                "longitude": 73.0,
                "detainees": [{"group": "ethnic Uzbek", "count": 3}],
                "allegations": 1,
                "personal": {"people": [{"name": "Detainee E"}]},
            },
        ).json()
    return {"dispute": dispute["id"], "visit": visit["id"]}


@pytest.mark.parametrize("role, path", MISSION_PAGES)
def test_mission_pages_have_no_serious_accessibility_violation(
    context: Any, server: Server, filed: dict[str, int], role: str, path: str
) -> None:
    page = context.new_page()
    sign_in(page, server.tokens[role])
    page.goto(path.format(**filed))
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in serious
    ]
    assert not serious, "\n".join(details)
