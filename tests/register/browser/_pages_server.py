"""A real register server for the browser tests and the benchmark: ``kalkan serve`` in a subprocess
on 127.0.0.1 (a free port) over a temporary SQLite database, with one user per role."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

import httpx

CHROMIUM = os.environ.get("KALKAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROLES = ("monitor", "analyst", "investigator", "admin")
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "register-pages"
# A fixed test key (not a secret), in a key file so the server process and the seeding code agree.
TEST_KEY = "q7QY3zZ0m2F3s9mGz0b6Kx3n8Wm4tJ2v0c1d5e6f7g8="


@dataclass
class Server:
    """A running register: its URL, the users' tokens, and its database URL and folder."""

    url: str
    tokens: dict[str, str]
    db_url: str
    data_dir: Path
    env: dict[str, str]

    def api(self, role: str) -> httpx.Client:
        """An API client acting as the user of ``role``."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
            timeout=30,
            trust_env=False,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    key_file = data_dir.parent / "keys" / "test.key"  # apart from the data folder, as serve insists
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(TEST_KEY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALKAN_REGISTER")}
    env.update(KALKAN_REGISTER_KEY_FILE=str(key_file), KALKAN_REGISTER_DATA_DIR=str(data_dir))
    # The server runs the code of this working tree, whatever the environment's install points at.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *filter(None, [env.get("PYTHONPATH")])])
    return env


def seed_users(db_url: str, data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """Create one user per role in the register at ``db_url``; returns their tokens."""
    from kalkan.register.auth import add_user
    from kalkan.register.context import open_register

    with mock.patch.dict(os.environ, env, clear=True):
        register = open_register(db_url, data_dir=data_dir, synchronous="NORMAL")
        try:
            tokens = {}
            with register.write() as session:
                for role in ROLES:
                    _user, tokens[role] = add_user(session, f"{role}-1", role)
        finally:
            register.close()
    return tokens


def seed_incidents(db_url: str, data_dir: Path, env: dict[str, str], n: int, *, seed: int) -> None:
    """Insert ``n`` synthetic reports by the monitor, spread over Osh and Jalal-Abad in June 2010.

    For speed (10,000 reports in about a second) the rows go in with one bulk INSERT instead of the
    service (which takes ~9 ms a report for validation, sealing and the audit chain); they are the
    register's own table rows, read by the pages through the service like any other. No personal
    data and no audit entries are written for them.
    """
    import sqlalchemy as sa

    from kalkan.model import EventType
    from kalkan.register.context import open_register
    from kalkan.register.db import Incident, User

    rng = random.Random(seed)
    types = [str(t) for t in EventType]
    statuses = ["reported"] * 6 + ["corroborated"] * 2 + ["verified", "rejected"]
    places = [
        ("Osh", 40.53, 72.80),
        ("Jalal-Abad", 40.93, 73.00),
        ("Bazar-Korgon", 41.04, 72.75),
        ("Uzgen", 40.77, 73.30),
        ("Kara-Suu", 40.70, 72.87),
    ]
    now = datetime.now(UTC)
    with mock.patch.dict(os.environ, env, clear=True):
        register = open_register(db_url, data_dir=data_dir, synchronous="NORMAL")
        try:
            with register.write() as session:
                reporter = session.scalar(sa.select(User.id).where(User.role == "monitor"))
                rows = []
                for i in range(n):
                    name, lat, lon = rng.choice(places)
                    day = date(2010, 6, 1) + timedelta(days=rng.randrange(30))
                    rows.append(
                        dict(
                            client_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            event_type=rng.choice(types),
                            date_start=day,
                            date_end=day,
                            date_precision="day",
                            latitude=lat + rng.gauss(0, 0.05),
                            longitude=lon + rng.gauss(0, 0.05),
                            location_precision="exact",
                            place_name=f"{name} (synthetic {i})",
                            victims=[],
                            source_reliability=rng.choice("ABCDEF"),
                            information_credibility=rng.choice("123456"),
                            description=f"Synthetic load-test report {i} near {name}.",
                            status=rng.choice(statuses),
                            restricted=True,
                            reporter_id=reporter,
                            received_at=now,
                            updated_at=now,
                            source="register",
                            lead_id=None,
                        )
                    )
                for start in range(0, n, 1000):
                    session.execute(sa.insert(Incident), rows[start : start + 1000])
        finally:
            register.close()


@contextmanager
def running_server(tmp: Path, *, incidents: int = 0, seed: int = 0) -> Iterator[Server]:
    """Start ``kalkan serve`` on a fresh register in ``tmp``; stop it afterwards."""
    data_dir = tmp / "register"
    data_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{data_dir / 'register.sqlite3'}"
    env = _env(data_dir)
    tokens = seed_users(db_url, data_dir, env)
    if incidents:
        seed_incidents(db_url, data_dir, env, incidents, seed=seed)
    port = _free_port()
    kalkan = shutil.which("kalkan", path=str(Path(sys.executable).parent)) or "kalkan"
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen(
        [
            kalkan,
            "serve",
            "--db",
            db_url,
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--synchronous",
            "NORMAL",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # generous: the test machine may be busy
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"kalkan serve exited with {process.returncode}: "
                    f"{(tmp / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(url + "/signin", timeout=10, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("kalkan serve did not answer within 120 s")
            time.sleep(0.2)
        yield Server(url=url, tokens=tokens, db_url=db_url, data_dir=data_dir, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def chromium_available() -> bool:
    """Whether the system Chromium is installed."""
    return Path(CHROMIUM).exists()


def sign_in(page: object, token: str) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/signin")  # type: ignore[attr-defined]
    page.get_by_label("Access token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: "/signin" not in url)  # type: ignore[attr-defined]


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (test-artifacts/register-pages/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


MEASURE_REDRAW = """async () => {
  // Zoom in twice, out twice and pan, twice over: the first round draws zoom levels not seen
  // before (projection, path caches), the second is what a user feels going back and forth.
  const map = window.kalkanLeafletMap;
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const rounds = [];
  for (let round = 0; round < 2; round++) {
    const times = [];
    for (const step of [1, 1, -1, -1]) {
      const t = performance.now();
      map.setZoom(map.getZoom() + step, {animate: false});
      await frames();
      times.push(performance.now() - t);
    }
    for (const shift of [[200, 120], [-200, -120]]) {
      const t = performance.now();
      map.panBy(shift, {animate: false});
      await frames();
      times.push(performance.now() - t);
    }
    rounds.push(times);
  }
  return rounds;
}"""

NAVIGATION = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {response_ms: n.responseEnd - n.startTime, dom_ready_ms: n.domContentLoadedEventEnd - n.startTime,
          load_ms: n.loadEventEnd - n.startTime, bytes: n.transferSize};
}"""


