"""Compensation terms and the outlet where a parcel waits, over HTTP with the shipment privacy rule."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from logistics import db
from logistics.network.models import Facility, Incident
from logistics.tickets import compensation
from logistics.timeutil import CST, utcnow
from tests.support import Api, unique_number


@pytest.fixture()
def place(engine):
    """Create a facility of a given kind directly in the database (the API has no route for the network)."""

    def _make(kind: str = "outlet", hours: int = 12, phone: str = "0571-88886666", incident: bool = False) -> dict:
        tag = uuid.uuid4().hex[:8].upper()
        with db.session_factory(engine)() as session:
            row = Facility(code=f"T-{kind[:3].upper()}-{tag}", kind=kind, name=f"杭州文三路{kind}{tag}", city="杭州",
                           address="杭州市西湖区文三路100号", phone=phone, carrier="sf", promised_dispatch_hours=hours)
            session.add(row)
            session.flush()
            if incident:
                session.add(Incident(facility_id=row.id, kind="staffing", summary="网点人手不足，派送延迟",
                                     starts_at=utcnow() - timedelta(hours=5),
                                     expected_clear_at=utcnow() + timedelta(hours=6)))
            session.commit()
            return {"code": row.code, "name": row.name, "kind": kind}

    return _make


def _ago(hours: float) -> str:
    return (datetime.now(CST) - timedelta(hours=hours)).isoformat(timespec="seconds")


def scan(api, number: str, status: str, hours_ago: float, facility: dict | None = None, location: str = "杭州"):
    body = {"time": _ago(hours_ago), "status": status, "location": facility["name"] if facility else location}
    if facility:
        body["facility_code"] = facility["code"]
    response = api.post(f"/api/v1/shipments/{number}/events", json=body)
    assert response.status_code == 201, response.text


def tail(shipment: dict) -> dict:
    return {"phone_tail": shipment["recipient"]["phone"][-4:]}


# --- compensation ---


def test_uninsured_parcels_follow_the_carrier_terms(api, make_shipment):
    shipment = make_shipment(carrier="sf", insured_value=0)
    body = api.get(f"/api/v1/shipments/{shipment['tracking_number']}/compensation", params=tail(shipment)).json()
    assert body["carrier"] == "sf" and body["insured"] is False and body["insured_value"] == 0
    assert body["basis"] == "carrier_terms" and body["fee_multiple"] == 7
    assert body["max_payout"] == 161.0 and body["freight_is_estimate"] is True
    assert "7 倍" in body["terms_summary"]
    assert (body["review_days"], body["payout_days"], body["fresh"]) == (2, 5, None)


def test_insured_parcels_are_covered_up_to_the_insured_value(api, make_shipment):
    shipment = make_shipment(carrier="ems", tracking_number=unique_number("EA"), insured_value=2000)
    body = api.get(f"/api/v1/shipments/{shipment['tracking_number']}/compensation", params=tail(shipment)).json()
    assert body["insured"] is True and body["insured_value"] == 2000.0
    assert body["max_payout"] == 2000.0 and body["basis"] == "insured_value" and body["fee_multiple"] is None


def test_fresh_goods_get_the_priority_rules(api, make_shipment):
    shipment = make_shipment(carrier="zto", tracking_number=unique_number("ZT"), goods_type="fresh")
    body = api.get(f"/api/v1/shipments/{shipment['tracking_number']}/compensation", params=tail(shipment)).json()
    assert body["max_payout"] == 36.0 and body["fee_multiple"] == 3
    assert body["fresh"] == {"delay_remedy": "refund_freight", "priority_claim": True, "callback_hours": 1,
                             "review_hours": 24}
    assert body["review_days"] == 1 and "生鲜" in body["terms_summary"]


def test_every_carrier_has_terms():
    for code in ("sf", "zto", "yto", "sto", "yunda", "jd", "jt", "ems", "postb"):
        terms = compensation.terms_for(code)
        assert terms.fee_multiple >= 3 and terms.freight_estimate > 0 and terms.terms_summary
    assert compensation.terms_for("new-carrier") is compensation.DEFAULT_TERMS


def test_working_days_skip_the_weekend():
    friday_10h = datetime(2026, 11, 27, 2, 0)  # 10:00 China time, a Friday
    assert compensation.add_working_days(friday_10h, 1) == datetime(2026, 11, 30, 2, 0)  # Monday
    assert compensation.add_working_days(friday_10h, 3) == datetime(2026, 12, 2, 2, 0)  # Wednesday
    late_sunday = datetime(2026, 11, 29, 15, 30)  # 23:30 Sunday China time
    assert compensation.add_working_days(late_sunday, 1) == datetime(2026, 11, 30, 15, 30)


# --- privacy, shared by both routes ---


@pytest.mark.parametrize("route", ["compensation", "outlet"])
def test_both_routes_need_proof_of_a_link(api, make_shipment, backend_url, route):
    shipment = make_shipment()
    path = f"/api/v1/shipments/{shipment['tracking_number']}/{route}"
    wrong = "0000" if not shipment["recipient"]["phone"].endswith("0000") else "1111"
    assert api.get(path).status_code == 403
    refused = api.get(path, params={"phone_tail": wrong})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert api.get(path, params={"phone_tail": "12a4"}).status_code == 400
    assert api.get(path, params={"customer_id": "abc"}).status_code == 400
    assert api.get(path, params={"phone_tail": "1234", "conversation_id": "c" * 129}).status_code == 400
    assert api.get(f"/api/v1/shipments/{unique_number()}/{route}", params={"phone_tail": "1234"}).status_code == 404
    assert Api(backend_url, token=None).get(path, params=tail(shipment)).status_code == 401
    customer = api.post("/api/v1/customers", json={"phone": shipment["sender"]["phone"]}).json()
    expected = 200 if route == "compensation" else 404  # a parcel with no scans waits nowhere
    assert api.get(path, params={"customer_id": customer["id"]}).status_code == expected


def test_wrong_tails_on_these_routes_count_towards_the_lock(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    wrong = "0000" if not shipment["recipient"]["phone"].endswith("0000") else "1111"
    lefts = [api.get(f"/api/v1/shipments/{number}/{route}", params={"phone_tail": wrong, "conversation_id": "c-lk"})
             .json()["details"]["attempts_left"] for route in ("compensation", "outlet", "compensation")]
    assert lefts == [2, 1, 0]
    locked = api.get(f"/api/v1/shipments/{number}", params={**tail(shipment), "conversation_id": "c-lk"})
    assert locked.status_code == 429


# --- outlet ---


def test_a_parcel_waiting_past_the_promise_is_overdue(api, make_shipment, place):
    outlet = place("outlet", hours=12, incident=True)
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, "in_transit", 40)
    scan(api, number, "at_outlet", 30, outlet)
    body = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment))
    assert body.status_code == 200, body.text
    body = body.json()
    assert (body["code"], body["kind"], body["city"], body["waiting_for"]) == (outlet["code"], "outlet", "杭州",
                                                                               "dispatch")
    assert body["phone"] == "0571-88886666" and body["promised_dispatch_hours"] == 12
    assert 29.9 <= body["waited_hours"] <= 30.5 and body["overdue"] is True
    assert datetime.fromisoformat(body["dispatch_due_at"]) - datetime.fromisoformat(body["arrived_at"]) == \
        timedelta(hours=12)
    assert body["incident"]["kind"] == "staffing"


def test_a_failed_delivery_counts_from_the_first_arrival(api, make_shipment, place):
    outlet = place("outlet", hours=24, phone="13912345678")
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, "at_outlet", 10, outlet)
    scan(api, number, "out_for_delivery", 8, outlet)
    scan(api, number, "delivery_failed", 5, outlet)
    body = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment)).json()
    assert 9.9 <= body["waited_hours"] <= 10.5 and body["overdue"] is False
    assert body["status"] == "delivery_failed" and body["phone"] == "139****5678"


def test_a_parcel_in_a_locker_waits_for_pickup(api, make_shipment, place):
    locker = place("locker")
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, "in_locker", 50, locker)
    body = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment)).json()
    assert body["waiting_for"] == "pickup" and body["kind"] == "locker"
    assert body["promised_dispatch_hours"] is None and body["overdue"] is False


def test_a_scan_without_a_facility_code_is_matched_by_name(api, make_shipment, place):
    station = place("station")
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, "at_station", 3, location=station["name"])
    body = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment)).json()
    assert body["code"] == station["code"]


@pytest.mark.parametrize("status,kind", [("in_transit", None), ("out_for_delivery", "outlet"), ("delivered", None),
                                         ("at_outlet", "hub")])
def test_a_parcel_not_waiting_at_an_outlet_is_404(api, make_shipment, place, status, kind):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, status, 2, place(kind) if kind else None, location="无此网点")
    response = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment))
    assert response.status_code == 404
    assert response.json()["error"] == "not_at_outlet" and status in response.json()["message"]


def test_a_place_we_have_no_record_of_is_described_by_its_scan(api, make_shipment):
    """A carrier feed or an API client names the outlet only in the scan: the urge still knows where and how
    long, with the usual 24-hour dispatch promise and no phone."""
    shipment = make_shipment()
    number = shipment["tracking_number"]
    scan(api, number, "at_outlet", 30, None, location="无此网点")
    body = api.get(f"/api/v1/shipments/{number}/outlet", params=tail(shipment)).json()
    assert body["name"] == "无此网点" and body["code"] is None and body["phone"] is None
    assert body["promised_dispatch_hours"] == 24 and body["overdue"] is True and body["waited_hours"] >= 29


def test_openapi_lists_the_new_routes(backend_url):
    doc = Api(backend_url, token=None).get("/openapi.json").json()
    for path, method in (("/api/v1/tickets/{ticket_id}", "patch"), ("/api/v1/tickets/{ticket_id}/evidence", "post"),
                         ("/api/v1/tickets/{ticket_id}/evidence/{evidence_id}", "get"),
                         ("/api/v1/shipments/{tracking_number}/compensation", "get"),
                         ("/api/v1/shipments/{tracking_number}/outlet", "get")):
        assert method in doc["paths"][path]
    schemas = doc["components"]["schemas"]
    assert {"TicketPatch", "EvidenceIn", "Compensation", "Outlet", "Evidence"} <= set(schemas)
    params = {p["name"] for p in doc["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert {"customer_id", "status", "type"} <= params
