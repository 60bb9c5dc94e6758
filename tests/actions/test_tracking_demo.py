"""Tracking conversations on the demo data: bound users are asked nothing, choices by button or by words."""
from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.tracking import ActionShowTimeline, ActionTrackParcel
from logistics import seed
from tests.support import make_tracker, slots_of

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def track(sender: str, text: str, intent: str = "track_parcel", entities=None, slots=None, channel="rest"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, intent=intent, entities=entities, slots=slots, channel=channel)
    events = ActionTrackParcel().run(dispatcher, tracker, {})
    values = slots_of(events)
    assert not PHONE.search(repr(values)), "a full phone number would reach the user"
    return values


def test_the_seed_example_is_answered_from_the_hub_notice():
    slots = track("demo-zhang", "我的快递怎么卡在杭州中转场3天了", intent="report_delay",
                  entities=[{"entity": "location", "value": "杭州"}])
    # A delay is a problem: the parcel is identified here, action_handle_problem answers next.
    assert slots["tracking_outcome"] == "problem" and slots["pending_problem"] == "report_delay"
    assert slots["tracking_number"] == seed.DEMO_ZHANG_HELD
    assert slots["shipment_situation"] == "held_incident"
    assert slots["hold_kind"] == "weather"
    assert "积压" in slots["hold_reason"]
    assert slots["last_scan_location"].startswith("杭州")


def test_bound_user_with_one_active_parcel_is_asked_nothing():
    slots = track("demo-zhang", "我的快递到哪了")
    assert slots["tracking_outcome"] == "answered"
    assert slots["carrier_name"] == "顺丰速运"


def test_bound_user_on_socketio_is_recognised_too():
    assert track("demo-zhang", "到哪了", channel="socketio")["tracking_outcome"] == "answered"


def test_several_active_parcels_offer_a_choice():
    slots = track("demo-li", "我的快递到哪了")
    assert slots["tracking_outcome"] == "choose"
    assert slots["choice_count"] == "4"
    assert set(slots["shipment_choices"]) == {seed.DEMO_LI_FRESH, seed.DEMO_LI_OUT_FOR_DELIVERY,
                                              seed.DEMO_LI_CUSTOMS, seed.DEMO_LI_LOCKER}
    assert all(slots[f"choice_{i}_title"] for i in range(1, 5))
    assert "****" in slots["choice_1_title"]


def _after_choice(text, intent="inform", entities=None):
    choice = track("demo-li", "我的快递到哪了")
    return track("demo-li", text, intent=intent, entities=entities,
                 slots={"tracking_outcome": "choose", "shipment_choices": choice["shipment_choices"]})


def test_choice_by_button_payload():
    slots = _after_choice("/inform", entities=[{"entity": "tracking_number", "value": seed.DEMO_LI_CUSTOMS}])
    assert slots["tracking_number"] == seed.DEMO_LI_CUSTOMS
    assert slots["shipment_situation"] == "customs_processing"


def test_choice_by_words_origin():
    slots = _after_choice("上海寄来的那个", entities=[{"entity": "location", "value": "上海"}])
    assert slots["tracking_number"] == seed.DEMO_LI_FRESH


def test_choice_by_words_goods():
    slots = _after_choice("那个生鲜", entities=[{"entity": "goods_type", "value": "fresh"}])
    assert slots["tracking_number"] == seed.DEMO_LI_FRESH


def test_choice_by_ordinal():
    choice = track("demo-li", "我的快递到哪了")
    slots = _after_choice("第二个")
    assert slots["tracking_number"] == choice["shipment_choices"][1]


def test_carrier_named_without_number_picks_among_own_parcels():
    slots = track("demo-li", "京东的快递到哪了", entities=[{"entity": "carrier", "value": "jd"}])
    assert slots["tracking_number"] == seed.DEMO_LI_LOCKER
    assert slots["shipment_situation"] == "in_locker"


def test_place_named_without_number_picks_among_own_parcels():
    slots = track("demo-li", "广州发来的到哪了", entities=[{"entity": "location", "value": "广州"}])
    assert slots["tracking_number"] == seed.DEMO_LI_OUT_FOR_DELIVERY
    assert slots["shipment_situation"] == "out_for_delivery"
    assert "****" in slots["courier_phone"]


def test_that_other_one_switches():
    first = track("demo-wang", "我的快递到哪了")
    assert first["tracking_outcome"] in ("answered", "choose")
    choices = [seed.DEMO_WANG_SENT_PROXY_SIGNED, seed.DEMO_WANG_AT_OUTLET]
    slots = track("demo-wang", "那另一个呢", intent="inform",
                  slots={"tracking_number": seed.DEMO_WANG_AT_OUTLET, "shipment_choices": choices,
                         "tracking_outcome": "answered"})
    assert slots["tracking_number"] == seed.DEMO_WANG_SENT_PROXY_SIGNED
    assert slots["shipment_situation"] == "delivered_proxy"


