"""Fixtures of the register's tests: a fresh register on SQLite, and on PostgreSQL when
``KALKAN_TEST_POSTGRES_URL`` is set (``source .ci/postgres.sh && start_postgres``; CI sets it)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kalkan.register.app import create_app
from kalkan.register.auth import Actor, Role, add_user
from kalkan.register.context import Register
from kalkan.register.db import Database

PG_URL = os.environ.get("KALKAN_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG_URL, reason="KALKAN_TEST_POSTGRES_URL unset (source .ci/postgres.sh && start_postgres)"
        ),
    ),
]


TEST_AUDIT_KEY = "a3VkaXQta2V5LW9mLXRoZS10ZXN0cy1ub3QtYS1zZWM="


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Fixed test keys (not secrets): tests never touch a real key file or the user's folders.
    monkeypatch.setenv("KALKAN_REGISTER_KEY", "q7QY3zZ0m2F3s9mGz0b6Kx3n8Wm4tJ2v0c1d5e6f7g8=")
    monkeypatch.setenv("KALKAN_REGISTER_AUDIT_KEY", TEST_AUDIT_KEY)
    monkeypatch.setenv("KALKAN_REGISTER_KEY_DIR", str(tmp_path_factory.mktemp("keys")))
    monkeypatch.delenv("KALKAN_REGISTER_KEY_FILE", raising=False)
    monkeypatch.delenv("KALKAN_REGISTER_AUDIT_KEY_FILE", raising=False)
    monkeypatch.delenv("KALKAN_REGISTER_DB", raising=False)


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrated empty databases made once per test process; each test gets a copy (fast)."""
    folder = tmp_path_factory.mktemp("template")
    sqlite_url = f"sqlite:///{folder / 'template.sqlite3'}"
    database = Database(sqlite_url, synchronous="NORMAL")
    database.migrate()
    database.dispose()
    templates = {"sqlite": str(folder / "template.sqlite3")}
    admin = None
    if PG_URL:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        templates["postgresql"] = f"kt_tpl_{uuid.uuid4().hex[:10]}"
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE {templates['postgresql']}")
        database = Database(_pg(templates["postgresql"]))
        database.migrate()
        database.dispose()
    yield templates
    if admin is not None:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {templates['postgresql']} WITH (FORCE)")
        admin.dispose()


def _pg(name: str) -> str:
    assert PG_URL
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, _templates: dict[str, str]) -> Iterator[str]:
    """A URL of an empty, migrated database: a copy of an SQLite template, or a new PostgreSQL
    database made from a template and dropped afterwards."""
    if request.param == "sqlite":
        shutil.copy(_templates["sqlite"], tmp_path / "register.sqlite3")
        yield f"sqlite:///{tmp_path / 'register.sqlite3'}"
        return
    name = f"kt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL or "", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {_templates['postgresql']}")
    yield _pg(name)
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@dataclass
class Api:
    """A test client on a fresh register, with one user (and token) per role."""

    client: TestClient
    register: Register
    tokens: dict[str, str]
    actors: dict[str, Actor]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, path: str, who: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.as_(who), **kwargs)

    def get(self, path: str, who: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.as_(who), **kwargs)


USERS = {
    "monitor": "monitor",
    "monitor2": "monitor",
    "analyst": "analyst",
    "investigator": "investigator",
    "investigator2": "investigator",
    "admin": "admin",
}


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    app = create_app(db_url, data_dir=tmp_path / "data", synchronous="NORMAL")
    register: Register = app.state.register
    tokens, actors = {}, {}
    with register.write() as session:
        for name, role in USERS.items():
            user, token = add_user(session, name, role)
            tokens[name], actors[name] = token, Actor(user.id, name, Role(role))
    with TestClient(app) as client:
        yield Api(client, register, tokens, actors)


def _report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "type": "arson",
        "date_start": "2010-06-11",
        "latitude": 40.5283,
        "longitude": 72.7985,
        "source_reliability": "B",
        "information_credibility": "2",
        "description": "Houses burning on Navoi street, Cheremushki mahalla.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_report() -> Any:
    """A factory of minimal valid reports (a new client_id each call); keywords override fields."""
    return _report
