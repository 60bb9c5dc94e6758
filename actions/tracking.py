"""Tracking: find the user's parcel (binding, choice, number + phone check) and set the slots the answer uses."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.focus import SWITCH_WORDS, hint_slots, narrower, pick_by_problem, pick_by_words
from actions.formatting import clock_phrase, duration_phrase, mask_number, scan_time
from actions.identity import binding_channel, proof
from actions.problems import PROBLEM_INTENTS
from logistics.shipments.tracking_numbers import find_in_text

MAX_CHOICES = 4
TAIL_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
# Statuses whose scans tell where the parcel physically waits; the hub notice explains the wait there.
HOLD_KINDS = {"weather", "volume", "equipment", "staffing", "customs"}
AT_FACILITY = {"arrived_hub", "departed_hub", "in_transit", "picked_up", "at_outlet"}


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def number_in_message(tracker: Tracker) -> Optional[str]:
    """A tracking number in this message: the entity, else a pattern match in the text."""
    found = _entity(tracker, "tracking_number") or next(iter(find_in_text(_text(tracker))), None)
    return found.upper() if found else None


def offered_tail(tracker: Tracker) -> Optional[str]:
    """A phone tail in this message: the entity or a whole phone, or bare 4 digits when we had asked for one."""
    tail = _entity(tracker, "phone_tail") or _entity(tracker, "phone_number")
    if tail and len(re.sub(r"\D", "", tail)) >= 4:
        return re.sub(r"\D", "", tail)[-4:]
    if tracker.get_slot("tracking_outcome") in ("need_tail", "wrong_tail"):
        match = TAIL_IN_TEXT.search(_text(tracker))
        if match:
            return match.group(1)
    return None


def _hold_kind(incident: Optional[Dict[str, Any]]) -> str:
    """The incident kinds the domain has a worded reason for; anything else quotes the notice itself."""
    if not incident:
        return ""
    kind = incident.get("kind") or ""
    return kind if kind in HOLD_KINDS else "other"


def answer_slots(shipment: Dict[str, Any]) -> List[EventType]:
    """Everything the tracking answer is rendered from; 'shipment_situation' picks the response variation."""
    events = shipment.get("events") or []
    last = events[0] if events else (shipment.get("last_event") or {})
    eta = shipment.get("eta") or {}
    next_step = eta.get("next_step") or {}
    delivery = eta.get("delivery") or {}
    incident = shipment.get("incident") or eta.get("incident")
    courier = shipment.get("courier") or {}
    facility = last.get("facility") or {}
    status = shipment["status"]
    situation = status
    if incident and status in AT_FACILITY:
        situation = "held_incident"
    elif status == "delivered" and any(w in (last.get("description") or "") for w in ("代签", "代收", "门卫", "前台")):
        situation = "delivered_proxy"
    waited = ""
    if last.get("time"):
        hours = (datetime.now(timezone.utc) - datetime.fromisoformat(last["time"])).total_seconds() / 3600
        waited = duration_phrase(max(hours, 0))
    return [
        SlotSet("tracking_outcome", "answered"),
        SlotSet("tracking_number", shipment["tracking_number"]),
        SlotSet("shipment_status", status),
        SlotSet("shipment_situation", situation),
        SlotSet("status_label", shipment.get("status_label") or status),
        SlotSet("carrier_name", shipment.get("carrier_name") or shipment["carrier"]),
        SlotSet("goods_description", shipment.get("goods_description") or ""),
        SlotSet("parcel_goods_type", shipment.get("goods_type") or None),
        SlotSet("origin", shipment.get("origin") or ""),
        SlotSet("destination", shipment.get("destination") or ""),
        SlotSet("last_scan_time", scan_time(last.get("time"))),
        SlotSet("last_scan_location", facility.get("name") or last.get("location") or ""),
        SlotSet("last_scan_description", _description(last, shipment)),
        SlotSet("waited", waited),
        SlotSet("facility_phone", facility.get("phone") or ""),
        SlotSet("hold_reason", (incident or {}).get("summary") or ""),
        SlotSet("hold_kind", _hold_kind(incident)),
        SlotSet("next_stop", next_step.get("facility") or shipment.get("destination") or ""),
        SlotSet("eta_next", clock_phrase(next_step.get("expected_at"))),
        SlotSet("eta_delivery", clock_phrase(delivery.get("expected_at"))),
        SlotSet("courier_phone", courier.get("phone") or ""),
        SlotSet("courier_name", courier.get("name") or ""),
    ]


def _description(last: Dict[str, Any], shipment: Dict[str, Any]) -> str:
    """The scan's own words, unless they only repeat the status (「已签收：已签收」)."""
    description = (last.get("description") or "").strip("。 ")
    for label in {shipment.get("status_label") or "", last.get("status_label") or ""} - {""}:
        if description.startswith(label):
            description = description[len(label):].lstrip("，,：:。 ")
    return description


