"""Unclear messages: the likely intent is offered first; two misunderstandings in a row offer a human."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarify


def tracker_with(intents: list[str], ranking: list[str] | None = None) -> Tracker:
    events = []
    for intent in intents:
        events.append({"event": "user", "text": "嗯嗯那个", "parse_data": {"intent": {"name": intent}}})
        events.append({"event": "action", "name": "action_listen"})
    latest = {"text": "嗯嗯那个", "intent": {"name": intents[-1]},
              "intent_ranking": [{"name": n, "confidence": 0.3} for n in (ranking or [])]}
    return Tracker("u1", {}, latest, events, False, None, {}, "action_listen")


def run(tracker):
    return {e["name"]: e["value"] for e in ActionClarify().run(CollectingDispatcher(), tracker, {})}


def test_first_misunderstanding_offers_the_top_candidate():
    slots = run(tracker_with(["track_parcel", "nlu_fallback"], ["nlu_fallback", "greet", "urge_delivery"]))
    assert slots == {"clarify_outcome": "clarify", "clarify_top": "urge_delivery"}


def test_second_misunderstanding_in_a_row_offers_a_human():
    slots = run(tracker_with(["nlu_fallback", "nlu_fallback"]))
    assert slots == {"clarify_outcome": "offer_human"}


def test_an_understood_message_in_between_resets_the_count():
    slots = run(tracker_with(["nlu_fallback", "track_parcel", "nlu_fallback"], ["report_lost"]))
    assert slots["clarify_outcome"] == "clarify" and slots["clarify_top"] == "report_lost"
