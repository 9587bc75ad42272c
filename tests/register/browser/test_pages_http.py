"""The pages over HTTP without a browser (FastAPI's TestClient): the paths a browser test does not
take (no JavaScript, forged forms, wrong roles, bad input) and the headers every page sends."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kalkan.register.app import create_app
from kalkan.register.auth import add_user

REPORT = {
    "type": "arson",
    "date_start": "2010-06-12",
    "latitude": "40.53",
    "longitude": "72.80",
    "source_reliability": "B",
    "information_credibility": "2",
    "description": "Houses burning",
}


class Site:
    """A test client on a fresh register with one token per role."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def sign_in(self, role: str) -> str:
        """Sign in as ``role``; returns the page's CSRF token."""
        self.client.cookies.clear()
        form = self.client.get("/signin").text
        signin_csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
        assert signin_csrf, "no pre-session token on the sign-in form"
        response = self.client.post(
            "/signin", data={"token": self.tokens[role], "next": "/report", "csrf": signin_csrf.group(1)}
        )
        assert response.status_code == 200, response.text
        return csrf_of(response.text)


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    app = create_app(f"sqlite:///{tmp_path / 'register.sqlite3'}", data_dir=tmp_path)
    tokens = {}
    with app.state.register.write() as session:
        for role in ("monitor", "analyst", "investigator", "admin"):
            tokens[role] = add_user(session, f"{role}-1", role)[1]
    with TestClient(app) as client:
        yield Site(client, tokens)


def test_without_javascript_the_form_files_once_and_redirects(site: Site) -> None:
    csrf = site.sign_in("monitor")
    form = {**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4())}
    first = site.client.post("/report", data=form, follow_redirects=False)
    again = site.client.post("/report", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"].endswith("?filed=1") and again.headers["location"].endswith("?filed=0")
    assert first.headers["location"].split("?")[0] == again.headers["location"].split("?")[0]
    page = site.client.get(again.headers["location"])
    assert "nothing was counted twice" in page.text


def test_a_refused_report_keeps_what_was_typed(site: Site) -> None:
    csrf = site.sign_in("monitor")
    form = {
        **REPORT,
        "csrf": csrf,
        "client_id": str(uuid.uuid4()),
        "latitude": "north",
        "description": "Keep this text",
    }
    response = site.client.post("/report", data=form)
    assert response.status_code == 422
    assert "latitude: north is not a number" in response.text
    assert "Keep this text" in response.text and form["client_id"] in response.text


@pytest.mark.parametrize("csrf", ["", "0" * 64])
def test_a_forged_form_is_refused(site: Site, csrf: str) -> None:
    site.sign_in("analyst")
    response = site.client.post(
        "/report",
        data={**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4())},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert "not sent from this session" in response.text


def test_json_answers_for_the_page_script(site: Site) -> None:
    csrf = site.sign_in("monitor")
    form = {**REPORT, "client_id": str(uuid.uuid4())}
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf}
    created = site.client.post("/report", data=form, headers=headers)
    repeated = site.client.post("/report", data=form, headers=headers)
    assert (created.status_code, repeated.status_code) == (201, 200)
    assert created.json()["id"] == repeated.json()["id"]
    assert created.json()["created"] is True and repeated.json()["created"] is False
    bad = site.client.post(
        "/report", data={**form, "client_id": str(uuid.uuid4()), "type": "tanks"}, headers=headers
    )
    assert bad.status_code == 422 and "Type" in bad.json()["detail"]


@pytest.mark.parametrize(
    "role, path, status",
    [
        ("monitor", "/queue", 403),
        ("monitor", "/map", 403),
        ("monitor", "/export", 403),
        ("monitor", "/map/incidents.json", 403),
        ("monitor", "/export/download?format=csv", 403),
        ("investigator", "/queue", 403),
        ("analyst", "/queue", 200),
        ("investigator", "/map", 200),
    ],
)
def test_pages_follow_the_roles(site: Site, role: str, path: str, status: int) -> None:
    site.sign_in(role)
    assert site.client.get(path).status_code == status


@pytest.mark.parametrize("path", ["/report", "/incidents", "/queue", "/incidents/1"])
def test_signed_out_browsers_go_to_sign_in_and_back(site: Site, path: str) -> None:
    response = site.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