def choice_slots(shipments: List[Dict[str, Any]]) -> List[EventType]:
    """Slots the 'which parcel?' buttons are rendered from (at most MAX_CHOICES)."""
    shown = shipments[:MAX_CHOICES]
    events: List[EventType] = [
        SlotSet("tracking_outcome", "choose"),
        SlotSet("choice_count", str(len(shown))),
        SlotSet("shipment_choices", [s["tracking_number"] for s in shown]),
    ] + [SlotSet(name, value) for name, value in hint_slots(shown).items()]
    for index in range(MAX_CHOICES):
        shipment = shown[index] if index < len(shown) else None
        title = ""
        if shipment is not None:
            goods = shipment.get("goods_description") or ""
            title = " ".join(p for p in (shipment.get("carrier_name") or shipment["carrier"],
                                         mask_number(shipment["tracking_number"]), goods,
                                         f"{shipment.get('origin')}→{shipment.get('destination')}",
                                         shipment.get("status_label") or "") if p)
        events.append(SlotSet(f"choice_{index + 1}_title", title))
        events.append(SlotSet(f"choice_{index + 1}_number", shipment["tracking_number"] if shipment else None))
    return events


class ActionTrackParcel(Action):
    def name(self) -> str:
        return "action_track_parcel"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        try:
            return self.lookup(tracker)
        except BackendError as exc:
            if exc.kind == BackendError.UNAVAILABLE:
                return [SlotSet("tracking_outcome", "unavailable")]
            raise

    def lookup(self, tracker: Tracker) -> List[EventType]:
        events = self.identify(tracker)
        # A problem reported before the parcel was identified is handled once it is (action_handle_problem).
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        problem = intent if intent in PROBLEM_INTENTS else tracker.get_slot("pending_problem")
        if problem:
            events.append(SlotSet("pending_problem", problem))
            answered = SlotSet("tracking_outcome", "answered")
            events = [SlotSet("tracking_outcome", "problem") if e == answered else e for e in events]
        return events

    def identify(self, tracker: Tracker) -> List[EventType]:
        client = backend.client()
        customer = client.customer_by_binding(binding_channel(tracker), tracker.sender_id)
        events: List[EventType] = [SlotSet("customer_id", customer["id"] if customer else None)]
        number = number_in_message(tracker) or self.number_from_context(tracker, customer)
        if isinstance(number, list):
            return events + choice_slots(number)
        if number is None:
            return events + [SlotSet("tracking_outcome", "need_number")]

        if customer is not None:
            try:
                return events + answer_slots(client.shipment(number, **proof(tracker, customer["id"])))
            except BackendError as exc:
                if exc.kind == BackendError.NOT_FOUND:
                    return events + [SlotSet("tracking_number", number), SlotSet("tracking_outcome", "not_found")]
                if exc.kind != BackendError.FORBIDDEN:
                    raise
                # Not theirs by phone: the phone-tail check, as for anyone else.
        return events + self.check_tail(tracker, client, number)

    def number_from_context(self, tracker: Tracker, customer: Optional[dict]):
        """The number this turn refers to without typing it: a parcel named in the user's words, the parcel the
        problem points at, the parcel already in focus, or the customer's only parcel (actions/focus.py).

        Returns a number, a list of shipments still to choose from, or None."""
        text = _text(tracker)
        current = tracker.get_slot("tracking_number")
        choices = tracker.get_slot("shipment_choices") or []
        own = (customer or {}).get("shipments", [])
        if any(w in text for w in SWITCH_WORDS):
            known = choices or [s["tracking_number"] for s in own]
            others = [n for n in known if n != current]
            if len(others) == 1:
                return others[0]
            if others:
                return [s for s in own if s["tracking_number"] in others] or None
        if customer is None:
            return current
        choosing = tracker.get_slot("tracking_outcome") == "choose" and choices
        by_number = {s["tracking_number"]: s for s in own}
        pool = [by_number[n] for n in choices if n in by_number] if choosing else own
        named = pick_by_words(tracker, pool)
        if len(named) == 1 and (choosing or narrower(named, pool)):
            return named[0]["tracking_number"]
        if narrower(named, pool):
            if current in {s["tracking_number"] for s in named}:
                return current
            pool = named
        elif current and not choosing:
            return current  # the parcel in focus until the user names another
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        problem = intent if intent in PROBLEM_INTENTS else tracker.get_slot("pending_problem")
        fitting = pick_by_problem(problem, text, pool)
        if narrower(fitting, pool):
            pool = fitting
        elif not choosing and not narrower(named, own):
            active = [s for s in pool if s.get("active")]
            pool = active or pool[:1]
        if not pool:
            return current
        if len(pool) == 1:
            return pool[0]["tracking_number"]
        return pool

    def check_tail(self, tracker: Tracker, client, number: str) -> List[EventType]:
        """Nothing about the parcel before a sender's or recipient's phone tail matches; 3 misses lock it."""
        tail = offered_tail(tracker)
        if tail is None and tracker.get_slot("verified_number") == number:
            tail = tracker.get_slot("phone_tail")
        base = [SlotSet("tracking_number", number)]
        if tail is None:
            known = client.recognize(number)
            if not known["known"]:
                return base + [SlotSet("tracking_outcome", "not_found")]
            return base + [SlotSet("tracking_outcome", "need_tail")]
        try:
            shipment = client.shipment(number, phone_tail=tail, **{**proof(tracker), "customer_id": None})
        except BackendError as exc:
            if exc.kind == BackendError.FORBIDDEN:
                left = exc.details.get("attempts_left", 0)
                if left <= 0:
                    minutes = max(1, round(exc.details.get("retry_after_seconds", 600) / 60))
                    return base + [SlotSet("phone_tail", None), SlotSet("lock_minutes", str(minutes)),
                                   SlotSet("tracking_outcome", "locked")]
                return base + [SlotSet("phone_tail", None), SlotSet("tail_attempts_left", str(left)),
                               SlotSet("tracking_outcome", "wrong_tail")]
            if exc.kind == BackendError.LOCKED:
                minutes = max(1, round(exc.details.get("retry_after_seconds", 600) / 60))
                return base + [SlotSet("lock_minutes", str(minutes)), SlotSet("tracking_outcome", "locked")]
            if exc.kind == BackendError.NOT_FOUND:
                return base + [SlotSet("tracking_outcome", "not_found")]
            raise
        return [SlotSet("phone_tail", tail), SlotSet("verified_number", number)] + answer_slots(shipment)


