"""The register's pages in a real browser: a monitor's and an analyst's whole jobs, end to end.

Each test drives the system Chromium through Playwright against ``kalkan serve`` on loopback and
checks the result through the register's API, so a page that only *looks* right fails.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from _pages_server import Server, shot, sign_in
from playwright.sync_api import Page, Route, expect

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # a minimal JPEG header+end


def fill_report(
    page: Page, description: str, *, lat: str = "40.53", lon: str = "72.80", navigate: bool = True
) -> str:
    """Open the report form and fill it as a monitor would; returns the form's client_id."""
    if navigate:
        page.goto("/report")
    page.get_by_label("Type", exact=True).select_option("arson")
    page.get_by_label("Date", exact=True).fill("2010-06-12")
    page.get_by_label("Time (local, if known)").fill("02:15")
    page.get_by_label("Description").fill(description)
    page.get_by_label("Latitude (°N, WGS84)").fill(lat)
    page.get_by_label("Longitude (°E, WGS84)").fill(lon)
    page.get_by_label("Killed: Men").fill("2")
    page.get_by_label("Injured: Girls (under 18)").fill("1")
    page.locator("#r-B").check()
    page.locator("#c-2").check()
    page.get_by_label("Witness name").fill("Witness Alpha")
    page.get_by_label("Contact").fill("+996 555 000 111")
    page.get_by_label("Photos, audio or documents").set_input_files(
        [{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    return page.locator('input[name="client_id"]').input_value()


def reports_with(server: Server, text: str) -> list[dict[str, Any]]:
    """The reports whose description contains ``text``, as the admin sees them through the API."""
    with server.api("admin") as api:
        response = api.get("/api/incidents", params={"q": text, "limit": 50})
        response.raise_for_status()
        return response.json()["items"]


def test_monitor_report_survives_a_lost_answer_without_a_duplicate(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    marker = f"lost-answer {uuid.uuid4().hex[:8]}"
    client_id = fill_report(page, f"Houses burning on Navoi street ({marker}).")
    shot(page, "register-report")

    answers: list[int] = []

    def file_then_drop(route: Route) -> None:
        # The server files the report, but the answer never reaches the browser.
        answers.append(route.fetch().status)
        route.abort("connectionreset")

    page.route("**/report", file_then_drop, times=1)
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#outbox-status")).to_contain_text("cannot be reached")
    expect(page.locator("#outbox-list li")).to_have_count(1)
    assert answers == [201]
    shot(page, "register-report-outbox")
    # The form is empty again with a new client_id; the unsent report waits in the outbox.
    assert page.locator('input[name="client_id"]').input_value() != client_id

    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#report-result")).to_contain_text("already had it")
    expect(page.locator("#outbox")).to_be_hidden()

    stored = reports_with(server, marker)
    assert len(stored) == 1
    report = stored[0]
    assert report["client_id"] == client_id
    assert report["type"] == "arson" and report["source_reliability"] == "B"
    assert report["description"].startswith("[02:15 local time]")
    assert {(v["category"], v["sex"], v["age_group"], v["count"]) for v in report["victims"]} == {
        ("killed", "m", "adults", 2),
        ("injured", "f", "children", 1),
    }
    assert report["captured_at"] is not None
    with server.api("admin") as api:
        detail = api.get(f"/api/incidents/{report['id']}").json()
    assert [a["filename"] for a in detail["attachments"]] == ["street.jpg"]  # attached once, not twice
    assert detail["personal"]["witnesses"][0]["name"] == "Witness Alpha"


def test_offline_report_waits_on_the_device_and_is_sent_on_reconnect(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    marker = f"offline {uuid.uuid4().hex[:8]}"

    # A draft survives a reload before it is sent.
    page.goto("/report")
    page.get_by_label("Description").fill(f"Draft kept ({marker}).")
    page.reload()
    expect(page.get_by_label("Description")).to_have_value(f"Draft kept ({marker}).")
    expect(page.locator("#report-result")).to_contain_text("draft was restored")

    client_id = fill_report(page, f"Crowd gathering at the bazaar ({marker}).", lat="40.93", lon="73.00")
    context.set_offline(True)
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#outbox-status")).to_contain_text("cannot be reached")
    assert reports_with(server, marker) == []
    page.close()  # the tab is closed while offline; the report stays on the device

    context.set_offline(False)
    page = context.new_page()
    page.goto("/report")  # the outbox is sent when the form opens
    expect(page.locator("#report-result")).to_contain_text("filed it as number")
    expect(page.locator("#outbox")).to_be_hidden()
    stored = reports_with(server, marker)
    assert [r["client_id"] for r in stored] == [client_id]


def test_invalid_report_comes_back_to_the_form_with_the_reason(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    fill_report(page, "Latitude typed wrong.", lat="40.5")
    # A date in the future passes the browser's checks but not the register's.
    page.get_by_label("Date", exact=True).fill("2999-01-01")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#form-errors")).to_contain_text("date_start")
    expect(page.get_by_label("Description")).to_have_value("Latitude typed wrong.")
    expect(page.locator("#outbox")).to_be_hidden()


def test_monitor_cannot_open_the_queue_and_sees_only_own_reports(context: Any, server: Server) -> None:
    marker = f"analyst-own {uuid.uuid4().hex[:8]}"
    with server.api("analyst") as api:
        api.post(
            "/api/incidents",
            json={
                "client_id": str(uuid.uuid4()),
                "type": "threat",
                "date_start": "2010-06-10",
                "latitude": 40.5,
                "longitude": 72.8,
                "source_reliability": "C",
                "information_credibility": "3",
                "description": f"Filed by the analyst ({marker}).",
            },
        ).raise_for_status()
    page = context.new_page()
    page.goto("/signin")
    shot(page, "register-signin")
    sign_in(page, server.tokens["monitor"])
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Verification queue")
    response = page.goto("/queue")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("cannot open this page")
    for path in ("/map", "/export"):
        response = page.goto(path)
        assert response is not None and response.status == 403
    page.goto(f"/incidents?q={marker}")
    expect(page.locator("#result-count")).to_contain_text("No reports match")
    page.goto("/queue")
    shot(page, "register-forbidden")


def _file_via_api(server: Server, *, grade: tuple[str, str], text: str, witness: str | None = None) -> int:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "killing",
        "date_start": "2010-06-11",
        "latitude": 40.5283,
        "longitude": 72.7985,
        "source_reliability": grade[0],
        "information_credibility": grade[1],
        "description": text,
        "place_name": "Osh, Cheremushki",
    }
    if witness:
        body["personal"] = {"witnesses": [{"name": witness, "contact": "via the mahalla committee"}]}
    with server.api("monitor") as api:
        response = api.post("/api/incidents", json=body)
        response.raise_for_status()
        return int(response.json()["id"])


def test_analyst_links_verifies_maps_and_exports(context: Any, server: Server) -> None:
    marker = uuid.uuid4().hex[:8]
    text = f"Two men shot at the Cheremushki crossing {marker}"
    lead = _file_via_api(server, grade=("A", "1"), text=text, witness="Rustam Aliev")
    other = _file_via_api(server, grade=("C", "3"), text=text + " at night")
    page = context.new_page()
    sign_in(page, server.tokens["analyst"])
    page.goto("/queue")
    item = page.locator(f"#item-{lead}")
    expect(item).to_contain_text(f"Report {other}")  # the candidate duplicate, beside the report
    shot(page, "register-queue")

    item.get_by_role("button", name=f"Link: same incident as {other}").click()
    expect(page.locator(f"#item-{lead}")).to_contain_text("are linked as one incident")
    with server.api("analyst") as api:
        assert api.get(f"/api/incidents/{other}").json()["lead_id"] == lead

    page.goto("/queue")
    expect(page.locator(f"#item-{other}")).to_have_count(0)  # a linked report waits with its lead
    item = page.locator(f"#item-{lead}")
    item.get_by_label("Reason").fill("Hospital record and a second monitor's report agree.")
    item.get_by_role("button", name="Verify").click()
    expect(page.locator(f"#item-{lead}")).to_contain_text("is now Verified")
    with server.api("analyst") as api:
        detail = api.get(f"/api/incidents/{lead}").json()
    assert detail["status"] == "verified"
    assert detail["history"][-1]["reason"] == "Hospital record and a second monitor's report agree."

    page.goto(f"/incidents/{lead}")
    expect(page.locator("#history")).to_contain_text("Hospital record")
    expect(page.locator("#personal-hidden")).to_be_visible()  # witnesses hidden from an analyst
    shot(page, "register-incident")

    page.goto("/map")
    expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
    shown = page.evaluate("window.kalkanMap.count")
    with server.api("analyst") as api:
        visible = len(api.get("/api/incidents", params={"limit": 500}).json()["items"])
    assert shown == visible
    # Clicking the verified report's point lists it in a popup, with a link to its page.
    point = page.evaluate(f"""() => {{
        const row = window.kalkanPoints._rows.find(r => r[0] === {lead});
        return window.kalkanLeafletMap.latLngToContainerPoint([row[1], row[2]]);
    }}""")
    page.locator("#incident-map").click(position={"x": point["x"], "y": point["y"]})
    expect(page.locator(".leaflet-popup")).to_contain_text(f"Open report {lead}")
    shot(page, "register-map")

    page.goto("/map?status=verified")
    expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
    assert page.evaluate("window.kalkanMap.count") >= 1

    page.goto("/incidents")
    shot(page, "register-incidents")
    page.goto("/export")
    shot(page, "register-export")
    page.get_by_label("Status").select_option("verified")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert str(lead) in {r["incident_id"] for r in rows}
    assert {r["status"] for r in rows} == {"verified"}
    assert "witnesses" not in rows[0]


def test_personal_data_shown_by_role_and_audit_to_admin(context: Any, server: Server) -> None:
    incident = _file_via_api(
        server, grade=("B", "2"), text="Marking of doors seen at dawn", witness="Dilnoza Karimova"
    )
    page = context.new_page()
    sign_in(page, server.tokens["investigator"])
    page.goto(f"/incidents/{incident}")
    expect(page.locator("#personal-hidden")).to_contain_text("not been shared")
    expect(page.locator("main")).not_to_contain_text("Dilnoza")
    expect(page.locator("main")).to_contain_text("The audit chain is shown to admins")
    # Separation of duties: an investigator cannot open witness data to itself or its role ...
    page.get_by_label("Share with a role").select_option("investigator")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("main")).to_contain_text("needs an admin")
    expect(page.locator("main")).not_to_contain_text("Dilnoza")
    # ... an admin shares it with the investigator role; then the witness is shown to investigators.
    page.context.clear_cookies()
    sign_in(page, server.tokens["admin"])
    page.goto(f"/incidents/{incident}")
    page.get_by_label("Share with a role").select_option("investigator")
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#witness-list")).to_contain_text("Dilnoza Karimova")
    expect(page.locator("#audit-table")).to_contain_text("create")
    expect(page.locator("#audit-table")).to_contain_text("share")
    page.context.clear_cookies()
    sign_in(page, server.tokens["investigator"])
    page.goto(f"/incidents/{incident}")
    expect(page.locator("#witness-list")).to_contain_text("Dilnoza Karimova")


def test_monitor_attaches_more_evidence_to_own_report(context: Any, server: Server) -> None:
    incident = _file_via_api(server, grade=("B", "2"), text="Burnt shop, photos follow")
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    page.goto(f"/incidents/{incident}")
    page.get_by_label("Attach more files").set_input_files(
        [{"name": "shop.jpg", "mimeType": "image/jpeg", "buffer": JPEG + b"shop"}]
    )
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator("main")).to_contain_text("Files attached.")
    expect(page.locator("main")).to_contain_text("shop.jpg")
    with server.api("admin") as api:
        files = api.get(f"/api/incidents/{incident}").json()["attachments"]
    assert [f["filename"] for f in files] == ["shop.jpg"]


@pytest.mark.parametrize(
    "lang, date_text, number_text",
    [
        ("en", "Jun 11, 2010", "40.5283"),  # English (CLDR en): month day, year; point decimal
        ("ru", "11 июн. 2010", "40,5283"),  # Russian: a comma decimal and Russian month names
    ],
)
def test_dates_and_numbers_follow_the_language(
    context: Any, server: Server, lang: str, date_text: str, number_text: str
) -> None:
    incident = _file_via_api(server, grade=("B", "2"), text="Language check")
    page = context.new_page()
    sign_in(page, server.tokens["admin"])
    page.goto(f"/incidents/{incident}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(number_text)
    page.goto(f"/incidents?lang={lang}")
    expect(page.locator("#incident-table")).to_contain_text(date_text)


def test_map_shows_the_latest_hotspot_forecast(context: Any, server: Server) -> None:
    # The CSV `kalkan risk hotspots --format csv` prints, saved in the register's forecasts folder.
    folder = server.data_dir / "forecasts"
    folder.mkdir(exist_ok=True)
    (folder / "2010-06-12.csv").write_text(
        "cell_id,latitude,longitude,probability,expected_events\n"
        "8620a8777ffffff,40.50,72.78,0.62,1.4\n"
        "8620a8757ffffff,40.55,72.83,0.2,0.3\n"
    )
    page = context.new_page()
    sign_in(page, server.tokens["analyst"])
    page.goto("/map")
    expect(page.locator("#incident-map")).to_have_attribute("data-forecast-cells", "2")
    expect(page.locator("main")).to_contain_text("latest hotspot forecast (2010-06-12.csv")


def test_injected_html_in_a_report_stays_text(context: Any, server: Server) -> None:
    attack = (
        '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
        '"><svg onload="window.pwned = 3">'
    )
    incident = _file_via_api(server, grade=("F", "6"), text=attack)
    page = context.new_page()
    sign_in(page, server.tokens["analyst"])
    for path in (f"/incidents/{incident}", "/queue", "/incidents"):
        page.goto(path)
        assert page.evaluate("window.pwned") is None
    page.goto(f"/incidents/{incident}")
    expect(page.locator("p.description")).to_have_text(attack)


def test_clicking_a_town_on_the_form_map_takes_its_position_and_name(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    page.goto("/report")
    expect(page.locator("#pick-map .place-label", has_text="Uzgen")).to_be_visible()
    town = page.evaluate("""async () => {
        const data = await (await fetch('/map/places.json')).json();
        const row = data.rows.find(r => r[0] === 'Uzgen' && r[1] === 'town');
        const point = window.kalkanPickMap.latLngToContainerPoint([row[2], row[3]]);
        return {lat: row[2], lon: row[3], x: point.x, y: point.y};
    }""")
    page.locator("#pick-map").click(position={"x": town["x"], "y": town["y"]})
    place = page.get_by_label("Place name (village, neighbourhood, street)")
    expect(place).to_have_value(re.compile("^Uzgen"))
    latitude = float(page.get_by_label("Latitude (°N, WGS84)").input_value())
    assert latitude == pytest.approx(town["lat"], abs=1e-5)


def test_report_form_opens_and_files_without_a_connection(context: Any, server: Server) -> None:
    # The service worker keeps the form (127.0.0.1 is a secure context, as https:// would be).
    page = context.new_page()
    sign_in(page, server.tokens["monitor"])
    page.goto("/report")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now under the worker's control: the form and its assets are cached
    expect(page.locator("#pick-map .place-label").first).to_be_visible()
    first_id = page.locator('input[name="client_id"]').input_value()
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="File a report")).to_be_visible()
    assert page.locator('input[name="client_id"]').input_value() != first_id  # a fresh id, not the cached
    marker = f"no-connection {uuid.uuid4().hex[:8]}"
    client_id = fill_report(page, f"Shots heard near the school ({marker}).", navigate=False)
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#outbox-status")).to_contain_text("cannot be reached")
    context.set_offline(False)
    expect(page.locator("#report-result")).to_contain_text("filed it as number", timeout=30_000)
    assert [r["client_id"] for r in reports_with(server, marker)] == [client_id]
