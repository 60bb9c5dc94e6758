"""Ticket operations: idempotent creation with an SLA deadline, updates, evidence, lookups, an audited history."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logistics import db
from logistics.customers.models import ChannelBinding, Customer
from logistics.errors import ApiError, bad_request, conflict, not_found
from logistics.shipments import service as shipment_service
from logistics.shipments.models import Shipment
from logistics.tickets import compensation, complaints
from logistics.tickets import evidence as evidence_rules
from logistics.tickets.enums import (
    CLAIM_TYPES,
    COMPLAINT_CATEGORIES,
    OPEN_STATUSES,
    SLA,
    STATUS_LABEL,
    TYPE_LABEL,
    TicketStatus,
    TicketType,
    allowed_next,
    can_transition,
)
from logistics.tickets.models import Evidence, Ticket, TicketConversation, TicketEvent, TicketIn, TicketPatch
from logistics.timeutil import to_iso, utcnow

# An SLA moved further than this is a typo (a year instead of a day), not a plan.
MAX_DUE_AHEAD = timedelta(days=366)
# The same note from the same actor within this window is a client's retry, not a second remark.
NOTE_RETRY_WINDOW = timedelta(minutes=10)


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
        link_conversation(session=session, ticket=existing, conversation_id=data.conversation_id, actor=actor)
        return existing, False
    shipment = None
    if data.tracking_number:
        shipment = shipment_service.require(session=session, tracking_number=data.tracking_number)
    now = utcnow()
    last = shipment_service.latest_event(shipment) if shipment is not None else None
    ticket_type = TicketType(data.type)
    sla_due_at = now + SLA[ticket_type]
    details = _server_details(ticket_type, dict(data.details), shipment, last, now, sla_due_at)
    ticket = Ticket(
        type=data.type.value,
        tracking_number=shipment.tracking_number if shipment is not None else None,
        shipment_id=shipment.id if shipment is not None else None,
        facility_id=last.facility_id if last is not None else None,
        customer_id=_customer_of(session, data.conversation_id),
        conversation_id=data.conversation_id,
        details=details,
        sla_due_at=sla_due_at,
        idempotency_key=data.idempotency_key,
        created_at=now,
        updated_at=now,
    )
    ticket, created = db.add_once(
        session, ticket, lambda: get_by_key(session=session, idempotency_key=data.idempotency_key))
    if not created:
        link_conversation(session=session, ticket=ticket, conversation_id=data.conversation_id, actor=actor)
        return ticket, False
    log_event(session=session, ticket=ticket, kind="created", actor=actor, type=ticket.type,
              sla_due_at=to_iso(ticket.sla_due_at))
    session.flush()
    # Tagged for operations analytics in the same transaction (category, place, route, carrier, channel...).
    from logistics.analytics import tagging

    tagging.record_ticket(session=session, ticket=ticket, shipment=shipment)
    return ticket, True


def _server_details(ticket_type: TicketType, details: dict, shipment, last_event, now, sla_due_at) -> dict:
    """Add what the server decides (claim terms, complaint place) and check what the client may decide."""
    if ticket_type in CLAIM_TYPES:
        # The claim terms are the system of record's promise: a client-sent "claim" never stands.
        details.pop("claim", None)
        if shipment is not None:
            details["claim"] = compensation.claim_fields(shipment, ticket_type, now, sla_due_at)
    if ticket_type == TicketType.COMPLAINT:
        category = complaints.canonical(details.get("category") or "other")
        if category is None:
            raise ApiError(422, "validation_error",
                           f"invalid request: details.category must be one of {', '.join(COMPLAINT_CATEGORIES)}",
                           [{"field": "details.category",
                             "message": f"must be one of {', '.join(COMPLAINT_CATEGORIES)}"}])
        details["category"] = category
        details["category_label"] = complaints.COMPLAINT_LABEL[category]
        facility = last_event.facility if last_event is not None else None
        if facility is not None:
            # Where the service failed is where the last scan was; analytics group complaints by it.
            details["area"] = facility.city
            details["outlet"] = {"code": facility.code, "name": facility.name, "kind": facility.kind}
        elif not isinstance(details.get("area"), str):
            details.pop("area", None)
    return details


def _customer_of(session: Session, conversation_id: str | None) -> int | None:
    """The customer a conversation (a channel identity) is bound to, when exactly one is."""
    if not conversation_id:
        return None
    ids = set(session.execute(
        select(ChannelBinding.customer_id).where(ChannelBinding.external_id == conversation_id)).scalars())
    return ids.pop() if len(ids) == 1 else None


def list_for(*, session: Session, conversation_id: str | None = None, tracking_number: str | None = None,
             customer_id: int | None = None, status: str | None = None, type: str | None = None) -> list[Ticket]:
    """Tickets matching every given filter, newest first; status "open" means any not yet resolved."""
    if not (conversation_id or tracking_number or customer_id is not None or status or type):
        raise bad_request("give conversation_id, tracking_number, customer_id, status or type")
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if conversation_id:
        query = query.where(of_conversation(conversation_id))
    if tracking_number:
        query = query.where(Ticket.tracking_number == shipment_service.tracking_numbers.normalize(tracking_number))
    if customer_id is not None:
        query = query.where(_of_customer(session, customer_id))
    if status:
        if status == TicketStatus.OPEN.value:
            query = query.where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
        elif status in {s.value for s in TicketStatus}:
            query = query.where(Ticket.status == status)
        else:
            raise bad_request(f"status must be one of {', '.join(s.value for s in TicketStatus)} "
                              "(open means open, in_progress or waiting_customer)")
    if type:
        if type not in {t.value for t in TicketType}:
            raise bad_request(f"type must be one of {', '.join(t.value for t in TicketType)}")
        query = query.where(Ticket.type == type)
    return list(session.execute(query.limit(200)).scalars())


def of_conversation(conversation_id: str):
    """Tickets a conversation may see: its own and those it shares (TicketConversation).

    One set of ids from two index lookups: `conversation_id = ? OR id IN (shared)` cannot use an index for the OR
    in PostgreSQL, so every turn that lists a conversation's tickets read the whole table (85 ms at 500,000
    tickets, 0.2 ms this way; README "Load")."""
    own = select(Ticket.id).where(Ticket.conversation_id == conversation_id)
    shared = select(TicketConversation.ticket_id).where(TicketConversation.conversation_id == conversation_id)
    return Ticket.id.in_(union(own, shared))


def link_conversation(*, session: Session, ticket: Ticket, conversation_id: str | None, actor: str) -> None:
    """Let another conversation that asked for the same process share the ticket (once)."""
    if not conversation_id or conversation_id == ticket.conversation_id:
        return
    exists = session.execute(select(TicketConversation.id).where(
        TicketConversation.ticket_id == ticket.id, TicketConversation.conversation_id == conversation_id)).first()
    if exists is None:
        session.add(TicketConversation(ticket_id=ticket.id, conversation_id=conversation_id))
        log_event(session=session, ticket=ticket, kind="linked", actor=actor, conversation_id=conversation_id)
        session.flush()


def _of_customer(session: Session, customer_id: int):
    """Tickets linked to a customer: bound to them, from their conversations, or about their parcels."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    conversations = select(ChannelBinding.external_id).where(ChannelBinding.customer_id == customer.id)
    shipments = select(Shipment.id).where(
        or_(Shipment.sender_phone == customer.phone, Shipment.recipient_phone == customer.phone))
    # A union of index lookups, not an OR over three columns (a scan of every ticket; see of_conversation).
    return Ticket.id.in_(union(
        select(Ticket.id).where(Ticket.customer_id == customer.id),
        select(Ticket.id).where(Ticket.conversation_id.in_(conversations)),
        select(Ticket.id).where(Ticket.shipment_id.in_(shipments))))


