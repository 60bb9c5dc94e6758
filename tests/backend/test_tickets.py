"""Ticket updates over HTTP: status transitions, notes, due times, payouts, claim and complaint fields, filters."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from logistics import db
from logistics.network.models import Facility
from logistics.timeutil import CST
from tests.support import unique_number, unique_phone


def _key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


@pytest.fixture()
def make_ticket(api, make_shipment):
    """Create a ticket (with a shipment unless tracking_number=None is given) and return its JSON."""

    def _make(type: str = "urge", **fields) -> dict:
        body = {"type": type, "idempotency_key": _key(type), "conversation_id": f"conv-{uuid.uuid4().hex[:8]}"}
        if "tracking_number" not in fields:
            fields["tracking_number"] = make_shipment(**fields.pop("shipment", {}))["tracking_number"]
        body.update({k: v for k, v in fields.items() if v is not None})
        response = api.post("/api/v1/tickets", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    return _make


@pytest.fixture()
def facility(engine):
    """An outlet of our own, as the seeded network would hold it."""
    tag = uuid.uuid4().hex[:8].upper()
    with db.session_factory(engine)() as session:
        row = Facility(code=f"T-OUT-{tag}", kind="outlet", name=f"杭州西湖文三路营业部{tag}", city="杭州",
                       phone="0571-88886666", carrier="sf", promised_dispatch_hours=12)
        session.add(row)
        session.commit()
        return {"code": row.code, "name": row.name, "city": row.city}


def patch(api, ticket_id: int, body: dict):
    return api.request("PATCH", f"/api/v1/tickets/{ticket_id}", json=body)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_ticket_walks_through_its_life_and_every_step_is_logged(api, make_ticket):
    ticket = make_ticket("outlet_verification")
    steps = [("in_progress", "agent:li"), ("waiting_customer", "agent:li"), ("in_progress", "agent:li"),
             ("resolved", "outlet:HZ-01"), ("closed", "agent:li"), ("in_progress", "agent:wu")]
    for status, actor in steps:
        response = patch(api, ticket["id"], {"status": status, "actor": actor})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    history = api.get(f"/api/v1/tickets/{ticket['id']}").json()["history"]
    changes = [(h["data"]["from"], h["data"]["to"], h["actor"]) for h in history if h["kind"] == "status_changed"]
    assert changes == [("open", "in_progress", "agent:li"), ("in_progress", "waiting_customer", "agent:li"),
                       ("waiting_customer", "in_progress", "agent:li"), ("in_progress", "resolved", "outlet:HZ-01"),
                       ("resolved", "closed", "agent:li"), ("closed", "in_progress", "agent:wu")]


def test_forward_moves_may_skip_steps(api, make_ticket):
    ticket = make_ticket()
    response = patch(api, ticket["id"], {"status": "resolved", "note": "网点已联系快递员，今日派送"})
    assert response.status_code == 200
    kinds = [h["kind"] for h in response.json()["history"]]
    assert kinds == ["created", "status_changed", "note"]
    assert response.json()["history"][-1]["actor"] == "agent"


@pytest.mark.parametrize("path,target", [
    (["in_progress"], "open"),
    (["resolved"], "waiting_customer"),
    (["resolved", "closed"], "resolved"),
    (["waiting_customer"], "open"),
])
def test_invalid_transitions_are_422_and_change_nothing(api, make_ticket, path, target):
    ticket = make_ticket()
    for status in path:
        assert patch(api, ticket["id"], {"status": status}).status_code == 200
    response = patch(api, ticket["id"], {"status": target, "note": "should not be kept"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error" and body["details"][0]["field"] == "status"
    after = api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert after["status"] == path[-1]
    assert "note" not in [h["kind"] for h in after["history"]]


def test_a_retried_patch_changes_nothing_the_second_time(api, make_ticket):
    ticket = make_ticket()
    body = {"status": "in_progress", "note": "已催促网点", "actor": "agent:li"}
    first = patch(api, ticket["id"], body).json()
    second = patch(api, ticket["id"], body)
    assert second.status_code == 200
    assert second.json()["history"] == first["history"]
    assert second.json()["updated_at"] == first["updated_at"]


def test_moving_the_due_time_is_logged(api, make_ticket):
    ticket = make_ticket()
    due = (_parse(ticket["sla_due_at"]) + timedelta(hours=3)).isoformat()
    response = patch(api, ticket["id"], {"sla_due_at": due, "actor": "outlet:HZ-01"})
    assert response.status_code == 200
    assert _parse(response.json()["sla_due_at"]) == _parse(due)
    line = response.json()["history"][-1]
    assert line["kind"] == "due_changed" and line["actor"] == "outlet:HZ-01"
    assert line["data"] == {"from": ticket["sla_due_at"], "to": response.json()["sla_due_at"]}


@pytest.mark.parametrize("due", ["tomorrow", "2026-02-30T10:00:00", "", 123, "2001-01-01T00:00:00+08:00",
                                 (datetime.now(CST) + timedelta(days=800)).isoformat()])
def test_invalid_due_times_are_422(api, make_ticket, due):
    ticket = make_ticket()
    response = patch(api, ticket["id"], {"sla_due_at": due})
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "sla_due_at"


def test_claim_tickets_carry_the_compensation_terms(api, make_ticket):
    ticket = make_ticket("claim", details={"claim": {"max_payout": 99999}, "reason": "外包装破损"},
                         shipment={"carrier": "sf", "insured_value": 0})
    claim = ticket["details"]["claim"]
    assert claim["max_payout"] == 161.0 and claim["basis"] == "carrier_terms"
    assert ticket["details"]["reason"] == "外包装破损"
    created, review, payout = (_parse(ticket["created_at"]), _parse(claim["review_due_at"]),
                               _parse(claim["expected_payout_at"]))
    assert timedelta(days=2) <= review - created <= timedelta(days=4)  # 2 working days, weekends skipped
    assert payout - review == timedelta(days=5)
    assert ticket["expected_payout_at"] == claim["expected_payout_at"]
    assert ticket["payout_amount"] is None


def test_insured_claims_are_capped_at_the_insured_value(api, make_ticket):
    ticket = make_ticket("claim", shipment={"carrier": "ems", "tracking_number": unique_number("EA"),
                                            "insured_value": 2000})
    assert ticket["details"]["claim"]["max_payout"] == 2000.0
    assert ticket["details"]["claim"]["basis"] == "insured_value"


def test_fresh_priority_claims_are_reviewed_within_a_day(api, make_ticket):
    ticket = make_ticket("fresh_priority_claim", shipment={"carrier": "zto", "goods_type": "fresh",
                                                           "tracking_number": unique_number("ZT")})
    created = _parse(ticket["created_at"])
    assert _parse(ticket["sla_due_at"]) - created == timedelta(hours=1)
    assert _parse(ticket["details"]["claim"]["review_due_at"]) - created == timedelta(hours=24)


def test_lost_parcels_are_reviewed_after_the_investigation(api, make_ticket):
    ticket = make_ticket("lost_investigation")
    assert _parse(ticket["details"]["claim"]["review_due_at"]) > _parse(ticket["sla_due_at"])


def test_claims_without_a_parcel_have_no_terms(api, make_ticket):
    ticket = make_ticket("claim", tracking_number=None)
    assert "claim" not in ticket["details"] and ticket["expected_payout_at"] is None


def test_setting_the_payout_is_logged_and_shown_in_lists(api, make_ticket):
    ticket = make_ticket("claim", shipment={"carrier": "sf", "insured_value": 500})
    response = patch(api, ticket["id"], {"payout_amount": 320.5, "status": "resolved", "actor": "agent:zhou"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["payout_amount"] == 320.5
    line = next(h for h in body["history"] if h["kind"] == "payout_set")
    assert line["actor"] == "agent:zhou" and line["data"]["amount"] == 320.5 and line["data"]["previous"] is None
    approved = _parse(body["details"]["claim"]["approved_at"])
    assert _parse(body["expected_payout_at"]) - approved == timedelta(days=5)
    listed = api.get("/api/v1/tickets", params={"tracking_number": ticket["tracking_number"]}).json()["tickets"]
    assert listed[0]["payout_amount"] == 320.5 and listed[0]["expected_payout_at"] == body["expected_payout_at"]


def test_payouts_above_the_cap_or_on_other_tickets_are_422(api, make_ticket):
    claim = make_ticket("claim", shipment={"carrier": "zto", "tracking_number": unique_number("ZT")})
    over = patch(api, claim["id"], {"payout_amount": 37})
    assert over.status_code == 422 and "cap" in over.json()["message"]
    urge = make_ticket("urge")
    assert patch(api, urge["id"], {"payout_amount": 10}).status_code == 422


def test_complaints_get_a_category_and_the_place_of_the_last_scan(api, make_ticket, make_shipment, facility):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    api.post(f"/api/v1/shipments/{number}/events", json={
        "time": "2026-11-24T08:00:00+08:00", "status": "in_locker", "location": facility["name"],
        "facility_code": facility["code"]})
    ticket = make_ticket("complaint", tracking_number=number, details={"category": "locker_no_notice",
                                                                       "area": "瞎写的"})
    assert ticket["details"]["category"] == "locker_no_notice"
    assert ticket["details"]["category_label"] == "放柜/驿站未通知"
    assert ticket["details"]["area"] == "杭州"
    assert ticket["details"]["outlet"]["code"] == facility["code"]
    assert ticket["facility"] == facility
    plain = make_ticket("complaint", details={"text": "态度不好"})
    assert plain["details"]["category"] == "other" and plain["facility"] is None
    # An action server of the first version still sends the old names: stored under the DESIGN codes.
    legacy = make_ticket("complaint", details={"category": "refused_door_delivery"})
    assert legacy["details"]["category"] == "no_door_delivery"


def test_unknown_complaint_category_is_422(api, make_shipment):
    response = api.post("/api/v1/tickets", json={"type": "complaint", "idempotency_key": _key("c"),
                                                 "details": {"category": "bad_weather"}})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "details.category"


def test_tickets_are_listed_by_customer_and_open_status(api, make_shipment, make_ticket):
    phone = unique_phone()
    sender_id = f"rest-{phone}"
    customer = api.post("/api/v1/customers", json={
        "phone": phone, "bindings": [{"channel": "rest", "external_id": sender_id}]}).json()
    theirs = make_shipment(recipient={"name": "周杰", "phone": phone})
    by_parcel = make_ticket("urge", tracking_number=theirs["tracking_number"], conversation_id="someone-else")
    by_conversation = make_ticket("handoff", tracking_number=None, conversation_id=sender_id)
    done = make_ticket("complaint", tracking_number=theirs["tracking_number"])
    patch(api, done["id"], {"status": "resolved"})
    make_ticket("urge")  # somebody else's

    listed = api.get("/api/v1/tickets", params={"customer_id": customer["id"]}).json()["tickets"]
    assert {t["id"] for t in listed} == {by_parcel["id"], by_conversation["id"], done["id"]}
    open_ones = api.get("/api/v1/tickets", params={"customer_id": customer["id"], "status": "open"}).json()
    assert {t["id"] for t in open_ones["tickets"]} == {by_parcel["id"], by_conversation["id"]}
    resolved = api.get("/api/v1/tickets", params={"customer_id": customer["id"], "status": "resolved"}).json()
    assert [t["id"] for t in resolved["tickets"]] == [done["id"]]
    handoffs = api.get("/api/v1/tickets", params={"customer_id": customer["id"], "type": "handoff"}).json()
    assert [t["id"] for t in handoffs["tickets"]] == [by_conversation["id"]]


def test_idempotency_still_holds_for_claims(api, make_shipment):
    number = make_shipment()["tracking_number"]
    body = {"type": "claim", "tracking_number": number, "idempotency_key": _key("claim")}
    first, second = api.post("/api/v1/tickets", json=body), api.post("/api/v1/tickets", json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["details"]["claim"] == second.json()["details"]["claim"]
    assert [h["kind"] for h in second.json()["history"]] == ["created"]


BAD_PATCHES = [
    ("empty patch", {"json": {}}, 422),
    ("only an actor", {"json": {"actor": "agent:li"}}, 422),
    ("misspelt field", {"json": {"stauts": "resolved"}}, 422),
    ("unknown status", {"json": {"status": "done"}}, 422),
    ("blank note", {"json": {"note": "   "}}, 422),
    ("overlong note", {"json": {"note": "x" * 2001}}, 422),
    ("negative payout", {"json": {"payout_amount": -1}}, 422),
    ("payout with three decimals", {"json": {"payout_amount": 1.005}}, 422),
    ("payout as text", {"json": {"payout_amount": "lots"}}, 422),
    ("overlong actor", {"json": {"note": "x", "actor": "a" * 65}}, 422),
    ("JSON array", {"json": ["resolved"]}, 400),
    ("malformed JSON", {"data": "{status", "headers": {"Content-Type": "application/json"}}, 400),
    ("form body", {"data": {"status": "resolved"}}, 415),
]


@pytest.mark.parametrize("label,kwargs,status", BAD_PATCHES, ids=[b[0] for b in BAD_PATCHES])
def test_bad_patches_get_a_readable_4xx(api, make_ticket, label, kwargs, status):
    ticket = make_ticket()
    response = api.request("PATCH", f"/api/v1/tickets/{ticket['id']}", **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) >= {"error", "message"}
    assert [h["kind"] for h in api.get(f"/api/v1/tickets/{ticket['id']}").json()["history"]] == ["created"]


BAD_QUERIES = [
    ("patch of an unknown ticket", "PATCH", "/api/v1/tickets/999999", {"json": {"status": "resolved"}}, 404),
    ("ticket id not a number", "PATCH", "/api/v1/tickets/abc", {"json": {"status": "resolved"}}, 404),
    ("customer_id not a number", "GET", "/api/v1/tickets?customer_id=x1", {}, 400),
    ("unknown customer", "GET", "/api/v1/tickets?customer_id=99999999", {}, 404),
    ("unknown status filter", "GET", "/api/v1/tickets?status=pending", {}, 400),
    ("unknown type filter", "GET", "/api/v1/tickets?type=pizza", {}, 400),
]


@pytest.mark.parametrize("label,method,path,kwargs,status", BAD_QUERIES, ids=[b[0] for b in BAD_QUERIES])
def test_bad_ticket_queries_get_a_readable_4xx(api, label, method, path, kwargs, status):
    response = api.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) >= {"error", "message"} and response.json()["message"]