def test_a_wrong_token_is_refused_with_a_reason(site: Site) -> None:
    form = site.client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
    assert csrf
    response = site.client.post("/signin", data={"token": "not-a-token", "csrf": csrf.group(1)})
    assert response.status_code == 401 and "not valid" in response.text
    assert "kalkan_session" not in response.cookies


def test_every_page_sends_its_security_headers(site: Site) -> None:
    site.sign_in("admin")
    for path in ("/signin", "/report", "/incidents", "/queue", "/map", "/export"):
        headers = site.client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"


def test_export_streams_what_the_role_may_see(site: Site) -> None:
    csrf = site.sign_in("monitor")
    site.client.post(
        "/report",
        data={**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4()), "witnesses.0.name": "Secret Name"},
    )
    site.sign_in("analyst")
    csv_text = site.client.get("/export/download?format=csv&personal=1").text
    assert "Houses burning" in csv_text and "Secret Name" not in csv_text  # not shared with the analyst
    site.sign_in("admin")
    assert "Secret Name" in site.client.get("/export/download?format=csv&personal=1").text
    assert "Secret Name" not in site.client.get("/export/download?format=hxl&personal=1").text
    bad: Any = site.client.get("/export/download?format=xls")
    assert bad.status_code == 422 and "not offered" in bad.text


def test_list_filters_and_pages(site: Site) -> None:
    csrf = site.sign_in("monitor")
    for i in range(3):
        site.client.post(
            "/report",
            data={**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4()), "type": "arson" if i else "threat"},
        )
    site.sign_in("analyst")
    page = site.client.get("/incidents?type=arson")
    assert "Showing 1–2 of 2" in page.text
    wrong = site.client.get("/incidents?type=tanks&date_from=yesterday")
    assert wrong.status_code == 200
    assert "not understood and are ignored: date_from, type" in wrong.text
    assert "Showing 1–3 of 3" in wrong.text


def test_evidence_downloads_by_role_with_its_hash(site: Site) -> None:
    import hashlib

    csrf = site.sign_in("monitor")
    body = b"<html><script>alert(1)</script></html>"  # an uploaded page must not run on this site
    filed = site.client.post(
        "/report",
        data={**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4())},
        files={"attachments": ("note.html", body, "text/html")},
        headers={"Accept": "application/json"},
    )
    incident = filed.json()["id"]
    site.sign_in("admin")
    attachment = site.client.get(
        f"/api/incidents/{incident}", headers={"Authorization": f"Bearer {site.tokens['admin']}"}
    ).json()
    attachment_id = attachment["attachments"][0]["id"]
    url = f"/incidents/{incident}/attachments/{attachment_id}"
    site.sign_in("investigator")
    download = site.client.get(url)
    assert download.status_code == 200 and download.content == body
    assert download.headers["x-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert download.headers["content-security-policy"] == "sandbox"
    assert download.headers["content-disposition"].startswith("attachment")
    site.sign_in("analyst")
    assert site.client.get(url).status_code == 404  # as if it did not exist: no existence oracle
    site.sign_in("investigator")
    other = site.client.get(f"/incidents/{incident + 1}/attachments/{attachment_id}")
    assert other.status_code == 404  # the attachment must belong to the report in the path


def test_map_data_is_compressed_and_has_no_personal_data(site: Site) -> None:
    csrf = site.sign_in("monitor")
    site.client.post(
        "/report",
        data={**REPORT, "csrf": csrf, "client_id": str(uuid.uuid4()), "witnesses.0.name": "Secret Name"},
    )
    site.sign_in("analyst")
    data = site.client.get("/map/incidents.json", headers={"Accept-Encoding": "gzip"})
    assert data.json()["fields"] == ["id", "lat", "lon", "type", "status", "date", "lead"]
    assert len(data.json()["rows"]) == 1 and "Secret" not in data.text
    districts = site.client.get("/map/districts.geojson", headers={"Accept-Encoding": "gzip"})
    assert districts.headers["content-encoding"] == "gzip"
    assert int(districts.headers["content-length"]) < len(districts.content) / 3
    assert districts.json()["type"] == "FeatureCollection"
