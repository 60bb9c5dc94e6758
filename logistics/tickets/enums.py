"""Ticket types, statuses and the service-level deadline each type promises."""
from __future__ import annotations

from datetime import timedelta
from enum import Enum

from logistics.tickets.complaints import COMPLAINT_CODES


class TicketType(str, Enum):
    URGE = "urge"
    OUTLET_VERIFICATION = "outlet_verification"
    LOST_INVESTIGATION = "lost_investigation"
    CLAIM = "claim"
    FRESH_PRIORITY_CLAIM = "fresh_priority_claim"
    ADDRESS_CHANGE = "address_change"
    COMPLAINT = "complaint"
    HANDOFF = "handoff"
    OPS_ALERT = "ops_alert"
    # An agent calls the user back: the wait for a human expired with nobody free (the user's contact is known).
    CALLBACK = "callback"


class TicketStatus(str, Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER})

# The promise the assistant reads out to the user ("30 分钟内回电"), so it must match operations' SLA.
SLA = {
    TicketType.URGE: timedelta(minutes=30),
    TicketType.OUTLET_VERIFICATION: timedelta(hours=2),
    TicketType.LOST_INVESTIGATION: timedelta(hours=48),
    TicketType.CLAIM: timedelta(hours=72),
    TicketType.FRESH_PRIORITY_CLAIM: timedelta(hours=1),
    TicketType.ADDRESS_CHANGE: timedelta(hours=2),
    TicketType.COMPLAINT: timedelta(hours=24),
    TicketType.HANDOFF: timedelta(minutes=10),
    TicketType.OPS_ALERT: timedelta(hours=4),
    TicketType.CALLBACK: timedelta(hours=2),
}

# Claim-like tickets carry the compensation terms (cap, review and payout dates) computed when they are created.
CLAIM_TYPES = frozenset({TicketType.CLAIM, TicketType.FRESH_PRIORITY_CLAIM, TicketType.LOST_INVESTIGATION})

# What a delivery-service complaint is about; analytics count spikes per category and area.
COMPLAINT_CATEGORIES = COMPLAINT_CODES  # DESIGN codes, labels in complaints.py

# The life of a ticket, in order. Moving forward may skip steps (an outlet can resolve an urge at once); moving back
# is allowed only where work resumes: the customer answered, or a resolved/closed ticket is reopened.
STATUS_ORDER = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED,
                TicketStatus.CLOSED)
BACKWARD_ALLOWED = frozenset({
    (TicketStatus.WAITING_CUSTOMER, TicketStatus.IN_PROGRESS),
    (TicketStatus.RESOLVED, TicketStatus.IN_PROGRESS),
    (TicketStatus.CLOSED, TicketStatus.IN_PROGRESS),
})


def can_transition(current: TicketStatus, new: TicketStatus) -> bool:
    """Whether a ticket may move from `current` to `new` (a different status)."""
    if STATUS_ORDER.index(new) > STATUS_ORDER.index(current):
        return True
    return (current, new) in BACKWARD_ALLOWED


def allowed_next(current: TicketStatus) -> list[str]:
    """The statuses a ticket may move to next, for error messages and the agent console."""
    return [s.value for s in STATUS_ORDER if s != current and can_transition(current, s)]


# The names outlets and agents use for these processes (data shown in lists, like carriers' status names).
TYPE_LABEL = {
    TicketType.URGE: "催派",
    TicketType.OUTLET_VERIFICATION: "网点核实",
    TicketType.LOST_INVESTIGATION: "丢件调查",
    TicketType.CLAIM: "理赔",
    TicketType.FRESH_PRIORITY_CLAIM: "生鲜优先理赔",
    TicketType.ADDRESS_CHANGE: "改址",
    TicketType.COMPLAINT: "投诉",
    TicketType.HANDOFF: "人工服务",
    TicketType.OPS_ALERT: "运营预警",
    TicketType.CALLBACK: "客服回电",
}
STATUS_LABEL = {
    TicketStatus.OPEN: "已受理",
    TicketStatus.IN_PROGRESS: "处理中",
    TicketStatus.WAITING_CUSTOMER: "等您补充",
    TicketStatus.RESOLVED: "已解决",
    TicketStatus.CLOSED: "已关闭",
}
