"""addons/rasa_patches.py: the patched Rasa code gives Rasa's own results, and a failed custom action apologises."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, FollowupAction, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons import rasa_patches

ROOT = Path(__file__).resolve().parents[1]

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "tracking_number", "value": "SF1234567890123"}],
     "responses": [{"response": "utter_greet"}]},
    {"events": [{"event": "bot", "text": "hi", "data": {}}], "responses": [{"text": "hi", "buttons": []}]},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [{"event": 5}]},
    {"responses": "x"},
    {},
    {"events": [{"event": "slot", "name": "a", "value": {"nested": [1, 2, {"deep": None}]}}]},
]


def _outcome(validate, result):
    try:
        return ("ok", validate(RemoteAction("a", None), result))
    except ValidationError as exc:
        return ("invalid", exc.message, list(exc.path))


def test_patches_are_applied_for_this_rasa():
    assert rasa_patches.apply() is True
    assert RemoteAction._validate_action_result is rasa_patches._validate_compiled


@pytest.mark.parametrize("result", RESPONSES)
def test_compiled_validation_gives_rasas_own_result(result):
    assert _outcome(rasa_patches._validate_compiled, result) == _outcome(rasa_patches.ORIGINAL["validate"], result)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_action_server_gets_the_apology_and_the_bot_listens():
    domain = Domain.load(str(ROOT / "domain"))
    tracker = DialogueStateTracker.from_events("down-1", [
        ActionExecuted("action_listen"), UserUttered("SF1234567890123 收到破损了")], domain.slots)
    action = RemoteAction("action_track_parcel", EndpointConfig(f"http://127.0.0.1:{_closed_port()}/webhook"))
    events = asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                                    tracker, domain))
    texts = [e.text for e in events if isinstance(e, BotUttered)]
    apology = domain.responses[rasa_patches.APOLOGY][0]["text"]
    assert texts == [apology]
    assert any(isinstance(e, FollowupAction) and e.action_name == "action_listen" for e in events)
