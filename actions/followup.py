"""A process under way is followed up, not restarted: questions about it (怎么赔, 多久, 谁联系我, 要我做什么) are
answered from the conversation's open tickets, supplements (电梯, 门卫, 下午在家, 另一个电话, 保价…) are added to
them as notes in the user's words, and the same problem reported again reports the ticket already open."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.backend import BackendClient
from actions.formatting import clock_phrase, mask_phones

OPEN = {"open", "in_progress", "waiting_customer"}
# The processes a reported problem starts: reported again while one is open, it is followed up instead.
PROCESSES = {
    "file_claim": ("fresh_priority_claim", "claim", "lost_investigation"),
    "claim_status": ("fresh_priority_claim", "claim", "lost_investigation"),
    "report_lost": ("lost_investigation",),
    "report_damaged": ("claim", "fresh_priority_claim"),
    "report_delay": ("fresh_priority_claim",),
    "signed_not_received": ("outlet_verification",),
    "complain_delivery_service": ("complaint",),
}
# Which open process a general follow-up ("那怎么办", "多久有结果") is about first.
FOLLOWUP_ORDER = ("fresh_priority_claim", "claim", "lost_investigation", "outlet_verification", "urge",
                  "complaint", "address_change")
# A delivery wish with no case open yet goes to the outlet as a delivery instruction.
DELIVERY_WISH = re.compile(r"门卫|前台|快递柜|丰巢|驿站|放门口|放家门口|打电话|打我电话|先联系|电梯|几楼|楼层|"
                           r"在家|不在家|上班|下班|晚上|下午|上午|中午|周末|公司|送上楼|别放|不要放")
BEFORE_DELIVERY = {"created", "picked_up", "in_transit", "arrived_hub", "departed_hub", "at_outlet",
                   "out_for_delivery", "customs_pending", "customs_processing", "customs_cleared"}
MAX_QUOTE = 60


def open_tickets(tracker: Tracker, client: BackendClient, number: Optional[str] = None) -> List[Dict[str, Any]]:
    """This conversation's open tickets (its own and those it shares), for one parcel when given; newest first."""
    tickets = [t for t in client.tickets(conversation_id=tracker.sender_id)
               if t["status"] in OPEN and t["type"] != "handoff"]
    if number:
        tickets = [t for t in tickets if t.get("tracking_number") == number]
    return sorted(tickets, key=lambda t: t["created_at"], reverse=True)


def existing_process(problem: str, tickets: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The open ticket a reported problem already started, if any."""
    for type_ in PROCESSES.get(problem, ()):
        for ticket in tickets:
            if ticket["type"] == type_:
                return ticket
    return None


def most_relevant(tickets: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    for type_ in FOLLOWUP_ORDER:
        for ticket in tickets:
            if ticket["type"] == type_:
                return ticket
    return tickets[0] if tickets else None


def _due(ticket: Dict[str, Any]) -> str:
    """The time the first answer promised: the SLA (a callback, an investigation's result); for a plain claim
    its review date."""
    claim = (ticket.get("details") or {}).get("claim") or {}
    review = claim.get("review_due_at") if ticket["type"] == "claim" else None
    return clock_phrase(review or ticket.get("sla_due_at"))


def followup_slots(ticket: Dict[str, Any]) -> List[EventType]:
    return [
        SlotSet("followup_type", ticket["type"]),
        SlotSet("followup_ref", f"T{ticket['id']}"),
        SlotSet("followup_process", ticket.get("type_label") or ticket["type"]),
        SlotSet("followup_status", ticket.get("status_label") or ticket["status"]),
        SlotSet("followup_due", _due(ticket)),
    ]


def quote(text: str) -> str:
    """The user's words as the bot quotes them back: phone numbers masked, trimmed, no trailing punctuation."""
    words = mask_phones(text).strip().strip("。，！？,.!? ")
    return words if len(words) <= MAX_QUOTE else words[:MAX_QUOTE] + "…"


def add_note(client: BackendClient, ticket: Dict[str, Any], text: str) -> None:
    """The user's words on the ticket, once (a retried message adds nothing)."""
    # The backend ignores the same note from the same actor again (a retried message adds nothing).
    client.update_ticket(ticket["id"], note=f"用户补充：{text.strip()[:500]}", actor="assistant")


def refs_phrase(tickets: List[Dict[str, Any]]) -> str:
    return "、".join(f"{t.get('type_label') or t['type']}单 T{t['id']}" for t in tickets[:3])


def is_delivery_wish(text: str) -> bool:
    return bool(DELIVERY_WISH.search(text))
