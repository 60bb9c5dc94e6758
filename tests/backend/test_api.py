"""The v1 HTTP API end to end over HTTP: customers, shipments, events, privacy, tickets, errors."""
from __future__ import annotations

import re

import pytest

from tests.support import Api, unique_number, unique_phone

PHONE = re.compile(r"1[3-9]\d{9}")


def test_health_needs_no_token(backend_url):
    response = Api(backend_url, token=None).get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_document_lists_every_route(backend_url):
    doc = Api(backend_url, token=None).get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/customers", "/api/v1/shipments", "/api/v1/shipments/{tracking_number}",
                 "/api/v1/shipments/{tracking_number}/events", "/api/v1/tickets", "/api/v1/tickets/{ticket_id}"):
        assert path in doc["paths"]
    assert "ShipmentIn" in doc["components"]["schemas"]


def test_customer_is_created_then_merged_by_phone(api):
    phone = unique_phone()
    first = api.post("/api/v1/customers", json={"phone": phone, "name": "李娜",
                                                  "bindings": [{"channel": "rest", "external_id": f"r-{phone}"}]})
    assert first.status_code == 201
    again = api.post("/api/v1/customers", json={"phone": phone,
                                                  "bindings": [{"channel": "socketio", "external_id": f"s-{phone}"}]})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert {b["channel"] for b in again.json()["bindings"]} == {"rest", "socketio"}
    assert again.json()["phone"] == f"{phone[:3]}****{phone[-4:]}"


def test_binding_lookup_lists_the_customers_shipments(api, make_shipment):
    shipment = make_shipment()
    phone = shipment["recipient"]["phone"]
    api.post("/api/v1/customers", json={"phone": phone, "bindings": [{"channel": "rest", "external_id": f"x{phone}"}]})
    found = api.get("/api/v1/customers/lookup", params={"channel": "rest", "external_id": f"x{phone}"})
    assert found.status_code == 200
    numbers = [s["tracking_number"] for s in found.json()["shipments"]]
    assert numbers == [shipment["tracking_number"]]
    assert found.json()["shipments"][0]["role"] == "recipient"
    missing = api.get("/api/v1/customers/lookup", params={"channel": "rest", "external_id": "nobody"})
    assert missing.status_code == 404


def test_duplicate_tracking_number_is_a_conflict(api, make_shipment):
    shipment = make_shipment()
    again = api.post("/api/v1/shipments", json=shipment)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


def test_events_out_of_order_are_kept_in_time_order(api, make_shipment):
    shipment = make_shipment()
    number, tail = shipment["tracking_number"], shipment["recipient"]["phone"][-4:]
    events = [
        ("2026-11-20T18:00:00+08:00", "arrived_hub", "杭州转运中心"),
        ("2026-11-20T09:00:00+08:00", "picked_up", "上海浦东张江网点"),
        ("2026-11-21T08:30:00+08:00", "at_outlet", "杭州西湖区文三路营业部"),
        ("2026-11-20T12:00:00+08:00", "in_transit", "上海转运中心"),
    ]
    for time, status, location in events:
        response = api.post(f"/api/v1/shipments/{number}/events",
                            json={"time": time, "status": status, "location": location})
        assert response.status_code == 201, response.text
    body = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": tail}).json()
    assert [e["status"] for e in body["events"]] == ["at_outlet", "arrived_hub", "in_transit", "picked_up"]
    assert body["status"] == "at_outlet"
    assert body["events"][0]["time"] == "2026-11-21T08:30:00+08:00"
    assert body["role"] == "recipient"


def test_phones_are_masked_in_every_answer(api, make_shipment):
    shipment = make_shipment()
    body = api.get(f"/api/v1/shipments/{shipment['tracking_number']}",
                   params={"phone_tail": shipment["sender"]["phone"][-4:]})
    assert body.status_code == 200
    assert body.json()["role"] == "sender"
    assert not PHONE.search(body.text)
    assert body.json()["recipient"]["phone"] == shipment["recipient"]["phone"][:3] + "****" + \
        shipment["recipient"]["phone"][-4:]


