"""Action-test fixtures: the action server's backend client pointed at the real test backend."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.config import ActionSettings
from tests.conftest import serve
from tests.support import TOKEN


@pytest.fixture(scope="session")
def backend_url(demo_engine):
    """Action tests run against a backend holding the demo data set."""
    yield from serve(demo_engine)


@pytest.fixture(autouse=True)
def backend_client(backend_url):
    client = backend.BackendClient(ActionSettings(backend_url=backend_url, api_token=TOKEN,
                                                  connect_timeout=1.0, read_timeout=5.0, retries=1))
    backend.reset_client(client)
    yield client
    backend.reset_client(None)


@pytest.fixture
def backend_down(backend_client):
    """The action server's backend unreachable (a closed port, no retries) for one test."""
    backend.reset_client(backend.BackendClient(ActionSettings(backend_url="http://127.0.0.1:9", api_token="x",
                                                              connect_timeout=0.2, read_timeout=0.2, retries=0)))


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
