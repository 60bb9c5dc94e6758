"""Who is talking: the channel binding of the conversation, as the backend knows it."""
from __future__ import annotations

from typing import Any, Dict, Optional

from rasa_sdk import Tracker

# rasa shell speaks through the cmdline channel, a local REST channel; bindings know it as rest.
CHANNEL_ALIASES = {"cmdline": "rest", "rest": "rest", "socketio": "socketio", "wechat": "wechat"}


def binding_channel(tracker: Tracker) -> str:
    """The binding channel of the conversation's latest input channel (rest when unknown)."""
    return CHANNEL_ALIASES.get(tracker.get_latest_input_channel() or "rest", "rest")


def client_address(tracker: Tracker) -> Optional[str]:
    """The client address the channel saw for the latest message (metadata), when it gives one."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            address = metadata.get("client_address") if isinstance(metadata, dict) else None
            return str(address)[:64] if address else None
    return None


def proof(tracker: Tracker, customer_id: Optional[int] = None) -> Dict[str, Any]:
    """Who asks, for the backend to check against what this conversation proved: the conversation and its
    channel (bindings and earlier matching tails are looked up there), never a slot's word alone."""
    found: Dict[str, Any] = {"conversation_id": tracker.sender_id, "channel": binding_channel(tracker)}
    customer_id = customer_id or tracker.get_slot("customer_id")
    if customer_id:
        found["customer_id"] = int(customer_id)
    address = client_address(tracker)
    if address:
        found["client_address"] = address
    return found
