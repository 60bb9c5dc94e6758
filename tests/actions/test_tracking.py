"""action_track_parcel against the real backend: bound users are asked nothing, others prove a link first."""
from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendClient
from actions.config import ActionSettings
from actions.tracking import ActionTrackParcel
from tests.support import make_tracker, slots_of, unique_phone


@pytest.fixture()
def parcel(api, make_shipment):
    """A shipment at an outlet whose recipient is bound to a REST sender id."""
    shipment = make_shipment()
    number = shipment["tracking_number"]
    for time, status, location, description in [
        ("2026-11-23T09:00:00+08:00", "picked_up", "上海浦东张江网点", "快件已揽收"),
        ("2026-11-24T18:00:00+08:00", "at_outlet", "杭州西湖区文三路营业部", "快件已到达【杭州西湖区文三路营业部】"),
    ]:
        api.post(f"/api/v1/shipments/{number}/events",
                 json={"time": time, "status": status, "location": location, "description": description})
    sender_id = f"web-{shipment['recipient']['phone']}"
    api.post("/api/v1/customers", json={"phone": shipment["recipient"]["phone"],
                                        "bindings": [{"channel": "rest", "external_id": sender_id}]})
    return {**shipment, "sender_id": sender_id}


def run(tracker) -> tuple[dict, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = ActionTrackParcel().run(dispatcher, tracker, {})
    return slots_of(events), dispatcher


def test_bound_user_is_answered_without_being_asked(parcel):
    slots, dispatcher = run(make_tracker(parcel["sender_id"], "我的快递到哪了"))
    assert slots["tracking_outcome"] == "answered"
    assert slots["tracking_number"] == parcel["tracking_number"]
    assert slots["shipment_status"] == "at_outlet"
    assert slots["last_scan_time"] == "11月24日 18:00"
    assert slots["last_scan_location"] == "杭州西湖区文三路营业部"
    assert slots["carrier_name"] == "顺丰速运"
    assert dispatcher.messages == []


def test_bound_user_on_the_shell_is_recognised_as_rest(parcel):
    slots, _ = run(make_tracker(parcel["sender_id"], "到哪了", channel="cmdline"))
    assert slots["tracking_outcome"] == "answered"


def test_unbound_user_without_number_is_asked_for_it():
    slots, _ = run(make_tracker("anonymous-1", "我的快递到哪了"))
    assert slots["tracking_outcome"] == "need_number"


def test_unbound_user_must_give_the_phone_tail_before_any_detail(parcel):
    number = parcel["tracking_number"]
    slots, _ = run(make_tracker("anonymous-2", f"查一下{number}"))
    assert slots == {"customer_id": None, "tracking_number": number, "tracking_outcome": "need_tail"}


def test_number_found_in_text_without_entity(parcel):
    number = parcel["tracking_number"]
    slots, _ = run(make_tracker("anonymous-3", f"单号{number}到哪了", entities=[]))
    assert slots["tracking_outcome"] == "need_tail"


def test_right_phone_tail_shows_the_parcel(parcel):
    tail = parcel["recipient"]["phone"][-4:]
    tracker = make_tracker("anonymous-4", tail, intent="inform",
                           slots={"tracking_number": parcel["tracking_number"], "tracking_outcome": "need_tail"})
    slots, _ = run(tracker)
    assert slots["tracking_outcome"] == "answered"
    assert slots["shipment_status"] == "at_outlet"


def test_wrong_phone_tail_shows_nothing(parcel):
    wrong = "0000" if not parcel["recipient"]["phone"].endswith("0000") else "1111"
    tracker = make_tracker("anonymous-5", f"尾号{wrong}", intent="inform",
                           entities=[{"entity": "phone_tail", "value": wrong}],
                           slots={"tracking_number": parcel["tracking_number"], "tracking_outcome": "need_tail"})
    slots, _ = run(tracker)
    assert slots["tracking_outcome"] == "wrong_tail"
    assert "last_scan_location" not in slots and "shipment_status" not in slots


def test_unknown_number_is_said_plainly():
    slots, _ = run(make_tracker("anonymous-6", "JD0099999999999到哪了",
                                entities=[{"entity": "tracking_number", "value": "JD0099999999999"}]))
    assert slots["tracking_outcome"] == "not_found"


def test_bound_user_asking_about_someone_elses_number_gets_the_phone_check(parcel, api):
    phone = unique_phone()
    api.post("/api/v1/customers", json={"phone": phone, "bindings": [{"channel": "rest", "external_id": "other"}]})
    slots, _ = run(make_tracker("other", f"帮我查{parcel['tracking_number']}"))
    assert slots["tracking_outcome"] == "need_tail"


def test_backend_down_is_reported_not_raised():
    backend.reset_client(BackendClient(ActionSettings(backend_url="http://127.0.0.1:9", api_token="x",
                                                      connect_timeout=0.2, read_timeout=0.2, retries=0)))
    slots, _ = run(make_tracker("anyone", "我的快递到哪了"))
    assert slots == {"tracking_outcome": "unavailable"}