def update(*, session: Session, ticket_id: int, data: TicketPatch) -> Ticket:
    """Apply an agent's or outlet's changes after checking all of them; each change is one history line."""
    # The row lock (PostgreSQL) makes two agents' transitions apply one after the other, each checked.
    ticket = session.get(Ticket, ticket_id, with_for_update=True)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    now = utcnow()
    current = TicketStatus(ticket.status)
    new_status = data.status if data.status is not None and data.status != current else None
    if new_status is not None and not can_transition(current, new_status):
        raise _invalid("status", f"a {current.value} ticket cannot become {new_status.value}; "
                                 f"allowed: {', '.join(allowed_next(current))}")
    if data.sla_due_at is not None:
        if data.sla_due_at <= ticket.created_at:
            raise _invalid("sla_due_at", "sla_due_at must be after the ticket was created")
        if data.sla_due_at > now + MAX_DUE_AHEAD:
            raise _invalid("sla_due_at", "sla_due_at may be at most a year ahead")
    payout = data.payout_amount
    if payout is not None:
        if TicketType(ticket.type) not in CLAIM_TYPES:
            raise _invalid("payout_amount", f"a {ticket.type} ticket has no payout; only claim tickets do")
        cap = compensation.max_payout_of(ticket.details)
        if cap is not None and payout > Decimal(str(cap)):
            raise _invalid("payout_amount", f"payout_amount exceeds the liability cap of {cap:.2f} for this parcel")
        if ticket.payout_amount is not None and Decimal(ticket.payout_amount) == payout:
            payout = None  # a retried PATCH changes nothing and logs nothing

    actor = data.actor
    changed = False
    if new_status is not None:
        changed = True
        ticket.status = new_status.value
        log_event(session=session, ticket=ticket, kind="status_changed", actor=actor,
                  **{"from": current.value, "to": new_status.value})
    if data.sla_due_at is not None and data.sla_due_at != ticket.sla_due_at:
        changed = True
        log_event(session=session, ticket=ticket, kind="due_changed", actor=actor,
                  **{"from": to_iso(ticket.sla_due_at), "to": to_iso(data.sla_due_at)})
        ticket.sla_due_at = data.sla_due_at
    if payout is not None:
        changed = True
        previous = ticket.payout_amount
        ticket.payout_amount = payout
        details = dict(ticket.details or {})
        claim = dict(details.get("claim") or {})
        # Payment is promised from approval, so the date the assistant reads out moves with it.
        claim["approved_at"] = to_iso(now)
        claim["expected_payout_at"] = to_iso(compensation.payout_due(_carrier(session, ticket), now))
        details["claim"] = claim
        ticket.details = details  # a new dict: the JSON column only notices reassignment
        log_event(session=session, ticket=ticket, kind="payout_set", actor=actor, amount=float(payout),
                  previous=float(previous) if previous is not None else None,
                  expected_payout_at=claim["expected_payout_at"])
    if data.note is not None and not _repeated_note(ticket, actor, data.note, now):
        changed = True
        log_event(session=session, ticket=ticket, kind="note", actor=actor, text=data.note)
    if changed:
        ticket.updated_at = now
    session.flush()
    return ticket


