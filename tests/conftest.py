"""Shared fixtures: real databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) and a real
backend served over HTTP on a free port, so tests exercise the same path production does."""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from logistics import db, migrate, seed
from logistics.app import create_app
from logistics.settings import Settings
from tests.stack import stack  # noqa: F401  (the real processes, for tests/e2e and tests/browser)
from tests.support import TOKEN, Api, unique_number, unique_phone


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TEST_DATABASE_URL"):
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@contextmanager
def _database(kind: str, tmp_path_factory) -> Iterator:
    """A migrated database of its own: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "logistics.db"
        engine = db.make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
        return
    with postgres_database() as engine:
        yield engine


@contextmanager
def postgres_database() -> Iterator:
    """A migrated PostgreSQL schema of its own on TEST_DATABASE_URL, dropped afterwards."""
    url = os.environ["TEST_DATABASE_URL"]
    schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(url, schema=schema)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=_backends())
def engine(request, tmp_path_factory):
    """An empty migrated database; tests add what they need through the API."""
    with _database(request.param, tmp_path_factory) as engine:
        yield engine


def _demo_database(request, tmp_path_factory):
    with _database(request.param, tmp_path_factory) as engine:
        seed.seed(db.session_factory(engine), shipments=200, progress=False)
        yield engine


@pytest.fixture(scope="session", params=_backends())
def demo_engine(request, tmp_path_factory):
    """A migrated database holding a small demo data set (the demo customers and their parcels included)."""
    yield from _demo_database(request, tmp_path_factory)


@pytest.fixture(scope="module", params=_backends())
def module_demo_engine(request, tmp_path_factory):
    """A demo database for one test module alone: for tests whose tickets would meet another module's
    expectations of a fresh parcel (override that module's backend_url with it)."""
    yield from _demo_database(request, tmp_path_factory)


class ServerThread(threading.Thread):
    def __init__(self, app):
        super().__init__(daemon=True)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()


def serve(engine):
    """The backend app served over real HTTP on a free port; yields its base URL."""
    # No Rasa in these tests: a closed port, so relays fail fast (and never reach a Rasa someone else runs).
    settings = Settings(database_url=str(engine.url), api_token=TOKEN, max_body_bytes=64 * 1024,
                        rasa_url="http://127.0.0.1:9", agent_secret_key="test-agent-secret", demo_mode=True)
    server = ServerThread(create_app(settings, engine=engine))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def backend_url(engine):
    yield from serve(engine)


@pytest.fixture()
def api(backend_url) -> Api:
    return Api(backend_url)


@pytest.fixture()
def make_shipment(api):
    """Create a shipment through the API and return its tracking number and the parties' phones."""

    def _make(**overrides) -> dict:
        body = {
            "tracking_number": unique_number(),
            "carrier": "sf",
            "sender": {"name": "王强", "phone": unique_phone(), "address": "上海市浦东新区张江路88号"},
            "recipient": {"name": "张伟", "phone": unique_phone(), "address": "杭州市西湖区文三路100号"},
            "goods_type": "general",
            "insured_value": 0,
            "origin": "上海",
            "destination": "杭州",
        }
        body.update(overrides)
        response = api.post("/api/v1/shipments", json=body)
        assert response.status_code == 201, response.text
        return body

    return _make


def pytest_terminal_summary(terminalreporter):
    """The privacy figure of the run: bot replies scanned for full mobile numbers, and how many were found."""
    from tests.stack import REPLIES_SCANNED

    if REPLIES_SCANNED["replies"]:
        terminalreporter.write_line(f"bot replies scanned for full mobile numbers: {REPLIES_SCANNED['replies']}, "
                                    f"found: {REPLIES_SCANNED['full_phones']}")



def _is_browser_test(item) -> bool:
    return item is not None and "tests/browser/" in str(item.fspath).replace("\\", "/")


def pytest_runtest_teardown(item, nextitem):
    """After the last browser test, stop Playwright: its sync API keeps an event loop running in the main thread,
    and later tests (socket.io clients, Rasa's own async code) call asyncio.run()."""
    if _is_browser_test(item) and not _is_browser_test(nextitem):
        from tests.support import stop_playwright

        stop_playwright()
