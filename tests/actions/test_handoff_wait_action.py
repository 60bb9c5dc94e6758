"""action_handoff_wait: when a wait for a human expired while the user was silent, the backend resumes the
conversation and runs this action, which tells the notice stored with the handoff (callback ticket or hotlines)."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

from actions.handoff import ActionHandoffWait
from logistics import db
from logistics.handoffs.models import Handoff
from tests.backend.test_handoffs import body
from tests.support import make_tracker, slots_of, unique_phone


def test_the_stored_notice_of_an_expired_wait_is_told(api, demo_engine, dispatcher):
    conversation = f"wait-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/customers", json={"phone": unique_phone(), "bindings": [
        {"channel": "socketio", "external_id": conversation}]}).status_code in (200, 201)
    handoff = api.post("/api/v1/handoffs", json=body(conversation)).json()
    with db.transaction(db.session_factory(demo_engine)) as session:
        session.get(Handoff, handoff["id"]).created_at -= timedelta(minutes=20)
    # Ended here by a message (the sweep would end other modules' waits in this shared database too); the notice
    # stored is the same either way.
    ended = api.post("/api/v1/handoffs/waiting", json={"conversation_id": conversation, "text": "在吗",
                                                       "timestamp": time.time(), "channel": "socketio"})
    assert ended.json()["outcome"] == "expired_callback"
    events = ActionHandoffWait().run(dispatcher, make_tracker(conversation, "", channel="socketio"), {})
    assert slots_of(events) == {"handoff_notice": "expired_callback", "handoff_outcome": None}
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_wait_expired_callback"
    assert message["callback_ref"].startswith("T") and message["callback_hours"] == "2"


def test_nothing_is_said_without_a_notice(api, dispatcher):
    conversation = f"wait-{uuid.uuid4().hex[:8]}"
    assert ActionHandoffWait().run(dispatcher, make_tracker(conversation, ""), {}) == []
    api.post("/api/v1/handoffs", json=body(conversation))
    assert ActionHandoffWait().run(dispatcher, make_tracker(conversation, ""), {}) == []
    assert dispatcher.messages == []


def test_backend_down_says_nothing(backend_down, dispatcher):
    assert ActionHandoffWait().run(dispatcher, make_tracker("wait-down", ""), {}) == []
