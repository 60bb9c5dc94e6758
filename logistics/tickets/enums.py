"""Ticket types, statuses and the service-level deadline each type promises."""
from __future__ import annotations

from datetime import timedelta
from enum import Enum


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
}
