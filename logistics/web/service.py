"""Web chat operations that cross domains: find the ticket a conversation's photo belongs to."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics.customers import service as customers
from logistics.tickets import service as tickets
from logistics.tickets.enums import OPEN_STATUSES, TicketStatus, TicketType
from logistics.tickets.models import Evidence, Ticket

# The processes whose handlers ask the user for photos (damage, loss, outlet checks, fresh-food claims).
EVIDENCE_TYPES = (TicketType.CLAIM, TicketType.LOST_INVESTIGATION, TicketType.OUTLET_VERIFICATION,
                  TicketType.FRESH_PRIORITY_CLAIM)


def ticket_wanting_evidence(*, session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's newest open ticket of a type that takes photos; else, for a logged-in browser, its
    customer's (a claim opened yesterday in another conversation is still the one the photos are for)."""
    query = (select(Ticket)
             .where(tickets.of_conversation(conversation_id),
                    Ticket.type.in_([t.value for t in EVIDENCE_TYPES]),
                    Ticket.status.in_([s.value for s in OPEN_STATUSES]))
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    ticket = session.execute(query).scalar_one_or_none()
    if ticket is not None:
        return ticket
    customer = customers.get_by_binding(session=session, channel="socketio", external_id=conversation_id)
    if customer is None:
        return None
    wanted = {t.value for t in EVIDENCE_TYPES}
    found = tickets.list_for(session=session, customer_id=customer.id, status=TicketStatus.OPEN.value)
    return next((t for t in found if t.type in wanted), None)


def evidence_of_conversation(*, session: Session, conversation_id: str, evidence_id: int) -> Evidence | None:
    """A photo, only for the conversation its ticket belongs to or the customer logged in on this browser."""
    item = session.get(Evidence, evidence_id)
    if item is None:
        return None
    if item.ticket.conversation_id == conversation_id:
        return item
    customer = customers.get_by_binding(session=session, channel="socketio", external_id=conversation_id)
    if customer is None:
        return None
    owned = {t.id for t in tickets.list_for(session=session, customer_id=customer.id)}
    return item if item.ticket_id in owned else None
