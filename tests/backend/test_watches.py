"""Arrival watches: one per conversation and parcel, proof of link required, marked when the parcel arrives."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def _scan(api, number: str, status: str, hours_ago: float = 0) -> None:
    when = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat()
    response = api.post(f"/api/v1/shipments/{number}/events",
                        json={"time": when, "status": status, "location": "杭州萧山中转场"})
    assert response.status_code == 201, response.text


def _watch(api, shipment: dict, conversation_id: str = "conv-watch", **body):
    tail = shipment["recipient"]["phone"][-4:]
    return api.post(f"/api/v1/shipments/{shipment['tracking_number']}/watches", params={"phone_tail": tail},
                    json={"conversation_id": conversation_id, **body})


def test_a_watch_is_created_once_and_marked_when_the_parcel_reaches_the_outlet(api, make_shipment):
    shipment = make_shipment()
    _scan(api, shipment["tracking_number"], "arrived_hub", 2)
    first = _watch(api, shipment)
    assert first.status_code == 201, first.text
    assert first.json()["already_arrived"] is False and first.json()["notified_at"] is None
    again = _watch(api, shipment)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    _scan(api, shipment["tracking_number"], "at_outlet")
    after = _watch(api, shipment).json()
    assert after["notified_at"] is not None and after["already_arrived"] is True


def test_a_watch_needs_a_proven_link_and_a_valid_body(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    assert api.post(f"/api/v1/shipments/{number}/watches", json={"conversation_id": "x"}).status_code == 403
    wrong = api.post(f"/api/v1/shipments/{number}/watches", params={"phone_tail": "0000"},
                     json={"conversation_id": "x"})
    assert wrong.status_code == 403 and wrong.json()["error"]
    assert _watch(api, shipment, channel="fax").status_code == 422
    assert _watch(api, shipment, conversation_id="").status_code == 422
    assert api.post("/api/v1/shipments/NOPE123456/watches", params={"phone_tail": "1234"},
                    json={"conversation_id": "x"}).status_code == 404
