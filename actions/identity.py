"""Who is talking: the channel binding of the conversation, as the backend knows it."""
from __future__ import annotations

from rasa_sdk import Tracker

# rasa shell speaks through the cmdline channel, a local REST channel; bindings know it as rest.
CHANNEL_ALIASES = {"cmdline": "rest", "rest": "rest", "socketio": "socketio", "wechat": "wechat"}


def binding_channel(tracker: Tracker) -> str:
    """The binding channel of the conversation's latest input channel (rest when unknown)."""
    return CHANNEL_ALIASES.get(tracker.get_latest_input_channel() or "rest", "rest")