def test_mobiles_inside_scan_descriptions_are_masked(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    api.post(f"/api/v1/shipments/{number}/events", json={
        "time": "2026-11-24T10:00:00+08:00", "status": "at_station", "location": "上海",
        "description": "已到达驿站，驿站电话：18288994422，取件码 8-6-8363"})
    body = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": shipment["recipient"]["phone"][-4:]})
    assert "182****4422" in body.text
    assert not PHONE.search(body.text)


def test_wrong_phone_tail_is_refused(api, make_shipment):
    shipment = make_shipment()
    wrong = "0000" if not shipment["recipient"]["phone"].endswith("0000") else "1111"
    response = api.get(f"/api/v1/shipments/{shipment['tracking_number']}", params={"phone_tail": wrong})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert shipment["recipient"]["address"] not in response.text


def test_no_proof_of_link_is_refused(api, make_shipment):
    shipment = make_shipment()
    assert api.get(f"/api/v1/shipments/{shipment['tracking_number']}").status_code == 403


def test_customer_id_proves_the_link(api, make_shipment):
    shipment = make_shipment()
    customer = api.post("/api/v1/customers", json={"phone": shipment["recipient"]["phone"]}).json()
    response = api.get(f"/api/v1/shipments/{shipment['tracking_number']}", params={"customer_id": customer["id"]})
    assert response.status_code == 200
    stranger = api.post("/api/v1/customers", json={"phone": unique_phone()}).json()
    response = api.get(f"/api/v1/shipments/{shipment['tracking_number']}", params={"customer_id": stranger["id"]})
    assert response.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="},
                                     {"Authorization": "Bearer"}])
