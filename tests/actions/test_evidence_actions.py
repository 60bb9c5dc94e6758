"""action_acknowledge_evidence: which ticket the user's photos went to, read back from the real backend."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from actions.evidence import ActionAcknowledgeEvidence, hours_until
from logistics import seed
from tests.conftest import serve
from tests.support import make_tracker, slots_of

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def backend_url(module_demo_engine):
    """These tests open tickets on demo parcels: a demo database of their own, so the problem tests still meet
    fresh parcels."""
    yield from serve(module_demo_engine)


def acknowledge(sender: str, dispatcher) -> dict:
    tracker = make_tracker(sender, "/send_photo", intent="send_photo", channel="socketio")
    events = ActionAcknowledgeEvidence().run(dispatcher, tracker, {})
    assert dispatcher.messages == [], "the wording lives in domain/evidence.yml"
    return slots_of(events)


def test_photos_are_counted_on_the_conversations_claim(backend_client, dispatcher):
    sender = uuid.uuid4().hex
    ticket = backend_client.create_ticket(type="claim", idempotency_key=f"claim:{sender}",
                                          tracking_number=seed.DEMO_ZHAO_DAMAGED, conversation_id=sender,
                                          details={"reason": "damaged"})
    for _ in range(2):
        response = backend_client.session.post(
            f"{backend_client.settings.backend_url}/api/v1/tickets/{ticket['id']}/evidence",
            files={"file": ("box.png", PNG + uuid.uuid4().bytes * 8, "image/png")})
        assert response.status_code == 201
    slots = acknowledge(sender, dispatcher)
    assert slots["evidence_outcome"] == "attached"
    assert slots["evidence_ticket_type"] == "claim"
    assert slots["evidence_ticket_ref"] == f"T{ticket['id']}"
    assert slots["evidence_count"] == "2"
    assert slots["evidence_review_hours"].isdigit() and int(slots["evidence_review_hours"]) >= 1


def test_without_a_ticket_that_takes_photos_the_user_is_asked_what_happened(backend_client, dispatcher):
    sender = uuid.uuid4().hex
    backend_client.create_ticket(type="urge", idempotency_key=f"urge:{sender}",
                                 tracking_number=seed.DEMO_WANG_AT_OUTLET, conversation_id=sender)
    assert acknowledge(sender, dispatcher) == {"evidence_outcome": "no_ticket"}


def test_backend_down_is_said_plainly(backend_down, dispatcher):
    assert acknowledge(uuid.uuid4().hex, dispatcher) == {"evidence_outcome": "unavailable"}


def test_hours_are_rounded_up_and_never_zero():
    now = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    assert hours_until((now + timedelta(hours=71, minutes=1)).isoformat(), now) == "72"
    assert hours_until((now - timedelta(hours=1)).isoformat(), now) == "1"
    assert hours_until(None, now) == ""