def measure_pages(page: object) -> dict[str, object]:
    """Timings, in the browser, of the list, the next page, a filtered list, the queue and the map.

    ``page`` must be signed in as an analyst. Times are milliseconds from the browser's own
    Performance API; ``map`` adds the time to fetch and draw every report and to redraw after a
    zoom or pan (median over six moves; two frames, ~33 ms at 60 Hz, is the floor).
    """
    from playwright.sync_api import expect

    p = page  # a playwright Page
    out: dict[str, object] = {}
    for name, path in (
        ("list", "/incidents"),
        ("list_filtered", "/incidents?type=arson&status=reported"),
        ("queue", "/queue"),
        ("export_page", "/export"),
    ):
        p.goto(path)  # type: ignore[attr-defined]
        p.wait_for_load_state("load")  # type: ignore[attr-defined]
        out[name] = p.evaluate(NAVIGATION)  # type: ignore[attr-defined]
    p.goto("/incidents")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Older reports").click()  # type: ignore[attr-defined]
    p.wait_for_load_state("load")  # type: ignore[attr-defined]
    out["list_next_page"] = p.evaluate(NAVIGATION)  # type: ignore[attr-defined]
    p.goto("/map")  # type: ignore[attr-defined]
    expect(p.locator("#incident-map")).to_have_attribute("data-ready", "1", timeout=60_000)  # type: ignore[attr-defined]
    drawn = p.evaluate("window.kalkanMap")  # type: ignore[attr-defined]
    first, again = (sorted(r) for r in p.evaluate(MEASURE_REDRAW))  # type: ignore[attr-defined]
    out["map"] = {
        **drawn,
        "redraw_first_median_ms": first[len(first) // 2],
        "redraw_median_ms": again[len(again) // 2],
        "redraw_max_ms": max(first[-1], again[-1]),
        **{f"page_{k}": v for k, v in p.evaluate(NAVIGATION).items()},
    }  # type: ignore[attr-defined]
    return out
