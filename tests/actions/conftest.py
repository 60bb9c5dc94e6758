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


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
