"""Helpers the tests share: an HTTP client for the backend, unique test data, trackers for actions."""
from __future__ import annotations

import itertools
import os

import requests
from rasa_sdk import Tracker

TOKEN = "test-token"
_numbers = itertools.count(1)


class Api:
    """A thin HTTP client for tests: base URL and token, nothing hidden."""

    def __init__(self, base: str, token: str | None = TOKEN):
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def unique_number(prefix: str = "SF") -> str:
    """A fresh SF-style tracking number no other test uses."""
    return f"{prefix}{9000000000000 + os.getpid() % 1000 * 100000 + next(_numbers):013d}"[:15]


def unique_phone() -> str:
    return f"137{(os.getpid() * 7919 + next(_numbers)) % 100_000_000:08d}"




def make_tracker(sender_id: str, text: str, intent: str = "track_parcel", entities: list | None = None,
                 slots: dict | None = None, channel: str = "rest") -> Tracker:
    """A tracker whose latest message came in on `channel`, as the action server receives it."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []}
    return Tracker.from_dict({
        "sender_id": sender_id,
        "slots": slots or {},
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest, "input_channel": channel}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    })


def slots_of(events: list) -> dict:
    """The slot values a list of returned events sets."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# The running Playwright (tests/browser): stopped after the last browser test (tests/conftest.py), because its
# sync API keeps an event loop running in the main thread and later tests call asyncio.run().
PLAYWRIGHT_SESSIONS: list = []


def stop_playwright() -> None:
    """Close the browser and stop Playwright; idempotent."""
    while PLAYWRIGHT_SESSIONS:
        playwright, browser = PLAYWRIGHT_SESSIONS.pop()
        browser.close()
        playwright.stop()
