"""Load on the incident register from other processes on loopback: writes/s, reads/s, p50/p99.

The server runs as ``kalkan serve`` in its own process; bounded httpx client loops run in
separate client processes (each one keep-alive connection, one request at a time), first filing
reports (``POST /api/incidents``, each a new UUID), then reading them back
(``GET /api/incidents/{id}``) and listing pages. Then the whole register is exported as CSV
(streamed) to show that a large export finishes.

Backends: SQLite (``synchronous=FULL``, the default, and ``NORMAL``) and PostgreSQL when
``KALKAN_TEST_POSTGRES_URL`` is set (``source .ci/postgres.sh && start_postgres``).

There is no runnable peer: Ushahidi and KoboToolbox are PHP/Django stacks with their own databases
and are not installable offline from PyPI; the issue's target (300 writes/s, 2,000 reads/s, p99 under
100 ms on 2 cores with SQLite) is the yardstick.

Run from the repository root: ``.venv/bin/python bench/register_load.py [--writes 3000] [--reads 6000]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
KEY = "q7QY3zZ0m2F3s9mGz0b6Kx3n8Wm4tJ2v0c1d5e6f7g8="  # a throwaway bench key, not a secret


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "KALKAN_REGISTER_KEY": KEY,
    }


def _token(db_url: str, data_dir: Path) -> str:
    code = (
        "from kalkan.cli import main; import sys; "
        f"sys.argv=['kalkan','users','add','bench-{uuid.uuid4().hex[:6]}','--role','admin',"
        f"'--db',{db_url!r},'--data-dir',{str(data_dir)!r}]; main()"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_env(), check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _serve(db_url: str, data_dir: Path, port: int, synchronous: str, workers: int) -> subprocess.Popen:
    code = (
        "from kalkan.cli import main; import sys; "
        f"sys.argv=['kalkan','serve','--db',{db_url!r},'--data-dir',{str(data_dir)!r},'--port','{port}',"
        f"'--synchronous','{synchronous}','--workers','{workers}']; main()"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(1200):
            if server.poll() is not None:
                raise RuntimeError("kalkan serve exited at start-up")
            try:
                if client.get("/openapi.json").status_code == 200:
                    return server
            except httpx.TransportError:
                time.sleep(0.1)
    raise RuntimeError("kalkan serve did not start within 2 minutes")


def _report(rng: random.Random) -> dict:
    return {
        "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": rng.choice(["arson", "killing", "looting", "threat", "displacement"]),
        "date_start": f"2010-06-{rng.randint(10, 20):02d}",
        "latitude": 40.5 + rng.random() / 10,
        "longitude": 72.75 + rng.random() / 10,
        "source_reliability": rng.choice("ABCDEF"),
        "information_credibility": rng.choice("123456"),
        "description": "Houses burning, men with iron bars on the street " + uuid.uuid4().hex,
        "personal": {"witnesses": [{"name": "Witness " + uuid.uuid4().hex[:6]}]},
    }


def _client(args: tuple[str, str, str, int, int, list[int]]) -> tuple[list[float], list[int]]:
    """One client process: a bounded loop of requests on one keep-alive connection."""
    base, token, kind, count, seed, ids = args
    rng = random.Random(seed)
    latencies, new_ids = [], []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(count):
            start = time.perf_counter()
            if kind == "write":
                r = client.post("/api/incidents", json=_report(rng))
                new_ids.append(r.json()["id"])
            elif kind == "read":
                r = client.get(f"/api/incidents/{rng.choice(ids)}")
            else:
                r = client.get("/api/incidents", params={"limit": 50, "type": "arson"})
            latencies.append(time.perf_counter() - start)
            if r.status_code >= 300:
                raise RuntimeError(f"{kind}: HTTP {r.status_code} {r.text[:200]}")
    return latencies, new_ids


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _phase(
    base: str, token: str, kind: str, total: int, clients: int, ids: list[int], seed: int, pid: int
) -> dict:
    per = total // clients
    jobs = [(base, token, kind, per, seed * 1000 + i, ids) for i in range(clients)]
    with mp.get_context("spawn").Pool(clients) as pool:
        pool.map(abs, range(clients))  # start the client processes before the clock
        cpu, start = _server_cpu(pid), time.perf_counter()
        results = pool.map(_client, jobs)
        seconds, cpu = time.perf_counter() - start, _server_cpu(pid) - cpu
    lat = np.array([x for r in results for x in r[0]]) * 1000
    n = len(lat)
    return {
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "cpu_ms": 1000 * cpu / n,
        "ids": [i for r in results for i in r[1]],
    }


def _export(base: str, token: str) -> tuple[int, float, int]:
    start, size, rows = time.perf_counter(), 0, 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        with client.stream("GET", "/api/export", params={"format": "csv"}) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
                rows += chunk.count(b"\n")
    return rows - 1, time.perf_counter() - start, size


def _bulk_fill(base: str, token: str, target: int, seed: int) -> float:
    rng, start = random.Random(seed), time.perf_counter()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        done = 0
        while done < target:
            n = min(500, target - done)
            r = client.post("/api/incidents/bulk", json={"reports": [_report(rng) for _ in range(n)]})
            r.raise_for_status()
            done += n
    return time.perf_counter() - start


def run(
    name: str, db_url: str, data_dir: Path, synchronous: str, workers: int, a: argparse.Namespace
) -> dict:
    load = [os.getloadavg()[0]]
    token = _token(db_url, data_dir)
    port = _free_port()
    server = _serve(db_url, data_dir, port, synchronous, workers)
    base = f"http://127.0.0.1:{port}"
    try:
        writes = _phase(base, token, "write", a.writes, a.clients, [], seed=1, pid=server.pid)
        load.append(os.getloadavg()[0])
        reads = _phase(base, token, "read", a.reads, a.clients, writes["ids"], seed=2, pid=server.pid)
        load.append(os.getloadavg()[0])
        lists = _phase(base, token, "list", a.lists, a.clients, [], seed=3, pid=server.pid)
        load.append(os.getloadavg()[0])
        fill = _bulk_fill(base, token, a.export_rows - a.writes, seed=4) if a.export_rows > a.writes else 0.0
        rows, seconds, size = _export(base, token)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    result = {
        "load": load,
        "name": name,
        "writes": writes,
        "reads": reads,
        "lists": lists,
        "export_rows": rows,
        "export_seconds": seconds,
        "export_mb": size / 1e6,
        "bulk_seconds": fill,
    }
    print(
        f"{name}: writes {writes['rate']:.0f}/s (p99 {writes['p99']:.1f} ms, "
        f"{writes['cpu_ms']:.2f} server CPU ms), reads {reads['rate']:.0f}/s (p99 {reads['p99']:.1f} ms, "
        f"{reads['cpu_ms']:.2f} CPU ms), list pages {lists['rate']:.0f}/s, "
        f"export {rows} rows in {seconds:.1f} s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--reads", type=int, default=6000)
    parser.add_argument("--lists", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--export-rows", type=int, default=20000)
    a = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="kalkan-bench-") as folder:
        for sync in ("FULL", "NORMAL"):
            data = Path(folder) / sync
            results.append(
                run(
                    f"SQLite (WAL, synchronous={sync})",
                    f"sqlite:///{data / 'register.sqlite3'}",
                    data,
                    sync,
                    a.workers,
                    a,
                )
            )
        pg = os.environ.get("KALKAN_TEST_POSTGRES_URL")
        if pg:
            import sqlalchemy as sa

            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql(f"CREATE DATABASE {name}")
            url = sa.engine.make_url(pg).set(database=name).render_as_string(hide_password=False)
            try:
                results.append(run("PostgreSQL", url, Path(folder) / "pg", "FULL", a.workers, a))
            finally:
                with admin.connect() as c:
                    c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                admin.dispose()
    _write(results, a, bool(os.environ.get("KALKAN_TEST_POSTGRES_URL")))


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _write(results: list[dict], a: argparse.Namespace, pg: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import machine, write_section

    lines = [
        "## Incident register: load from a second process on loopback (`bench/register_load.py`)",
        "",
        machine(),
        f"Code measured: commit `{_commit()}` (uncommitted changes to the register, if any, included).",
        "",
        f"Server: `kalkan serve --workers {a.workers}`; clients: {a.clients} processes, each a bounded "
        "httpx loop on one keep-alive connection. Writes are `POST /api/incidents` (a new UUID, sealed "
        "witness data, one audit-chain entry each); reads are `GET /api/incidents/{id}` of random "
        "stored ids; list pages are "
        "`GET /api/incidents?type=arson&limit=50`. Clients and server share the same cores.",
        "",
        "| backend | writes/s | write p50 / p99 ms | server CPU ms / write | reads/s | read p50 / p99 ms "
        "| server CPU ms / read | list pages/s | list p99 ms | CSV export | CPU bound on 2 idle cores, "
        "writes/s / reads/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        w, rd, ls = r["writes"], r["reads"], r["lists"]
        lines.append(
            f"| {r['name']} | {w['rate']:.0f} | {w['p50']:.1f} / {w['p99']:.1f} | {w['cpu_ms']:.2f} | "
            f"{rd['rate']:.0f} | {rd['p50']:.1f} / {rd['p99']:.1f} | {rd['cpu_ms']:.2f} | "
            f"{ls['rate']:.0f} | {ls['p99']:.1f} | "
            f"{r['export_rows']:,} rows, {r['export_mb']:.1f} MB in {r['export_seconds']:.1f} s | "
            f"{2000 / w['cpu_ms']:.0f} / {2000 / rd['cpu_ms']:.0f} |"
        )
    lines += [
        "",
        "Target of issue 8 (SQLite, 2 cores): 300 writes/s, 2,000 reads/s, p99 under 100 ms. "
        f"The 1-minute load average ranged {min(x for r in results for x in r['load']):.1f}-"
        f"{max(x for r in results for x in r['load']):.1f} during the run on {os.cpu_count()} cores; it "
        f"counts this benchmark's own {a.clients} client and {a.workers} server processes, and other "
        "engineers' jobs may have shared the machine too, so the rates above are what the register got "
        "beside its own clients, not what it can do. "
        "Server CPU time per request depends less on that contention (though it is inflated by "
        "it too); 2 cores divided by the CPU time per request bounds the rate on an idle 2-core machine, "
        "before the clients' own CPU.",
        ""
        if pg
        else "PostgreSQL was not measured in this run: set `KALKAN_TEST_POSTGRES_URL` "
        "(`source .ci/postgres.sh && start_postgres`).",
        "No peer is run side by side: Ushahidi (PHP) and KoboToolbox (Django + MongoDB) cannot be "
        "installed offline from PyPI.",
        "",
        f"Reproduce: `source .ci/postgres.sh && start_postgres; .venv/bin/python bench/register_load.py "
        f"--writes {a.writes} --reads {a.reads} --lists {a.lists} --clients {a.clients} "
        f"--workers {a.workers} --export-rows {a.export_rows}`",
    ]
    write_section("register", "\n".join(lines))


if __name__ == "__main__":
    main()