def _repeated_note(ticket: Ticket, actor: str, text: str, now) -> bool:
    """Whether this note is a retry of the ticket's latest line (same actor and text, moments ago)."""
    last = ticket.history[-1] if ticket.history else None
    return (last is not None and last.kind == "note" and last.actor == actor and (last.data or {}).get("text") == text
            and now - last.created_at < NOTE_RETRY_WINDOW)


def _carrier(session: Session, ticket: Ticket) -> str | None:
    shipment = session.get(Shipment, ticket.shipment_id) if ticket.shipment_id is not None else None
    return shipment.carrier if shipment is not None else None


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"invalid request: {field}: {message}",
                    [{"field": field, "message": message}])


def add_evidence(*, session: Session, ticket: Ticket, filename: str | None, declared_type: str | None,
                 data: bytes, actor: str = "customer") -> tuple[Evidence, bool]:
    """Store a photo once per ticket; the same bytes again return the stored evidence."""
    content_type = evidence_rules.content_type_of(data, declared_type)
    digest = hashlib.sha256(data).hexdigest()
    existing = _evidence_by_hash(session, ticket.id, digest)
    if existing is not None:
        return existing, False
    if ticket.status == TicketStatus.CLOSED.value:
        raise conflict(f"ticket {ticket.id} is closed; reopen it before adding evidence")
    count = len(ticket.evidence)
    if count >= evidence_rules.MAX_PER_TICKET:
        raise conflict(f"ticket {ticket.id} already holds {count} photos, the most one ticket takes")
    item = Evidence(ticket_id=ticket.id, filename=evidence_rules.clean_filename(filename, content_type),
                    content_type=content_type, size=len(data), sha256=digest, content=data, created_at=utcnow())
    # A savepoint: when a concurrent retry stored the same photo first, the unique key sends us to its row.
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        existing = _evidence_by_hash(session, ticket.id, digest)
        if existing is None:
            raise
        return existing, False
    ticket.evidence.append(item)
    ticket.updated_at = item.created_at
    log_event(session=session, ticket=ticket, kind="evidence_added", actor=actor, evidence_id=item.id,
              filename=item.filename, content_type=content_type, size=item.size, sha256=digest)
    session.flush()
    return item, True