class ActionShowTimeline(Action):
    """Sends the trajectory as structured data for channels that draw it (the web widget)."""

    def name(self) -> str:
        return "action_show_timeline"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        # The web widget draws it; the WeChat channel writes it out as lines (addons/wechat/render.py).
        if tracker.get_latest_input_channel() not in ("socketio", "wechat") or not tracker.get_slot("tracking_number"):
            return []
        number = tracker.get_slot("tracking_number")
        try:
            # The backend decides: this conversation's binding or its earlier matching tail, nothing else.
            shipment = backend.client().shipment(number, **proof(tracker))
        except BackendError:
            return []
        # Rasa's socket.io channel emits a custom payload as sio.emit(event, **payload): only {"data": ...}
        # reaches the browser (any other key is a TypeError in emit and the reply is lost).
        dispatcher.utter_message(json_message={"data": timeline_payload(shipment)})
        return []


def timeline_payload(shipment: Dict[str, Any]) -> Dict[str, Any]:
    """The trajectory for a widget to draw: newest first, times as ISO 8601 with offset."""
    return {
        "type": "timeline",
        "tracking_number": shipment["tracking_number"],
        "carrier": shipment["carrier"],
        "carrier_name": shipment.get("carrier_name"),
        "status": shipment["status"],
        "status_label": shipment.get("status_label"),
        "eta": shipment.get("eta"),
        "events": [
            {k: e.get(k) for k in ("time", "status", "status_label", "location", "description")}
            for e in shipment.get("events", [])
        ],
    }
