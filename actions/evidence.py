"""Photos sent from the website chat: confirm which ticket they were attached to and how many it now holds.

The widget uploads a photo to the backend first (POST /web/api/evidence attaches it to the conversation's
newest open ticket that takes photos) and then sends /send_photo. This action reads the ticket back and sets
the slots utter_evidence_* are rendered from; the wording lives in domain/evidence.yml.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.identity import binding_channel

# The same ticket types, and the same search order, as the backend's upload endpoint (logistics/web/service.py).
EVIDENCE_TYPES = ("claim", "fresh_priority_claim", "lost_investigation", "outlet_verification")
OPEN = ("open", "in_progress", "waiting_customer")


def hours_until(iso: Optional[str], now: Optional[datetime] = None) -> str:
    """Whole hours from now until `iso`, rounded up, at least 1; empty when unknown."""
    if not iso:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = (datetime.fromisoformat(iso) - now).total_seconds()
    return str(max(1, math.ceil(seconds / 3600)))


def wanting_evidence(tickets: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Open tickets of the types that take photos, in the order given (newest first)."""
    return [t for t in tickets if t["type"] in EVIDENCE_TYPES and t["status"] in OPEN]


def review_due(ticket: Dict[str, Any]) -> Optional[str]:
    """When the user hears back: a claim's review date, else the ticket's SLA."""
    claim = (ticket.get("details") or {}).get("claim") or {}
    return claim.get("review_due_at") or ticket.get("sla_due_at")


class ActionAcknowledgeEvidence(Action):
    def name(self) -> str:
        return "action_acknowledge_evidence"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        client = backend.client()
        try:
            tickets = wanting_evidence(client.tickets(conversation_id=tracker.sender_id))
            if not tickets:
                # A logged-in user's claim may come from another conversation (reported yesterday, say).
                customer = client.customer_by_binding(binding_channel(tracker), tracker.sender_id)
                if customer is not None:
                    tickets = wanting_evidence(client.tickets(customer_id=customer["id"]))
            if not tickets:
                return [SlotSet("evidence_outcome", "no_ticket")]
            # The list is newest first, as the upload endpoint picks the ticket.
            ticket = client.ticket(tickets[0]["id"])
        except BackendError:
            return [SlotSet("evidence_outcome", "unavailable")]
        if not ticket.get("evidence"):
            # "照片发你了" but nothing arrived: say so, and how to send one, instead of "共 0 张".
            return [SlotSet("evidence_ticket_type", ticket["type"]), SlotSet("evidence_ticket_ref", f"T{ticket['id']}"),
                    SlotSet("evidence_outcome", "no_photo_yet")]
        return [
            SlotSet("evidence_ticket_type", ticket["type"]),
            SlotSet("evidence_ticket_ref", f"T{ticket['id']}"),
            SlotSet("evidence_count", str(len(ticket.get("evidence") or []))),
            SlotSet("evidence_review_hours", hours_until(review_due(ticket))),
            SlotSet("evidence_outcome", "attached"),
        ]
