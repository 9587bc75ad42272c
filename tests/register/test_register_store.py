"""Incidents flow into the analytic event store (kalkan.store) and come back in from event files."""

from __future__ import annotations

from kalkan.register.exports import events_frame, import_events, read_event_file, sync_to_store
from kalkan.store import EventStore


def test_sync_puts_one_event_per_incident_and_withdraws_rejected_and_linked(
    api, make_report, tmp_path
) -> None:
    ids = [
        api.post(
            "/api/incidents",
            "monitor",
            json=make_report(description=f"report {i}", country_iso3="KGZ", source_reliability="BAC"[i]),
        ).json()["id"]
        for i in range(3)
    ]
    store_path = tmp_path / "events.duckdb"
    admin = api.actors["admin"]
    with api.register.read() as s:
        first = sync_to_store(s, admin, store_path)
    assert (first.inserted, first.deleted) == (3, 0)
    with api.register.read() as s:
        assert sync_to_store(s, admin, store_path).unchanged == 3  # idempotent
    api.post("/api/links", "analyst", json={"incident_a": ids[0], "incident_b": ids[1], "reason": "same"})
    api.post(f"/api/incidents/{ids[2]}/status", "analyst", json={"status": "rejected", "reason": "staged"})
    with api.register.read() as s:
        frame = events_frame(s, admin)
        again = sync_to_store(s, admin, store_path)
    assert list(frame["notes"]) == ["report 1"]  # the A-graded lead of the linked pair
    assert (again.unchanged, again.deleted) == (1, 2)
    events = EventStore(store_path).query()
    live = events[~events["deleted"]] if "deleted" in events.columns else events
    assert set(live["source"]) == {"register"} and len(live) == 1


def test_hxl_export_reads_back_through_kalkan_ingest(api, make_report, tmp_path) -> None:
    for i in range(4):
        api.post(
            "/api/incidents",
            "monitor",
            json=make_report(description=f"event {i}", country_iso3="KGZ", fatalities_best=i),
        )
    path = tmp_path / "incidents.hxl.csv"
    response = api.get("/api/export?format=hxl", "analyst")
    assert response.status_code == 200 and not response.text.startswith("{"), response.text[:500]
    path.write_text(response.text)
    events, quarantined, reasons = read_event_file(path)
    assert (len(events), quarantined) == (4, 0), reasons
    with api.register.write() as s:
        result = import_events(s, api.actors["analyst"], events)
    assert (result["created"], result["existing"], result["invalid"]) == (0, 4, 0)  # same reports, found