def _evidence_by_hash(session: Session, ticket_id: int, digest: str) -> Evidence | None:
    return session.execute(
        select(Evidence).where(Evidence.ticket_id == ticket_id, Evidence.sha256 == digest)).scalar_one_or_none()


def require_evidence(*, session: Session, ticket_id: int, evidence_id: int) -> Evidence:
    """A ticket's evidence with its bytes, or a 404 (also when it belongs to another ticket)."""
    require(session=session, ticket_id=ticket_id)
    item = session.get(Evidence, evidence_id)
    if item is None or item.ticket_id != ticket_id:
        raise not_found("evidence", evidence_id)
    return item


def evidence_dict(item: Evidence) -> dict:
    return {"id": item.id, "ticket_id": item.ticket_id, "filename": item.filename,
            "content_type": item.content_type, "size": item.size, "sha256": item.sha256,
            "created_at": to_iso(item.created_at)}


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
        "type_label": TYPE_LABEL.get(TicketType(ticket.type), ticket.type),
        "status": ticket.status,
        "status_label": STATUS_LABEL.get(TicketStatus(ticket.status), ticket.status),
        "tracking_number": ticket.tracking_number,
        "conversation_id": ticket.conversation_id,
        "sla_due_at": to_iso(ticket.sla_due_at),
        "created_at": to_iso(ticket.created_at),
        "expected_payout_at": _claim(ticket).get("expected_payout_at"),
        "payout_amount": float(ticket.payout_amount) if ticket.payout_amount is not None else None,
    }


def _claim(ticket: Ticket) -> dict:
    claim = (ticket.details or {}).get("claim")
    return claim if isinstance(claim, dict) else {}


def detail(ticket: Ticket) -> dict:
    """The whole ticket: details, evidence metadata and history."""
    return {
        **summary(ticket),
        "details": ticket.details or {},
        "updated_at": to_iso(ticket.updated_at),
        "facility": {"code": ticket.facility.code, "name": ticket.facility.name, "city": ticket.facility.city}
        if ticket.facility is not None else None,
        "evidence": [evidence_dict(e) for e in ticket.evidence],
        "history": [
            {"kind": h.kind, "actor": h.actor, "data": h.data, "created_at": to_iso(h.created_at)}
            for h in ticket.history
        ],
        # A handoff ticket carries what the agent was handed: 诉求, 已触发, 补充信息, parcels, transcript.
        **({"package": (ticket.details or {}).get("package")} if ticket.type == TicketType.HANDOFF.value else {}),
    }
