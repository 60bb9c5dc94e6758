"""The backend's client for the Rasa server's HTTP API (started with --enable-api --auth-token).

The backend reads conversations (history for the web widget, the live transcript for agents) and, during a
handoff, pauses and resumes the bot and has it deliver an agent's words on the user's own channel
(`output_channel=latest`: socketio for the website, later the WeChat customer-service API).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """The Rasa server could not be reached or refused the call."""


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        params = {**kwargs.pop("params", {}), "token": self.token}
        try:
            response = self.http.request(method, f"{self.base_url}{path}", params=params,
                                         timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            # The exception's text holds the URL with the token in its query: never pass it on.
            raise RasaUnavailable(f"Rasa at {self.base_url} is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise RasaUnavailable(f"Rasa answered {response.status_code} on {method} {path}: {response.text[:200]}")
        return response.json() if response.content else None

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}"

    def tracker(self, conversation_id: str) -> dict:
        """The whole tracker (events, slots, paused) of one conversation."""
        return self._call("GET", f"{self._conversation(conversation_id)}/tracker")

    def append_events(self, conversation_id: str, events: list[dict]) -> dict:
        """Append events, e.g. [{"event": "pause"}] or [{"event": "resume"}]."""
        return self._call("POST", f"{self._conversation(conversation_id)}/tracker/events", json=events,
                          params={"include_events": "NONE"})

    def execute(self, conversation_id: str, action: str, output_channel: str = "latest") -> dict:
        """Run one action in the conversation; its messages go out on the user's latest channel."""
        return self._call("POST", f"{self._conversation(conversation_id)}/execute", json={"name": action},
                          params={"output_channel": output_channel, "include_events": "NONE"})


def messages(tracker: dict) -> list[dict]:
    """The user's and the bot's messages of a tracker, oldest first: role, text, time (epoch s), extras."""
    out = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "user":
            text = event.get("text") or ""
            out.append({"role": "user", "text": text, "time": event.get("timestamp"),
                        "intent": ((event.get("parse_data") or {}).get("intent") or {}).get("name")})
        elif kind == "bot":
            data = event.get("data") or {}
            item = {"role": "bot", "text": event.get("text") or "", "time": event.get("timestamp")}
            for key in ("buttons", "quick_replies", "image", "attachment", "custom"):
                if data.get(key):
                    item[key] = data[key]
            out.append(item)
    return out
