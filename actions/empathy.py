"""Empathy first: before acting on a problem, read how the user feels (actions/emotion.py) and, when they are
angry or the matter is urgent, let the rules put a scene-fitted word of empathy and an offer of a human first."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emotion import ANGRY, UPSET, detect
from actions.problems import PROBLEM_INTENTS

# The same problem raised this many times in one conversation counts as anger, whatever the words.
REPEATS_MEAN_ANGER = 3


def user_texts(tracker: Tracker) -> List[str]:
    return [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]


def problem_repeats(tracker: Tracker) -> int:
    """How many of the user's messages raised a problem (urge, lost, complaint...)."""
    return sum(1 for e in tracker.events if e.get("event") == "user"
               and ((e.get("parse_data") or {}).get("intent") or {}).get("name") in PROBLEM_INTENTS)


def emotion_level(tracker: Tracker) -> tuple[str, str | None]:
    """angry, urgent, upset or calm; and the scene (fresh, medicine, gift, international) for the wording."""
    emotion = detect(user_texts(tracker))
    if emotion.level == ANGRY or (emotion.level == UPSET and problem_repeats(tracker) >= REPEATS_MEAN_ANGER):
        return "angry", emotion.scene
    if emotion.urgent:
        return "urgent", emotion.scene
    return emotion.level, emotion.scene


class ActionReadEmotion(Action):
    def name(self) -> str:
        return "action_read_emotion"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        level, scene = emotion_level(tracker)
        return [SlotSet("emotion_scene", scene or "none"), SlotSet("emotion_level", level)]
