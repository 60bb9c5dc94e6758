"""Empathy first: before acting on a problem, read how the user feels (actions/emotion.py) and, when they are
angry or the matter is urgent, let the rules put a scene-fitted word of empathy and an offer of a human first."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emotion import ANGRY, UPSET, detect
from actions.problems import PROBLEM_INTENTS

# The same problem raised this many times in one conversation: an apology for making them ask again (not for
# anger they never showed).
REPEATS_MEAN_REPEATED = 3
# What the goods of the parcel in focus make the user worry about, when their words name no scene.
REPEATABLE = tuple(i for i in PROBLEM_INTENTS if i != "add_info")
GOODS_SCENES = {"fresh": "fresh", "international": "international", "fragile": "fragile", "document": "document"}


def user_texts(tracker: Tracker) -> List[str]:
    return [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]


def problem_repeats(tracker: Tracker) -> int:
    """How many of the user's messages raised a problem (urge, lost, complaint...)."""
    return sum(1 for e in tracker.events if e.get("event") == "user"
               and ((e.get("parse_data") or {}).get("intent") or {}).get("name") in REPEATABLE)


def recently_comforted(tracker: Tracker, turns: int = 4) -> bool:
    """Whether the empathy opener was said within the user's last few turns (it is said once, not every turn)."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users > turns:
                return False
        elif event.get("event") == "action" and event.get("name") in ("utter_empathy_first", "utter_empathy_repeated"):
            return True
    return False


def emotion_level(tracker: Tracker) -> tuple[str, str | None]:
    """angry, urgent, repeated, upset or calm; and the scene for the wording: what this message is about (the
    latest words first, then the goods of the parcel in focus), not a parcel talked about earlier."""
    texts = user_texts(tracker)
    emotion = detect(texts)
    scene = detect(texts[-1:]).scene or GOODS_SCENES.get(tracker.get_slot("parcel_goods_type") or "") \
        or emotion.scene
    if emotion.scene == "medicine":
        scene = "medicine"
    if emotion.level == ANGRY and not (recently_comforted(tracker) and detect(texts[-1:]).level != ANGRY):
        return "angry", scene
    if emotion.urgent and not recently_comforted(tracker):
        return "urgent", scene
    # Asked again, in words that say so (还没, 一直, 到底…), after the same kind of problem twice before.
    if problem_repeats(tracker) >= REPEATS_MEAN_REPEATED and detect(texts[-1:]).level == UPSET:
        return "repeated", scene
    return emotion.level, scene


class ActionReadEmotion(Action):
    def name(self) -> str:
        return "action_read_emotion"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        level, scene = emotion_level(tracker)
        return [SlotSet("emotion_scene", scene or "none"), SlotSet("emotion_level", level)]
