"""The register's HTTP API as a monitor, an analyst, an investigator and an admin would use it,
on SQLite and (when KALKAN_TEST_POSTGRES_URL is set) on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid

from kalkan.register.audit import verify_chain

# The first bytes of a JPEG (SOI and a JFIF APP0 marker): enough for the file-type check.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def test_minimal_report_is_created_then_idempotent(api, make_report) -> None:
    body = make_report()
    first = api.post("/api/incidents", "monitor", json=body)
    assert first.status_code == 201, first.text
    again = api.post("/api/incidents", "monitor", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    page = api.get("/api/incidents", "analyst").json()
    assert [i["client_id"] for i in page["items"]] == [body["client_id"]]
    out = first.json()
    assert (out["status"], out["type"], out["reporter"], out["restricted"]) == (
        "reported",
        "arson",
        "monitor",
        True,
    )


def test_capture_time_and_position_kept_apart_from_receipt(api, make_report) -> None:
    body = make_report(
        captured_at="2010-06-11T02:15:00+06:00", captured_latitude=40.53, captured_longitude=72.80
    )
    out = api.post("/api/incidents", "monitor", json=body).json()
    assert out["captured_at"].startswith("2010-06-10T20:15:00")
    assert (out["captured_latitude"], out["captured_longitude"]) == (40.53, 72.80)
    assert out["received_at"][:4] != "2010"


def test_another_users_client_id_is_refused_not_revealed(api, make_report) -> None:
    body = make_report(description="secret details")
    api.post("/api/incidents", "monitor", json=body)
    r = api.post("/api/incidents", "monitor2", json=body)
    assert r.status_code == 409
    assert "secret" not in r.text


def test_victims_disaggregated_and_fatalities_default_to_killed(api, make_report) -> None:
    victims = [
        {"category": "killed", "sex": "m", "age_group": "adults", "count": 3},
        {"category": "killed", "sex": "f", "age_group": "children", "count": 1},
        {"category": "injured", "count": 5},
    ]
    out = api.post("/api/incidents", "monitor", json=make_report(type="killing", victims=victims)).json()
    assert out["fatalities_best"] == 4
    assert out["victims"][2] == {"category": "injured", "sex": "unknown", "age_group": "unknown", "count": 5}


def test_status_workflow_records_who_when_why(api, make_report) -> None:
    iid = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    r = api.post(
        f"/api/incidents/{iid}/status", "analyst", json={"status": "corroborated", "reason": "2nd monitor"}
    )
    assert r.status_code == 200
    r = api.post(
        f"/api/incidents/{iid}/status", "analyst", json={"status": "verified", "reason": "site visit"}
    )
    history = r.json()["history"]
    assert [(h["from_status"], h["to_status"], h["by"], h["reason"]) for h in history] == [
        ("reported", "corroborated", "analyst", "2nd monitor"),
        ("corroborated", "verified", "analyst", "site visit"),
    ]
    # verified -> corroborated is not a step of the workflow
    bad = api.post(f"/api/incidents/{iid}/status", "analyst", json={"status": "corroborated", "reason": "x"})
    assert bad.status_code == 409 and "rejected" in bad.json()["detail"]
    empty = api.post(f"/api/incidents/{iid}/status", "analyst", json={"status": "rejected", "reason": ""})
    assert empty.status_code == 422


ENDPOINTS = [  # every route of the API, with a body where it takes one
    ("post", "/api/incidents", {}),
    ("post", "/api/incidents/bulk", {"reports": []}),
    ("get", "/api/incidents", None),
    ("get", "/api/incidents/1", None),
    ("post", "/api/incidents/1/status", {"status": "verified", "reason": "x"}),
    ("post", "/api/incidents/1/share", {"role": "investigator"}),
    ("post", "/api/incidents/1/attachments", None),
    ("get", "/api/incidents/1/custody", None),
    ("get", "/api/attachments/1", None),
    ("get", "/api/duplicates", None),
    ("post", "/api/links", {"incident_a": 1, "incident_b": 2, "reason": "x"}),
    ("get", "/api/export", None),
    ("post", "/api/users", {"name": "x", "role": "admin"}),
    ("get", "/api/audit", None),
    ("get", "/api/me", None),
    ("post", "/api/sites", {}),
    ("get", "/api/sites", None),
    ("get", "/api/sites/population", None),
    ("get", "/api/displacement", None),
    ("get", "/api/sites/1", None),
    ("post", "/api/figures", {}),
    ("post", "/api/return-visits", {}),
    ("get", "/api/return-visits", None),
    ("get", "/api/return-visits/1", None),
    ("post", "/api/patrols", {}),
    ("get", "/api/patrols", None),
    ("get", "/api/patrols/coverage", None),
    ("get", "/api/patrols/1", None),
    ("post", "/api/detention-visits", {}),
    ("get", "/api/detention-visits", None),
    ("get", "/api/detention-visits/1", None),
    ("post", "/api/disputes", {}),
    ("get", "/api/disputes", None),
    ("get", "/api/disputes/summary", None),
    ("get", "/api/disputes/1", None),
    ("post", "/api/disputes/1/steps", {}),
]


def test_every_endpoint_refuses_missing_and_wrong_tokens(api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    documented = {(m, p) for p, ops in paths.items() if p.startswith("/api/") for m in ops}
    ids = {
        "/api/incidents/1": "/api/incidents/{incident_id}",
        "/api/attachments/1": "/api/attachments/{attachment_id}",
        "/api/sites/1": "/api/sites/{site_id}",
        "/api/patrols/1": "/api/patrols/{patrol_id}",
        "/api/return-visits/1": "/api/return-visits/{visit_id}",
        "/api/detention-visits/1": "/api/detention-visits/{visit_id}",
        "/api/disputes/1": "/api/disputes/{dispute_id}",
        "/api/disputes/1/steps": "/api/disputes/{dispute_id}/steps",
    }
    listed = {(m, ids.get(p, p).replace("/1/", "/{incident_id}/")) for m, p, _ in ENDPOINTS}
    assert documented == listed  # a new route must join this test
    for method, path, body in ENDPOINTS:
        kwargs = {"json": body} if body is not None else {}
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic YWxpY2U6eA=="}):
            api.register.throttle.succeed("address:testclient")  # this test is about 401, not the limit
            r = getattr(api.client, method)(path, headers=headers, **kwargs)
            assert r.status_code == 401, (path, headers, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


FORBIDDEN = [  # (role, request) pairs the role may not make
    ("monitor", "post", "/api/incidents/{id}/status", {"status": "verified", "reason": "x"}),
    ("investigator", "post", "/api/incidents/{id}/status", {"status": "verified", "reason": "x"}),
    ("monitor", "get", "/api/duplicates", None),
    ("monitor", "post", "/api/links", {"incident_a": 1, "incident_b": 2, "reason": "x"}),
    ("monitor", "get", "/api/export", None),
    ("analyst", "post", "/api/users", {"name": "eve", "role": "admin"}),
    ("analyst", "get", "/api/audit", None),
    ("analyst", "get", "/api/incidents/{id}/custody", None),
    ("monitor", "get", "/api/incidents/{id}/custody", None),
    ("monitor2", "post", "/api/incidents/{id}/share", {"role": "monitor"}),  # not their report
    ("monitor2", "post", "/api/incidents/{id}/attachments", None),  # not their report
]


def test_roles_without_the_right_get_403(api, make_report) -> None:
    iid = api.post("/api/incidents", "monitor", json=make_report(restricted=False)).json()["id"]
    aid = api.post(
        f"/api/incidents/{iid}/attachments", "monitor", files={"file": ("p.txt", b"x", "text/plain")}
    )
    for who, method, path, body in FORBIDDEN:
        url = path.format(id=iid, aid=aid.json()["id"])
        kwargs = {"json": body} if body is not None else {}
        if url.endswith("/attachments"):
            kwargs = {"files": {"file": ("q.txt", b"y", "text/plain")}}
        r = getattr(api.client, method)(url, headers=api.as_(who), **kwargs)
        assert r.status_code == 403, (who, url, r.text)
    # evidence a role may not open answers as a missing file would (no existence oracle)
    assert api.get(f"/api/attachments/{aid.json()['id']}", "analyst").status_code == 404


def test_monitors_see_only_their_own_or_shared_reports(api, make_report) -> None:
    mine = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    theirs = api.post("/api/incidents", "monitor2", json=make_report()).json()["id"]
    assert [i["id"] for i in api.get("/api/incidents", "monitor").json()["items"]] == [mine]
    assert api.get(f"/api/incidents/{theirs}", "monitor").status_code == 404
    assert api.post(f"/api/incidents/{theirs}/share", "admin", json={"role": "monitor"}).status_code == 204
    seen = api.get(f"/api/incidents/{theirs}", "monitor")
    assert seen.status_code == 200
    ids = {i["id"] for i in api.get("/api/incidents", "analyst").json()["items"]}
    assert ids == {mine, theirs}


def test_api_answers_are_not_cached_or_sniffed(api, make_report) -> None:
    for r in (
        api.post("/api/incidents", "monitor", json=make_report()),
        api.get("/api/incidents", "analyst"),
        api.client.get("/api/incidents"),
    ):
        assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"


def test_personal_data_redacted_unless_shared(api, make_report) -> None:
    personal = {"source_name": "Dilnoza K.", "witnesses": [{"name": "Rustam A.", "contact": "+996 555 000"}]}
    iid = api.post("/api/incidents", "monitor", json=make_report(personal=personal)).json()["id"]
    # the reporter and admins see it; analysts and investigators do not, until it is shared
    assert api.get(f"/api/incidents/{iid}", "monitor").json()["personal"]["source_name"] == "Dilnoza K."
    assert api.get(f"/api/incidents/{iid}", "admin").json()["personal"]["witnesses"][0]["name"] == "Rustam A."
    for who in ("analyst", "investigator"):
        out = api.get(f"/api/incidents/{iid}", who).json()
        assert out["personal"] is None and out["personal_redacted"] is True
        listed = api.get("/api/incidents", who).text
        assert "Rustam" not in listed and "Dilnoza" not in listed
        exported = api.get("/api/export?format=csv&include_personal=true", who).text
        assert "Rustam" not in exported and "Dilnoza" not in exported
    api.post(f"/api/incidents/{iid}/share", "admin", json={"role": "investigator"})
    assert api.get(f"/api/incidents/{iid}", "investigator").json()["personal"]["source_name"] == "Dilnoza K."
    assert api.get(f"/api/incidents/{iid}", "investigator2").json()["personal"]["source_name"] == "Dilnoza K."
    assert "Rustam" in api.get("/api/export?format=csv&include_personal=true", "investigator").text
    assert "Rustam" not in api.get("/api/export?format=csv", "investigator").text
    assert "Rustam" not in api.get("/api/export?format=hxl&include_personal=true", "admin").text
    # a role share does not open it to analysts; a share by name does
    assert api.get(f"/api/incidents/{iid}", "analyst").json()["personal"] is None
    api.post(f"/api/incidents/{iid}/share", "admin", json={"user": "analyst"})
    assert api.get(f"/api/incidents/{iid}", "analyst").json()["personal"]["source_name"] == "Dilnoza K."


def test_personal_data_is_not_in_the_database_in_clear(api, make_report, db_url) -> None:
    personal = {"witnesses": [{"name": "Zarina Unique-Witness-Name", "statement": "saw the men at 3am"}]}
    api.post("/api/incidents", "monitor", json=make_report(personal=personal))
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        dump = json.dumps(
            [
                list(map(str, row))
                for table in ("incidents", "audit_log")
                for row in c.exec_driver_sql(f"SELECT * FROM {table}")
            ]
        )
    engine.dispose()
    assert "Unique-Witness-Name" not in dump and "3am" not in dump
    assert "Navoi street" in dump  # the non-personal narrative is stored as given


def test_list_filters_and_cursor_paging(api, make_report) -> None:
    ids = []
    for day in range(1, 8):
        kind = "killing" if day % 2 else "arson"
        r = api.post(
            "/api/incidents",
            "monitor",
            json=make_report(type=kind, date_start=f"2010-06-{day:02d}", description=f"report {day}"),
        )
        ids.append(r.json()["id"])
    got, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/incidents", "analyst", params=params).json()
        got += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert got == sorted(ids, reverse=True)
    kills = api.get("/api/incidents", "analyst", params={"type": "killing"}).json()["items"]
    assert len(kills) == 4 and {i["type"] for i in kills} == {"killing"}
    window = api.get("/api/incidents", "analyst", params={"date_from": "2010-06-03", "date_to": "2010-06-05"})
    assert sorted(i["date_start"] for i in window.json()["items"]) == [
        "2010-06-03",
        "2010-06-04",
        "2010-06-05",
    ]
    assert [
        i["description"]
        for i in api.get("/api/incidents", "analyst", params={"q": "report 6"}).json()["items"]
    ] == ["report 6"]
    assert api.get("/api/incidents", "analyst", params={"q": "%"}).json()["items"] == []
    bad = api.get("/api/incidents", "analyst", params={"limit": 100000})
    assert bad.status_code == 422


def test_bulk_outbox_reports_each_outcome(api, make_report) -> None:
    sent = make_report()
    api.post("/api/incidents", "monitor", json=sent)
    outbox = [make_report(), sent, {"client_id": "not-a-uuid", "type": "arson"}, make_report(type="teleport")]
    r = api.post("/api/incidents/bulk", "monitor", json={"reports": outbox})
    assert r.status_code == 200
    result = r.json()
    assert (result["created"], result["existing"], result["invalid"]) == (1, 1, 2)
    assert [i["outcome"] for i in result["items"]] == ["created", "existing", "invalid", "invalid"]
    assert "client_id" in result["items"][2]["error"] and "type" in result["items"][3]["error"]
    again = api.post("/api/incidents/bulk", "monitor", json={"reports": outbox[:2]}).json()
    assert (again["created"], again["existing"]) == (0, 2)


def test_duplicates_proposed_and_linking_keeps_every_source(api, make_report) -> None:
    a = api.post(
        "/api/incidents",
        "monitor",
        json=make_report(
            source_reliability="C",
            information_credibility="3",
            description="Several houses set on fire on Navoi street by a group of young men",
        ),
    ).json()["id"]
    b = api.post(
        "/api/incidents",
        "monitor2",
        json=make_report(
            latitude=40.5301,
            longitude=72.8003,
            date_start="2010-06-12",
            source_reliability="A",
            information_credibility="2",
            description="Houses on Navoi street set on fire by young men",
        ),
    ).json()["id"]
    far = api.post("/api/incidents", "monitor", json=make_report(latitude=41.0, longitude=73.5)).json()["id"]
    other = api.post("/api/incidents", "monitor", json=make_report(type="looting")).json()["id"]
    pairs = api.get("/api/duplicates", "analyst").json()
    assert [(p["incident_a"], p["incident_b"]) for p in pairs] == [(a, b)]
    assert pairs[0]["distance_km"] < 1 and pairs[0]["days_apart"] == 1
    assert far not in {pairs[0]["incident_a"], pairs[0]["incident_b"]} and other
    lead = api.post(
        "/api/links", "analyst", json={"incident_a": a, "incident_b": b, "reason": "same fire"}
    ).json()
    assert (
        lead["id"] == b and lead["lead_id"] is None and lead["linked_ids"] == [a]
    )  # the A-graded report leads
    assert api.get(f"/api/incidents/{a}", "analyst").json()["lead_id"] == b
    assert api.get("/api/duplicates", "analyst").json() == []
    response = api.get("/api/incidents", "analyst", params={"leads_only": True})
    assert "items" in response.json(), (response.status_code, response.text)
    leads = {i["id"] for i in response.json()["items"]}
    assert a not in leads and b in leads
    again = api.post("/api/links", "analyst", json={"incident_a": a, "incident_b": b, "reason": "again"})
    assert again.status_code == 409


def test_evidence_is_content_addressed_and_in_the_chain(api, make_report) -> None:
    iid = api.post("/api/incidents", "monitor", json=make_report()).json()["id"]
    photo = JPEG + bytes(range(256)) * 100
    r = api.post(
        f"/api/incidents/{iid}/attachments",
        "monitor",
        files={"file": ("../../etc/x.jpg", photo, "image/jpeg")},
    )
    assert r.status_code == 201
    import hashlib

    meta = r.json()
    assert meta["sha256"] == hashlib.sha256(photo).hexdigest() and meta["size_bytes"] == len(photo)
    assert "/" not in meta["filename"]
    got = api.get(f"/api/attachments/{meta['id']}", "investigator")
    assert (
        got.status_code == 200 and got.content == photo and got.headers["x-content-sha256"] == meta["sha256"]
    )
    assert api.get(f"/api/incidents/{iid}", "analyst").json()["attachments"][0]["sha256"] == meta["sha256"]
    audit = api.get("/api/audit", "admin").json()
    assert any(e["action"] == "attach" and e["payload"]["sha256"] == meta["sha256"] for e in audit)
    chain = api.get(f"/api/incidents/{iid}/custody", "investigator").json()
    assert [e["action"] for e in chain] == ["create", "attach", "open_evidence"]
    assert all(
        b["prev_hash"] != a["hash"] or b["seq"] == a["seq"] + 1
        for a, b in zip(chain, chain[1:], strict=False)
    )
    opened = [e for e in audit if e["action"] == "open_evidence"]
    assert [(e["actor"], e["payload"]["sha256"]) for e in opened] == [("investigator", meta["sha256"])]
    with api.register.read() as s:
        assert verify_chain(s).ok


INJECTIONS = [
    "'; DROP TABLE incidents; --",
    '" OR 1=1 --',
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://evil.example","click")',
    "Robert'); DELETE FROM audit_log;--",
    "-1 UNION SELECT token_hash FROM users",
]


def test_injection_strings_are_stored_and_returned_inert(api, make_report) -> None:
    for n, text in enumerate(INJECTIONS, start=1):
        body = make_report(
            description=text,
            place_name=text,
            perpetrator=text,
            personal={"source_name": text, "witnesses": [{"name": text}]},
        )
        out = api.post("/api/incidents", "monitor", json=body).json()
        got = api.get(f"/api/incidents/{out['id']}", "admin")
        assert got.headers["content-type"] == "application/json"
        item = got.json()
        assert (item["description"], item["place_name"], item["perpetrator"]) == (text, text, text)
        assert item["personal"]["witnesses"][0]["name"] == text
        assert len(api.get("/api/incidents", "analyst").json()["items"]) == n  # the tables are still there
        searched = api.get("/api/incidents", "analyst", params={"q": text}).json()["items"]
        assert [i["id"] for i in searched] == [out["id"]]
    rows = list(csv.DictReader(io.StringIO(api.get("/api/export?format=csv", "analyst").text)))
    exported = {r["notes"] for r in rows}
    assert exported == {("'" + t if t[0] in "=+-@" else t) for t in INJECTIONS}
    with api.register.read() as s:
        assert verify_chain(s).ok


WRONG_VALUES = [  # (fields of a report, the field the 422 must name)
    ({"latitude": "north"}, "latitude"),
    ({"latitude": 95}, "latitude"),
    ({"date_start": "11/06/2010"}, "date_start"),
    ({"date_start": "2999-01-01"}, "date_start"),
    ({"source_reliability": "Z"}, "source_reliability"),
    ({"information_credibility": 7}, "information_credibility"),
    ({"description": ""}, "description"),
    ({"description": "a\x00b"}, "description"),
    ({"client_id": 12}, "client_id"),
    ({"fatalities_best": -1}, "fatalities_best"),
    ({"fatalities_low": 5, "fatalities_best": 2}, "fatalities"),
    ({"captured_at": "2010-06-11T02:15:00"}, "captured_at"),
    ({"colour": "red"}, "colour"),
    ({"victims": [{"category": "killed", "count": 0}]}, "count"),
    ({"personal": {"witnesses": [{"name": ""}]}}, "name"),
]


def test_wrong_values_get_422_naming_the_field(api, make_report) -> None:
    for body, field in WRONG_VALUES:
        r = api.post("/api/incidents", "monitor", json=make_report(**body))
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    assert api.get("/api/incidents", "analyst").json()["items"] == []


def test_malformed_json_and_oversized_bodies_get_4xx(api, make_report) -> None:
    r = api.client.post(
        "/api/incidents",
        content=b'{"client_id": ',
        headers={**api.as_("monitor"), "content-type": "application/json"},
    )
    assert r.status_code == 422 and "JSON" in r.text
    r = api.post("/api/incidents", "monitor", json=make_report(description="x" * 1_100_000))
    assert r.status_code == 413 and "bytes" in r.json()["detail"]
    r = api.post("/api/incidents", "monitor", json=[1, 2, 3])
    assert r.status_code == 422
    r = api.client.get("/api/incidents/99999999999999999999", headers=api.as_("analyst"))
    assert r.status_code == 422
    assert api.get("/api/incidents/424242", "analyst").status_code == 404


def test_exports_stream_every_format(api, make_report) -> None:
    for i in range(3):
        api.post(
            "/api/incidents",
            "monitor",
            json=make_report(
                description=f"event {i}",
                victims=[{"category": "killed", "sex": "f", "age_group": "children", "count": 2}],
            ),
        )
    rows = list(csv.DictReader(io.StringIO(api.get("/api/export?format=csv", "analyst").text)))
    assert len(rows) == 3 and rows[0]["event_type"] == "arson" and rows[0]["killed_f"] == "2"
    assert rows[0]["event_id"] == f"register:{rows[0]['client_id']}"
    hxl = list(csv.reader(io.StringIO(api.get("/api/export?format=hxl", "analyst").text)))
    assert hxl[1][hxl[0].index("latitude")] == "#geo+lat" and len(hxl) == 5
    assert hxl[1][hxl[0].index("killed_children")] == "#affected+killed+children"
    geo = api.get("/api/export?format=geojson", "investigator").json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 3
    assert geo["features"][0]["geometry"]["coordinates"] == [72.7985, 40.5283]
    assert api.get("/api/export?format=xml", "analyst").status_code == 422


def test_admin_adds_users_whose_tokens_work(api) -> None:
    r = api.post("/api/users", "admin", json={"name": "field-7", "role": "monitor"})
    assert r.status_code == 201
    token = r.json()["token"]
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"name": "field-7", "role": "monitor"}
    assert api.post("/api/users", "admin", json={"name": "field-7", "role": "monitor"}).status_code == 409


def test_concurrent_writers_keep_one_chain(api, make_report) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bodies = [make_report(client_id=str(uuid.uuid4())) for _ in range(40)]
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(lambda b: api.post("/api/incidents", "monitor", json=b).status_code, bodies + bodies)
        )
    assert sorted(codes) == [200] * 40 + [201] * 40
    with api.register.read() as s:
        report = verify_chain(s)
    assert report.ok and report.entries == 40 + 6  # and the fixture's six users


def test_filter_by_several_grades_and_by_box(api, make_report) -> None:
    for grade, lat in (("A", 40.50), ("B", 40.60), ("E", 40.70)):
        api.post("/api/incidents", "monitor", json=make_report(source_reliability=grade, latitude=lat))
    params = [("source_reliability", "A"), ("source_reliability", "E")]
    got = api.get("/api/incidents", "analyst", params=params).json()["items"]
    assert sorted(i["source_reliability"] for i in got) == ["A", "E"]
    box = api.get("/api/incidents", "analyst", params={"min_lat": 40.55, "max_lat": 40.65}).json()["items"]
    assert [i["latitude"] for i in box] == [40.60]
    typo = api.get("/api/incidents", "analyst", params={"min_latitude": 40.55})
    assert typo.status_code == 422 and "min_latitude" in typo.text