def test_unbound_user_sees_nothing_before_the_phone_check():
    slots = track("guest-a", f"查一下{seed.DEMO_UNBOUND_STATION}")
    assert slots == {"customer_id": None, "tracking_number": seed.DEMO_UNBOUND_STATION,
                     "tracking_outcome": "need_tail"}
    slots = track("guest-a", "5678", intent="inform",
                  slots={"tracking_number": seed.DEMO_UNBOUND_STATION, "tracking_outcome": "need_tail"})
    assert slots["tracking_outcome"] == "answered"
    assert slots["shipment_situation"] == "at_station"


def test_verified_number_is_not_checked_twice():
    slots = track("guest-b", "它到哪了", slots={"tracking_number": seed.DEMO_UNBOUND_STATION, "phone_tail": "5678",
                                            "verified_number": seed.DEMO_UNBOUND_STATION})
    assert slots["tracking_outcome"] == "answered"


def test_three_wrong_tails_lock_the_number_for_the_conversation():
    state = {"tracking_number": seed.DEMO_UNBOUND_STATION, "tracking_outcome": "need_tail"}
    outcomes = []
    for _ in range(3):
        slots = track("guest-lock", "1111", intent="inform", slots=state)
        outcomes.append((slots["tracking_outcome"], slots.get("tail_attempts_left")))
        state["tracking_outcome"] = slots["tracking_outcome"]
    assert outcomes == [("wrong_tail", "2"), ("wrong_tail", "1"), ("locked", None)]
    slots = track("guest-lock", "5678", intent="inform", slots={**state, "tracking_outcome": "wrong_tail"})
    assert slots["tracking_outcome"] == "locked"
    assert "shipment_status" not in slots
    other = track("guest-unlocked", "5678", intent="inform",
                  slots={"tracking_number": seed.DEMO_UNBOUND_STATION, "tracking_outcome": "need_tail"})
    assert other["tracking_outcome"] == "answered"


def test_timeline_is_sent_as_structured_data_on_the_web():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("demo-zhang", "到哪了", channel="socketio",
                           slots={"tracking_number": seed.DEMO_ZHANG_HELD, "customer_id": 1})
    customer_slots = track("demo-zhang", "到哪了", channel="socketio")
    tracker.slots["customer_id"] = customer_slots["customer_id"]
    ActionShowTimeline().run(dispatcher, tracker, {})
    payload = dispatcher.messages[0]["custom"]["data"]
    assert payload["type"] == "timeline"
    assert payload["tracking_number"] == seed.DEMO_ZHANG_HELD
    times = [e["time"] for e in payload["events"]]
    assert times == sorted(times, reverse=True) and len(times) >= 3
    assert not PHONE.search(repr(payload))


def test_timeline_is_not_sent_to_channels_that_cannot_draw_it():
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("demo-zhang", "到哪了", channel="rest", slots={"tracking_number": seed.DEMO_ZHANG_HELD})
    ActionShowTimeline().run(dispatcher, tracker, {})
    assert dispatcher.messages == []


@pytest.mark.parametrize("status,situation", [
    ("picked_up", "picked_up"), ("in_transit", "in_transit"), ("arrived_hub", "arrived_hub"),
    ("departed_hub", "departed_hub"), ("at_outlet", "at_outlet"), ("out_for_delivery", "out_for_delivery"),
    ("in_locker", "in_locker"), ("at_station", "at_station"), ("delivered", "delivered"),
    ("delivery_failed", "delivery_failed"), ("refused", "refused"), ("returning", "returning"),
    ("returned", "returned"), ("customs_pending", "customs_pending"), ("customs_processing", "customs_processing"),
    ("customs_cleared", "customs_cleared"), ("customs_exception", "customs_exception"),
    ("exception", "exception"), ("lost", "lost"),
])
def test_every_status_family_gets_its_own_answer(api, make_shipment, status, situation):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    api.post(f"/api/v1/shipments/{number}/events", json={
        "time": "2026-11-24T09:00:00+08:00", "status": "picked_up", "location": "上海浦东张江网点"})
    if status != "picked_up":
        api.post(f"/api/v1/shipments/{number}/events", json={
            "time": "2026-11-24T21:00:00+08:00", "status": status, "location": "杭州",
            "description": f"测试扫描：{status}"})
    sender_id = f"status-{status}"
    api.post("/api/v1/customers", json={"phone": shipment["recipient"]["phone"],
                                        "bindings": [{"channel": "rest", "external_id": sender_id}]})
    slots = track(sender_id, f"{number}到哪了")
    assert slots["tracking_outcome"] == "answered"
    assert slots["shipment_situation"] == situation
    assert slots["last_scan_time"].startswith("11月24日")
