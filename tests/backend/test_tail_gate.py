"""The phone-tail gate as an attacker meets it: throwaway conversations, forged customer ids, other
conversations' tickets. Every limit is enforced by the backend, whatever the caller (action server or not)."""
from __future__ import annotations

import uuid

from tests.support import Api


def _wrong_tails(right: str):
    """Every 4-digit tail but the right one, in order (the brute force the attack used)."""
    for n in range(10_000):
        tail = f"{n:04d}"
        if tail != right:
            yield tail


def _read(api: Api, number: str, **params):
    return api.get(f"/api/v1/shipments/{number}", params=params)


def test_throwaway_conversations_do_not_reset_the_lock(api, make_shipment):
    """The recorded attack: three tails per fresh sender id. The number locks after 10 wrong tails in all,
    then answers nothing anonymous, not even to the right tail; the bound owner still reads it."""
    shipment = make_shipment()
    number, right = shipment["tracking_number"], shipment["recipient"]["phone"][-4:]
    attempts, locked_at = 0, None
    guesses = _wrong_tails(right)
    for sender in range(50):
        conversation = f"brute-{uuid.uuid4().hex[:8]}-{sender}"
        for _ in range(3):
            attempts += 1
            response = _read(api, number, phone_tail=next(guesses), conversation_id=conversation, channel="rest")
            if response.status_code == 429:
                locked_at = attempts
                break
            assert response.status_code == 403
        if locked_at:
            break
    assert locked_at == 11, "the 11th wrong tail (10 counted) meets the lock"
    after = _read(api, number, phone_tail=right, conversation_id="brute-fresh", channel="rest")
    assert after.status_code == 429
    body = after.json()
    assert body["error"] == "locked" and body["details"]["scope"] == "number"
    assert "recipient" not in body and "events" not in body
    # Without any conversation id (another route to the same check): still locked.
    assert _read(api, number, phone_tail=right).status_code == 429
    assert api.get(f"/api/v1/shipments/{number}/outlet", params={"phone_tail": right}).status_code == 429
    # The bound owner is unaffected.
    phone = shipment["recipient"]["phone"]
    owner = api.post("/api/v1/customers", json={"phone": phone, "bindings": [
        {"channel": "socketio", "external_id": f"owner-{phone}"}]}).json()
    mine = _read(api, number, customer_id=owner["id"], conversation_id=f"owner-{phone}", channel="socketio")
    assert mine.status_code == 200 and mine.json()["role"] == "recipient"


def test_one_client_address_guessing_across_numbers_is_locked(api, make_shipment):
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    shipments = [make_shipment() for _ in range(3)]
    statuses = []
    for i in range(21):
        shipment = shipments[i % 3]
        wrong = "0000" if shipment["recipient"]["phone"][-4:] != "0000" else "1111"
        if shipment["sender"]["phone"][-4:] == wrong:
            wrong = "2222"
        statuses.append(_read(api, shipment["tracking_number"], phone_tail=wrong, conversation_id=f"a-{i}",
                              channel="rest", client_address=address).status_code)
    # Each number sees only 7 misses (under its own limit of 10): the address limit of 20 is what locks.
    assert statuses[:20] == [403] * 20
    assert statuses[20] == 429


def test_a_forged_customer_id_proves_nothing(api, make_shipment):
    """A tracker posted with someone else's customer id: the conversation is not bound to that customer."""
    shipment = make_shipment()
    phone = shipment["recipient"]["phone"]
    victim = api.post("/api/v1/customers", json={"phone": phone, "bindings": [
        {"channel": "rest", "external_id": f"victim-{phone}"}]}).json()
    forged = _read(api, shipment["tracking_number"], customer_id=victim["id"], conversation_id="attacker-1",
                   channel="rest")
    assert forged.status_code == 403
    assert "events" not in forged.json()
    real = _read(api, shipment["tracking_number"], customer_id=victim["id"], conversation_id=f"victim-{phone}",
                 channel="rest")
    assert real.status_code == 200


def test_a_matching_tail_is_remembered_for_that_conversation_only(api, make_shipment):
    shipment = make_shipment()
    number, right = shipment["tracking_number"], shipment["recipient"]["phone"][-4:]
    assert _read(api, number, conversation_id="proved-1", channel="rest").status_code == 403
    assert _read(api, number, phone_tail=right, conversation_id="proved-1", channel="rest").status_code == 200
    assert _read(api, number, conversation_id="proved-1", channel="rest").status_code == 200
    assert _read(api, number, conversation_id="other-2", channel="rest").status_code == 403


def test_a_second_conversation_shares_the_ticket_it_was_told_about(api, make_shipment):
    """Two verified conversations report the same damage: one claim, visible to both (photos can attach),
    invisible to a third conversation."""
    shipment = make_shipment()
    number = shipment["tracking_number"]
    body = {"type": "claim", "tracking_number": number, "idempotency_key": f"damaged:{number}", "details": {}}
    first = api.post("/api/v1/tickets", json={**body, "conversation_id": "conv-a"})
    second = api.post("/api/v1/tickets", json={**body, "conversation_id": "conv-b"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    for conversation, expected in (("conv-a", 1), ("conv-b", 1), ("conv-c", 0)):
        listed = api.get("/api/v1/tickets", params={"conversation_id": conversation}).json()["tickets"]
        assert len(listed) == expected, conversation
    history = api.get(f"/api/v1/tickets/{first.json()['id']}").json()["history"]
    assert sum(1 for h in history if h["kind"] == "linked") == 1


def test_a_handoff_about_an_unproven_number_reveals_no_other_conversations_ticket(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    api.post("/api/v1/tickets", json={"type": "claim", "tracking_number": number, "conversation_id": "owner-conv",
                                      "idempotency_key": f"claim:{number}", "details": {}})
    handoff = api.post("/api/v1/handoffs", json={
        "conversation_id": "stranger-conv", "channel": "rest", "reason": "request_human",
        "request": "转人工", "tracking_numbers": [number], "notes": [], "transcript": [],
        "idempotency_key": f"handoff:stranger:{number}"})
    assert handoff.status_code in (200, 201), handoff.text
    print(handoff.json())
    assert handoff.json()["package"]["triggered"] == []
