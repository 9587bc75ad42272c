"""The list, the queue and the map with 10,000 reports, timed in the browser (no time limits are
asserted: the numbers go to test-artifacts/ and, through bench/register_pages.py, BENCHMARKS.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _pages_server import ARTIFACTS, Server, measure_pages, running_server, sign_in
from playwright.sync_api import expect

N_REPORTS = 10_000


@pytest.fixture(scope="module")
def server(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A register holding 10,000 reports (overrides the empty one of conftest.py)."""
    with running_server(tmp_path_factory.mktemp("register10k"), incidents=N_REPORTS, seed=2010) as running:
        yield running


@pytest.mark.slow  # ~40 s with the seeding; `make test-slow` and bench/register_pages.py run it
def test_pages_stay_usable_with_10000_reports(context: Any, server: Server) -> None:
    page = context.new_page()
    sign_in(page, server.tokens["analyst"])
    timings = measure_pages(page)
    assert timings["map"]["count"] == N_REPORTS  # type: ignore[index]
    page.goto("/incidents")
    expect(page.locator("#result-count")).to_contain_text("of 10,000")
    expect(page.locator("#incident-table tbody tr")).to_have_count(50)
    page.goto("/queue")
    expect(page.locator("#queue-count")).to_contain_text("reports wait for a decision")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "responsiveness-10000.json").write_text(json.dumps(timings, indent=2))
