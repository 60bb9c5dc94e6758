"""Unclear messages: offer the likely intents as quick replies; after two misunderstandings, or to an angry user,
offer a human."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.emotion import ANGRY, detect
from actions.focus import pick_by_words
from actions.identity import binding_channel

FALLBACK = "nlu_fallback"
# Intents we can offer as a quick reply (the domain has a clarify variation for each).
OFFERABLE = {
    "track_parcel", "urge_delivery", "report_lost", "report_damaged", "report_delay", "signed_not_received",
    "customs_inquiry", "file_claim", "claim_status", "complain_delivery_service", "change_address",
    "check_ticket", "request_human",
}


def misunderstanding_streak(tracker: Tracker) -> int:
    """How many user messages in a row, ending with this one, the NLU could not place."""
    streak = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != FALLBACK:
            break
        streak += 1
    return streak


def top_candidate(tracker: Tracker) -> str:
    """The most likely offerable intent under the fallback (the ranking still holds the model's guesses)."""
    for entry in tracker.latest_message.get("intent_ranking") or []:
        if entry.get("name") in OFFERABLE:
            return entry["name"]
    return "track_parcel"


def picks_a_shown_parcel(tracker: Tracker) -> bool:
    """Whether, right after the parcel chooser, the message names exactly one of the parcels shown."""
    choices = tracker.get_slot("shipment_choices") or []
    if tracker.get_slot("tracking_outcome") != "choose" or len(choices) < 2:
        return False
    try:
        customer = backend.client().customer_by_binding(binding_channel(tracker), tracker.sender_id)
    except BackendError:
        return False
    by_number = {s["tracking_number"]: s for s in (customer or {}).get("shipments", [])}
    shown = [by_number[n] for n in choices if n in by_number]
    return len(shown) > 1 and len(pick_by_words(tracker, shown)) == 1


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        if picks_a_shown_parcel(tracker):
            # 「那个大闸蟹」 after the chooser is a choice, however the NLU read it: answer about that parcel.
            return [FollowupAction("action_track_parcel")]
        texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
        # An angry user is not quizzed about what they meant: a person takes over if they want.
        if detect(texts[-3:]).level == ANGRY:
            return [SlotSet("clarify_outcome", "offer_human_angry")]
        if misunderstanding_streak(tracker) >= 2:
            return [SlotSet("clarify_outcome", "offer_human")]
        return [SlotSet("clarify_outcome", "clarify"), SlotSet("clarify_top", top_candidate(tracker))]
