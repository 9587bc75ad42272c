"""Nothing acknowledged is lost: SIGKILL the server in the middle of a stream of writes, restart it,
and every report it answered 201/200 to is there, once, and the audit chain verifies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from kalkan.register.audit import verify_chain
from kalkan.register.auth import add_user
from kalkan.register.context import open_register

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db_url: str, data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    code = (
        "import sys; from kalkan.cli import main; "
        f"sys.argv = ['kalkan', 'serve', '--db', {db_url!r}, '--data-dir', {str(data_dir)!r}, "
        f"'--port', '{port}', '--synchronous', 'FULL']; main()"
    )
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=err)


def _wait_ready(client: httpx.Client, server: subprocess.Popen, log: Path) -> None:
    for _ in range(600):  # bounded: up to ~60 s on a loaded machine
        if server.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if client.get("/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.mark.parametrize(
    "db_url",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(
                    not os.environ.get("KALKAN_TEST_POSTGRES_URL"), reason="KALKAN_TEST_POSTGRES_URL unset"
                ),
            ],
        ),
    ],
    indirect=True,
)
def test_sigkill_mid_stream_loses_no_acknowledged_write(db_url, tmp_path, make_report) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    register = open_register(db_url, data_dir=data)
    with register.write() as s:
        _, token = add_user(s, "monitor", "monitor")
    register.close()
    port = _free_port()
    headers = {"Authorization": f"Bearer {token}"}
    acked: dict[str, int] = {}
    sent: list[dict] = []
    stop = threading.Event()
    server = _serve(db_url, data, port, log)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        _wait_ready(client, server, log)

        def writer() -> None:
            while not stop.is_set():
                body = make_report(client_id=str(uuid.uuid4()))
                sent.append(body)
                try:
                    r = client.post("/api/incidents", json=body, headers=headers)
                except httpx.TransportError:
                    return  # the server died under us: this write was never acknowledged
                if r.status_code in (200, 201):
                    acked[body["client_id"]] = r.json()["id"]

        thread = threading.Thread(target=writer)
        thread.start()
        while len(acked) < 40 and thread.is_alive():
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # mid-stream: the writer has a request in flight
        server.wait()
        stop.set()
        thread.join()
    assert len(acked) >= 40

    server = _serve(db_url, data, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_ready(client, server, log)
            stored, cursor = {}, None
            while True:
                page = client.get(
                    "/api/incidents",
                    headers=headers,
                    params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                ).json()
                stored.update({i["client_id"]: i["id"] for i in page["items"]})
                if (cursor := page["next_cursor"]) is None:
                    break
            assert {k: stored.get(k) for k in acked} == acked  # every acknowledged write, same id
            # the report in flight at the kill is either stored or not; re-sending it never duplicates
            last = sent[-1]
            again = client.post("/api/incidents", json=last, headers=headers)
            assert again.status_code == (200 if last["client_id"] in stored else 201)
            assert client.post("/api/incidents", json=last, headers=headers).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    register = open_register(db_url, data_dir=data)
    with register.read() as s:
        report = verify_chain(s)
    register.close()
    assert report.ok, report.message()
    # the user, then one entry per report
    assert report.entries == 1 + len(stored) + (0 if last["client_id"] in stored else 1)


@pytest.mark.slow
def test_workers_each_listen_and_share_a_burst_of_connections(tmp_path) -> None:
    """``kalkan serve --workers 2``: each process has its own SO_REUSEPORT socket, so a burst of
    keep-alive connections lands on both (one shared socket let the first process to wake take them
    all), every request is answered, and SIGTERM stops every process."""
    psutil = pytest.importorskip("psutil")
    from kalkan.register.commands import _has_reuseport

    if not _has_reuseport():
        pytest.skip("SO_REUSEPORT spreads connections only on Linux")
    data = tmp_path / "data"
    register = open_register(None, data_dir=data, synchronous="NORMAL")
    with register.write() as s:
        _, token = add_user(s, "admin", "admin")
    register.close()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    code = (
        "import sys; from kalkan.cli import main; "
        f"sys.argv = ['kalkan', 'serve', '--data-dir', {str(data)!r}, '--port', '{port}', '--workers', '2']; "
        "main()"
    )
    log = tmp_path / "server.log"
    with log.open("ab") as err:
        server = subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    clients = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as probe:
            _wait_ready(probe, server, log)

        def listening() -> list[Any]:  # the worker processes (not multiprocessing's resource tracker)
            return [
                w
                for w in psutil.Process(server.pid).children()
                if any(
                    c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in w.net_connections("tcp")
                )
            ]

        deadline = time.monotonic() + 60
        workers = listening()
        while len(workers) < 2 and time.monotonic() < deadline:  # both listening before the burst
            time.sleep(0.1)
            workers = listening()
        assert len(workers) == 2, workers
        headers = {"Authorization": f"Bearer {token}"}
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) for _ in range(16)]
        assert all(c.get("/api/me").json()["name"] == "admin" for c in clients)
        served = [
            sum(
                c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port for c in w.net_connections("tcp")
            )
            for w in workers
        ]
        assert sum(served) == 16 and min(served) > 0, served
    finally:
        for c in clients:
            c.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()[-2000:]
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers)