def test_requests_without_the_token_are_unauthorized(backend_url, headers):
    api = Api(backend_url, token=None)
    response = api.get("/api/v1/tickets", params={"conversation_id": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_same_idempotency_key_gives_one_ticket(api, make_shipment):
    shipment = make_shipment()
    body = {"type": "urge", "tracking_number": shipment["tracking_number"], "conversation_id": "conv-idem",
            "details": {"reason": "到网点一天未派送"}, "idempotency_key": f"urge:{shipment['tracking_number']}"}
    first = api.post("/api/v1/tickets", json=body)
    second = api.post("/api/v1/tickets", json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    listed = api.get("/api/v1/tickets", params={"tracking_number": shipment["tracking_number"]}).json()["tickets"]
    assert len(listed) == 1
    assert listed[0]["sla_due_at"] > listed[0]["created_at"]


def test_ticket_detail_has_history_and_sla(api, make_shipment):
    shipment = make_shipment()
    created = api.post("/api/v1/tickets", json={
        "type": "fresh_priority_claim", "tracking_number": shipment["tracking_number"],
        "conversation_id": "conv-fresh", "idempotency_key": f"fresh:{shipment['tracking_number']}"}).json()
    ticket = api.get(f"/api/v1/tickets/{created['id']}").json()
    assert ticket["type"] == "fresh_priority_claim"
    assert ticket["status"] == "open"
    assert ticket["history"][0]["kind"] == "created"
    assert ticket["evidence"] == []
    by_conversation = api.get("/api/v1/tickets", params={"conversation_id": "conv-fresh"}).json()["tickets"]
    assert created["id"] in [t["id"] for t in by_conversation]


def test_tracking_number_recognition_is_confirmed_against_data(api, make_shipment):
    shipment = make_shipment()
    known = api.get(f"/api/v1/tracking-numbers/{shipment['tracking_number']}").json()
    assert known["known"] is True and known["carrier"] == "sf" and "sf" in known["candidates"]
    unknown = api.get("/api/v1/tracking-numbers/JD0012345678901").json()
    assert unknown["known"] is False and unknown["candidates"] == ["jd"]


def _shipment_body(**overrides):
    body = {"tracking_number": unique_number(), "carrier": "sf",
            "sender": {"phone": unique_phone()}, "recipient": {"phone": unique_phone()},
            "origin": "上海", "destination": "杭州"}
    body.update(overrides)
    return body


JSON_TYPE = {"Content-Type": "application/json"}
BAD_INPUTS = [
    ("malformed JSON", "POST", "/api/v1/shipments", {"data": "{not json", "headers": JSON_TYPE}, 400),
    ("JSON array body", "POST", "/api/v1/shipments", {"json": [1, 2]}, 400),
    ("empty body", "POST", "/api/v1/customers", {"data": b"", "headers": JSON_TYPE}, 400),
    ("form instead of JSON", "POST", "/api/v1/customers", {"data": {"phone": "13800000000"}}, 415),
    ("invalid phone", "POST", "/api/v1/customers", {"json": {"phone": "12345"}}, 422),
    ("unknown channel", "POST", "/api/v1/customers",
     {"json": {"phone": "13812345678", "bindings": [{"channel": "fax", "external_id": "1"}]}}, 422),
    ("unknown carrier", "POST", "/api/v1/shipments", {"json": _shipment_body(carrier="ups-mars")}, 422),
    ("missing recipient", "POST", "/api/v1/shipments",
     {"json": {k: v for k, v in _shipment_body().items() if k != "recipient"}}, 422),
    ("negative insured value", "POST", "/api/v1/shipments", {"json": _shipment_body(insured_value=-5)}, 422),
    ("unknown goods type", "POST", "/api/v1/shipments", {"json": _shipment_body(goods_type="plutonium")}, 422),
    ("tracking number with symbols", "POST", "/api/v1/shipments",
     {"json": _shipment_body(tracking_number="SF<script>1")}, 422),
    ("oversized body", "POST", "/api/v1/customers",
     {"json": {"phone": "13812345678", "name": "x" * 100_000}}, 413),
    ("event for unknown shipment", "POST", "/api/v1/shipments/SF0000000000001/events",
     {"json": {"time": "2026-11-20T10:00:00+08:00", "status": "in_transit", "location": "上海"}}, 404),
    ("unknown shipment", "GET", "/api/v1/shipments/SF0000000000002?phone_tail=1234", {}, 404),
    ("phone tail not 4 digits", "GET", "/api/v1/shipments/SF0000000000002?phone_tail=12a4", {}, 400),
    ("customer_id not a number", "GET", "/api/v1/shipments/SF0000000000002?customer_id=abc", {}, 400),
    ("ticket of unknown type", "POST", "/api/v1/tickets", {"json": {"type": "pizza", "idempotency_key": "k1"}}, 422),
    ("ticket without idempotency key", "POST", "/api/v1/tickets", {"json": {"type": "urge"}}, 422),
    ("ticket for unknown shipment", "POST", "/api/v1/tickets",
     {"json": {"type": "urge", "tracking_number": "SF0000000000003", "idempotency_key": "k-unknown"}}, 404),
    ("ticket list without filter", "GET", "/api/v1/tickets", {}, 400),
    ("unknown ticket", "GET", "/api/v1/tickets/999999", {}, 404),
    ("unknown route", "GET", "/api/v1/nothing-here", {}, 404),
    ("wrong method", "DELETE", "/api/v1/tickets", {}, 405),
]


@pytest.mark.parametrize("label,method,path,kwargs,status", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_a_readable_4xx(api, label, method, path, kwargs, status):
    response = api.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "message"} and body["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("time", ["yesterday", "2026-13-45T10:00:00", "", 12345, None])
def test_invalid_event_dates_are_rejected(api, make_shipment, time):
    shipment = make_shipment()
    response = api.post(f"/api/v1/shipments/{shipment['tracking_number']}/events",
                        json={"time": time, "status": "in_transit", "location": "上海"})
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == "time"


def test_unknown_event_status_is_rejected(api, make_shipment):
    shipment = make_shipment()
    response = api.post(f"/api/v1/shipments/{shipment['tracking_number']}/events",
                        json={"time": "2026-11-20T10:00:00+08:00", "status": "teleported", "location": "上海"})
    assert response.status_code == 422
    assert "status" in response.json()["message"]


def test_missing_number_in_ticket_list_is_empty_not_error(api):
    response = api.get("/api/v1/tickets", params={"tracking_number": unique_number()})
    assert response.status_code == 200 and response.json() == {"tickets": []}


def test_three_wrong_tails_lock_the_number_for_that_conversation(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    right = shipment["recipient"]["phone"][-4:]
    wrong = "0000" if right != "0000" else "1111"
    lefts = []
    for _ in range(3):
        response = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": wrong, "conversation_id": "c-lock"})
        assert response.status_code == 403
        lefts.append(response.json()["details"]["attempts_left"])
    assert lefts == [2, 1, 0]
    locked = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": right, "conversation_id": "c-lock"})
    assert locked.status_code == 429
    assert 0 < locked.json()["details"]["retry_after_seconds"] <= 600
    other = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": right, "conversation_id": "c-other"})
    assert other.status_code == 200
