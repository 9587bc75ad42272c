"""The mission's pages over HTTP without a browser (TestClient): every form renders and files a record
without JavaScript, re-sending the same client_id files nothing twice, bad input comes back in the form
with the reason, roles see what they may, and forms from another site are refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kalkan.register.app import create_app
from kalkan.register.auth import add_user

FORMS = {
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
        "concerns": "night-time threats",
        "people.0.name": "Interviewee C",
    },
    "patrol": {
        "kind": "joint_patrol",
        "started_at": "2010-06-20T09:00",
        "ended_at": "2010-06-20T15:00",
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
        "interviewed": "6",
        "allegations": "4",
        "summary": "four alleged beatings",
        "people.0.name": "Detainee A",
    },
    "dispute": {
        "kind": "return_to_home",
        "opened_on": "2010-06-25",
        "latitude": "40.52",
        "longitude": "72.79",
        "place_name": "Cheremushki",
        "admin2": "Osh city",
        "parties.0.role": "claimant",
        "parties.0.group": "returning family",
        "summary": "house occupied",
        "people.0.name": "Claimant B",
    },
}


class Pages:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def sign_in(self, role: str) -> str:
        self.client.cookies.clear()
        form = self.client.get("/signin").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
        assert token
        r = self.client.post(
            "/signin", data={"token": self.tokens[role], "next": "/mission", "csrf": token.group(1)}
        )
        assert r.status_code == 200, r.text
        match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', r.text)
        assert match
        return match.group(1)


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[Pages]:
    app = create_app(f"sqlite:///{tmp_path / 'register.sqlite3'}", data_dir=tmp_path, synchronous="NORMAL")
    tokens = {}
    with app.state.register.write() as session:
        for role in ("monitor", "analyst", "investigator", "admin"):
            tokens[role] = add_user(session, f"{role}-1", role)[1]
    with TestClient(app, base_url="http://testserver") as client:
        yield Pages(client, tokens)


def test_every_form_files_its_record_without_javascript_once(pages) -> None:
    csrf = pages.sign_in("monitor")
    for kind, values in FORMS.items():
        form = pages.client.get(f"/mission/new/{kind}")
        assert form.status_code == 200 and 'data-outbox="' + kind + '"' in form.text
        body = {**values, "csrf": csrf, "client_id": str(uuid.uuid4())}
        filed = pages.client.post(f"/mission/new/{kind}", data=body, follow_redirects=False)
        assert filed.status_code == 303, (kind, filed.text[:2000])
        again = pages.client.post(f"/mission/new/{kind}", data=body, headers={"Accept": "application/json"})
        assert again.status_code == 200 and again.json()["created"] is False, kind
        assert pages.client.get(filed.headers["location"]).status_code == 200
    listed = pages.client.get("/mission/detention_visit").text
    assert "Osh temporary detention" in listed
    home = pages.client.get("/mission", params={"as_of": "2010-07-01"}).text
    assert "Osh city" in home  # the dispute summary by district


def test_personal_data_shows_by_role_and_bad_input_comes_back_with_the_reason(pages) -> None:
    csrf = pages.sign_in("monitor")
    body = {**FORMS["detention_visit"], "csrf": csrf, "client_id": str(uuid.uuid4())}
    url = pages.client.post("/mission/new/detention_visit", data=body, follow_redirects=False).headers[
        "location"
    ]
    assert "Detainee A" in pages.client.get(url).text
    bad = pages.client.post(
        "/mission/new/detention_visit", data={**body, "client_id": str(uuid.uuid4()), "interviewed": "99"}
    )
    assert (
        bad.status_code == 422 and "interviewed" in bad.text and 'value="Osh temporary detention"' in bad.text
    )
    pages.sign_in("analyst")
    shown = pages.client.get(url).text
    assert "Detainee A" not in shown and "Held back" in shown
    pages.sign_in("admin")
    assert "Detainee A" in pages.client.get(url).text


def test_a_dispute_is_followed_from_its_page(pages) -> None:
    csrf = pages.sign_in("monitor")
    body = {**FORMS["dispute"], "csrf": csrf, "client_id": str(uuid.uuid4())}
    url = pages.client.post("/mission/new/dispute", data=body, follow_redirects=False).headers["location"]
    url = url.split("?")[0]
    page = pages.client.get(url).text
    assert "Record the next step" in page
    step = {
        "csrf": csrf,
        "client_id": str(uuid.uuid4()),
        "on": "2010-06-30",
        "status": "in_mediation",
        "note": "met",
    }
    r = pages.client.post(url + "/steps", data=step, follow_redirects=False)
    assert r.status_code == 303
    assert "In mediation" in pages.client.get(url).text
    forged = pages.client.post(
        url + "/steps",
        data={**step, "client_id": str(uuid.uuid4())},
        headers={"Origin": "http://evil.example"},
    )
    assert forged.status_code == 403
    pages.sign_in("investigator")
    assert "Record the next step" not in pages.client.get(url).text


def test_a_form_from_another_site_is_refused(pages) -> None:
    csrf = pages.sign_in("monitor")
    body = {**FORMS["site"], "csrf": csrf, "client_id": str(uuid.uuid4())}
    r = pages.client.post("/mission/new/site", data=body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert pages.client.post("/mission/new/site", data={**body, "csrf": "0" * 64}).status_code == 403
    assert pages.client.get("/mission/new/nothing").status_code == 404
    assert pages.client.get("/mission/dispute/99").status_code == 404
