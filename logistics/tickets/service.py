"""Ticket operations: idempotent creation with an SLA deadline, lookups, and an audited history."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logistics.errors import bad_request, not_found
from logistics.shipments import service as shipment_service
from logistics.tickets.enums import SLA, TicketType
from logistics.tickets.models import Ticket, TicketEvent, TicketIn
from logistics.timeutil import to_iso, utcnow


def get(*, session: Session, ticket_id: int) -> Ticket | None:
    """Return a ticket by id."""
    return session.get(Ticket, ticket_id)


def get_by_key(*, session: Session, idempotency_key: str) -> Ticket | None:
    """Return the ticket an idempotency key created, if any."""
    return session.execute(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).scalar_one_or_none()


def log_event(*, session: Session, ticket: Ticket, kind: str, actor: str = "system", **data) -> TicketEvent:
    """Append a line to the ticket's history."""
    event = TicketEvent(ticket=ticket, kind=kind, actor=actor, data=data)
    session.add(event)
    return event


def create(*, session: Session, data: TicketIn, actor: str = "assistant") -> tuple[Ticket, bool]:
    """Create a ticket, or return the one the same idempotency key already created."""
    existing = get_by_key(session=session, idempotency_key=data.idempotency_key)
    if existing is not None:
        return existing, False
    shipment = None
    if data.tracking_number:
        shipment = shipment_service.require(session=session, tracking_number=data.tracking_number)
    now = utcnow()
    last = shipment_service.latest_event(shipment) if shipment is not None else None
    ticket = Ticket(
        type=data.type.value,
        tracking_number=shipment.tracking_number if shipment is not None else None,
        shipment_id=shipment.id if shipment is not None else None,
        facility_id=last.facility_id if last is not None else None,
        conversation_id=data.conversation_id,
        details=data.details,
        sla_due_at=now + SLA[TicketType(data.type)],
        idempotency_key=data.idempotency_key,
        created_at=now,
        updated_at=now,
    )
    # A savepoint keeps the outer transaction usable if a concurrent retry won the race for the key.
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:
        existing = get_by_key(session=session, idempotency_key=data.idempotency_key)
        if existing is None:
            raise
        return existing, False
    log_event(session=session, ticket=ticket, kind="created", actor=actor, type=ticket.type,
              sla_due_at=to_iso(ticket.sla_due_at))
    session.flush()
    return ticket, True


def list_for(*, session: Session, conversation_id: str | None = None,
             tracking_number: str | None = None) -> list[Ticket]:
    """Tickets of a conversation or of a shipment, newest first."""
    if not conversation_id and not tracking_number:
        raise bad_request("give conversation_id or tracking_number")
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if conversation_id:
        query = query.where(Ticket.conversation_id == conversation_id)
    if tracking_number:
        query = query.where(Ticket.tracking_number == shipment_service.tracking_numbers.normalize(tracking_number))
    return list(session.execute(query.limit(200)).scalars())


def require(*, session: Session, ticket_id: int) -> Ticket:
    """Return a ticket or raise a 404."""
    ticket = get(session=session, ticket_id=ticket_id)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    return ticket


def summary(ticket: Ticket) -> dict:
    """The fields a list of tickets shows."""
    return {
        "id": ticket.id,
        "type": ticket.type,
        "status": ticket.status,
        "tracking_number": ticket.tracking_number,
        "conversation_id": ticket.conversation_id,
        "sla_due_at": to_iso(ticket.sla_due_at),
        "created_at": to_iso(ticket.created_at),
    }


def detail(ticket: Ticket) -> dict:
    """The whole ticket: details, evidence metadata and history."""
    return {
        **summary(ticket),
        "details": ticket.details or {},
        "updated_at": to_iso(ticket.updated_at),
        "evidence": [
            {"id": e.id, "filename": e.filename, "content_type": e.content_type, "size": e.size,
             "sha256": e.sha256, "created_at": to_iso(e.created_at)}
            for e in ticket.evidence
        ],
        "history": [
            {"kind": h.kind, "actor": h.actor, "data": h.data, "created_at": to_iso(h.created_at)}
            for h in ticket.history
        ],
    }
