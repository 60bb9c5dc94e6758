"""Unclear messages: offer the likely intents as quick replies; after two misunderstandings, or to an angry user,
offer a human."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emotion import ANGRY, detect

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


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
        # An angry user is not quizzed about what they meant: a person takes over if they want.
        if detect(texts[-3:]).level == ANGRY:
            return [SlotSet("clarify_outcome", "offer_human_angry")]
        if misunderstanding_streak(tracker) >= 2:
            return [SlotSet("clarify_outcome", "offer_human")]
        return [SlotSet("clarify_outcome", "clarify"), SlotSet("clarify_top", top_candidate(tracker))]
