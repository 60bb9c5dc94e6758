"""'Tell me when it reaches the outlet': the watch is kept by the backend, which has the bot speak up on the
user's own channel when the scan comes in (action_notify_arrival, run through Rasa's execute API)."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.identity import proof
from actions.tracking import answer_slots


class ActionWatchArrival(Action):
    def name(self) -> str:
        return "action_watch_arrival"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        number = tracker.get_slot("tracking_number")
        if not number:
            return [SlotSet("watch_outcome", "no_parcel")]
        client = backend.client()
        try:
            watch = client.watch_arrival(number, **proof(tracker))
            if watch.get("already_arrived"):
                shipment = client.shipment(number, **proof(tracker))
                return answer_slots(shipment) + [SlotSet("watch_outcome", "arrived")]
        except BackendError as exc:
            if exc.kind == BackendError.UNAVAILABLE:
                return [SlotSet("watch_outcome", "unavailable")]
            return [SlotSet("watch_outcome", "no_parcel")]
        return [SlotSet("watched_number", number), SlotSet("watch_outcome", "watching")]


class ActionNotifyArrival(Action):
    """Run by the backend (Rasa execute API) when a watched parcel's scan puts it at the outlet."""

    def name(self) -> str:
        return "action_notify_arrival"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        number = tracker.get_slot("watched_number") or tracker.get_slot("tracking_number")
        if not number:
            return []
        try:
            shipment = backend.client().shipment(number, **proof(tracker))
        except BackendError:
            return []  # the backend will not tell twice; the user can still ask
        events = answer_slots(shipment)
        values = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        dispatcher.utter_message(response="utter_arrival_notice", **values)
        return [e for e in events if e["name"] != "tracking_outcome"] + [SlotSet("watched_number", None)]
