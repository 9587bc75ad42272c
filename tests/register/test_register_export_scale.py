"""100,000 incidents export without a timeout: the CSV export streams in constant memory.

Slow (about a minute on a loaded 2-core machine): run by ``make test-slow``."""

from __future__ import annotations

import tracemalloc
import uuid
from datetime import UTC, date, datetime

import pytest

from kalkan.register.auth import Actor, Role
from kalkan.register.db import Incident
from kalkan.register.exports import export_chunks

N = 100_000


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hundred_thousand_incidents_stream_in_constant_memory(api, db_url) -> None:
    now = datetime.now(UTC)
    reporter = api.actors["monitor"].id
    rows = [
        dict(
            client_id=str(uuid.UUID(int=i + 1)),
            event_type="arson",
            date_start=date(2010, 6, 11),
            date_end=date(2010, 6, 11),
            date_precision="day",
            latitude=40.5 + (i % 1000) / 1e4,
            longitude=72.8,
            location_precision="exact",
            victims=[],
            source_reliability="B",
            information_credibility="2",
            description=f"report {i}",
            status="reported",
            restricted=True,
            reporter_id=reporter,
            received_at=now,
            updated_at=now,
            source="register",
        )
        for i in range(N)
    ]
    with api.register.write() as s:  # bulk rows straight in: this test is about reading them out
        s.execute(Incident.__table__.insert(), rows)
    del rows
    lines, biggest = 0, 0
    tracemalloc.start()
    with api.register.read() as s:
        for chunk in export_chunks(s, Actor(None, "t", Role.ADMIN), "csv"):
            lines += chunk.count("\n")
            biggest = max(biggest, tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    assert lines == N + 1
    assert biggest < 64 * 1024 * 1024  # batches of 1,000 rows, never the whole table
    r = api.get("/api/export?format=geojson", "analyst")
    assert r.status_code == 200 and r.text.count('"Feature"') == N
