"""Web chat operations that cross domains: find the ticket a conversation's photo belongs to."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics.tickets.enums import OPEN_STATUSES, TicketType
from logistics.tickets.models import Evidence, Ticket

# The processes whose handlers ask the user for photos (damage, loss, outlet checks, fresh-food claims).
EVIDENCE_TYPES = (TicketType.CLAIM, TicketType.LOST_INVESTIGATION, TicketType.OUTLET_VERIFICATION,
                  TicketType.FRESH_PRIORITY_CLAIM)


def ticket_wanting_evidence(*, session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's newest open ticket of a type that takes photos."""
    query = (select(Ticket)
             .where(Ticket.conversation_id == conversation_id,
                    Ticket.type.in_([t.value for t in EVIDENCE_TYPES]),
                    Ticket.status.in_([s.value for s in OPEN_STATUSES]))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def evidence_of_conversation(*, session: Session, conversation_id: str, evidence_id: int) -> Evidence | None:
    """A photo, only when it belongs to a ticket of this conversation."""
    item = session.get(Evidence, evidence_id)
    if item is None or item.ticket.conversation_id != conversation_id:
        return None
    return item
