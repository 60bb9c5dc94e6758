"""Tracking: find the user's parcel from their binding or a number plus phone check, and report its last scan."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.formatting import scan_time
from actions.identity import binding_channel
from logistics.shipments.tracking_numbers import find_in_text

TAIL_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")


def _latest_entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


def requested_number(tracker: Tracker) -> Optional[str]:
    """The number in this message (entity, else pattern in the text), else the one already in the slot."""
    text = tracker.latest_message.get("text") or ""
    found = _latest_entity(tracker, "tracking_number") or next(iter(find_in_text(text)), None)
    return found or tracker.get_slot("tracking_number")


def offered_tail(tracker: Tracker) -> Optional[str]:
    """A phone tail in this message: the entity, or a bare 4-digit answer when we had asked for one."""
    tail = _latest_entity(tracker, "phone_tail") or _latest_entity(tracker, "phone_number")
    if tail:
        return tail[-4:]
    if tracker.get_slot("tracking_outcome") in ("need_tail", "wrong_tail"):
        match = TAIL_IN_TEXT.search(tracker.latest_message.get("text") or "")
        if match:
            return match.group(1)
    return None


def answer_slots(shipment: Dict[str, Any]) -> List[EventType]:
    """Slots the tracking answer is rendered from."""
    last = shipment.get("last_event") or (shipment.get("events") or [None])[0] or {}
    return [
        SlotSet("tracking_outcome", "answered"),
        SlotSet("tracking_number", shipment["tracking_number"]),
        SlotSet("shipment_status", shipment["status"]),
        SlotSet("carrier_name", shipment.get("carrier_name") or shipment["carrier"]),
        SlotSet("last_scan_time", scan_time(last.get("time"))),
        SlotSet("last_scan_location", last.get("location") or ""),
        SlotSet("last_scan_description", last.get("description") or ""),
    ]


class ActionTrackParcel(Action):
    def name(self) -> str:
        return "action_track_parcel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        try:
            return self._lookup(tracker)
        except BackendError as exc:
            if exc.kind == BackendError.UNAVAILABLE:
                return [SlotSet("tracking_outcome", "unavailable")]
            raise

    def _lookup(self, tracker: Tracker) -> List[EventType]:
        client = backend.client()
        customer = client.customer_by_binding(binding_channel(tracker), tracker.sender_id)
        customer_events: List[EventType] = [SlotSet("customer_id", customer["id"] if customer else None)]
        number = requested_number(tracker)

        if number is None:
            active = [s for s in (customer or {}).get("shipments", []) if s["active"]]
            if not active:
                return customer_events + [SlotSet("tracking_outcome", "need_number")]
            shipment = client.shipment(active[0]["tracking_number"], customer_id=customer["id"])
            return customer_events + answer_slots(shipment)

        if customer is not None:
            try:
                return customer_events + answer_slots(client.shipment(number, customer_id=customer["id"]))
            except BackendError as exc:
                if exc.kind == BackendError.NOT_FOUND:
                    return customer_events + [SlotSet("tracking_number", number),
                                              SlotSet("tracking_outcome", "not_found")]
                if exc.kind != BackendError.FORBIDDEN:
                    raise
                # Not theirs by phone: fall through to the phone-tail check like anyone else.

        tail = offered_tail(tracker)
        if tail is None:
            known = client.recognize(number)
            if not known["known"]:
                return customer_events + [SlotSet("tracking_number", number),
                                          SlotSet("tracking_outcome", "not_found")]
            return customer_events + [SlotSet("tracking_number", number), SlotSet("tracking_outcome", "need_tail")]
        try:
            shipment = client.shipment(number, phone_tail=tail)
        except BackendError as exc:
            if exc.kind == BackendError.FORBIDDEN:
                return customer_events + [SlotSet("tracking_number", number), SlotSet("phone_tail", None),
                                          SlotSet("tracking_outcome", "wrong_tail")]
            if exc.kind == BackendError.NOT_FOUND:
                return customer_events + [SlotSet("tracking_number", number),
                                          SlotSet("tracking_outcome", "not_found")]
            raise
        return customer_events + [SlotSet("phone_tail", tail)] + answer_slots(shipment)
