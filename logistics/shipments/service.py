"""Shipment operations: create, record events in time order, prove a caller's link, render safely."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from logistics.customers.models import CHANNELS, Customer
from logistics.errors import ApiError, conflict, forbidden, not_found
from logistics.network.models import Facility, Incident
from logistics.phones import mask_name, mask_phone, mask_phones_in_text
from logistics.shipments import eta, tracking_numbers
from logistics.shipments.carriers import carrier_name
from logistics.shipments.models import ConversationProof, EventIn, Shipment, ShipmentIn, TailAttempt, TrackingEvent
from logistics.shipments.statuses import LABEL, Status, is_active
from logistics.timeutil import to_iso, utcnow

TAIL_ATTEMPTS = 3
TAIL_LOCK = timedelta(minutes=10)
log = logging.getLogger(__name__)


def get_by_number(*, session: Session, tracking_number: str) -> Shipment | None:
    """Return a shipment by its tracking number (normalised)."""
    number = tracking_numbers.normalize(tracking_number)
    return session.execute(select(Shipment).where(Shipment.tracking_number == number)).scalar_one_or_none()


def require(*, session: Session, tracking_number: str) -> Shipment:
    """Return a shipment or raise a 404 naming the number."""
    shipment = get_by_number(session=session, tracking_number=tracking_number)
    if shipment is None:
        raise not_found("shipment", tracking_number)
    return shipment


def create(*, session: Session, data: ShipmentIn) -> Shipment:
    """Create a shipment; a tracking number that exists already is a conflict."""
    if get_by_number(session=session, tracking_number=data.tracking_number) is not None:
        raise conflict(f"shipment {data.tracking_number} already exists")
    shipment = Shipment(
        tracking_number=data.tracking_number,
        carrier=data.carrier,
        sender_name=data.sender.name,
        sender_phone=data.sender.phone,
        sender_address=data.sender.address,
        recipient_name=data.recipient.name,
        recipient_phone=data.recipient.phone,
        recipient_address=data.recipient.address,
        goods_type=data.goods_type,
        goods_description=data.goods_description,
        insured_value=data.insured_value,
        origin=data.origin,
        destination=data.destination,
        promised_delivery_at=data.promised_delivery_at,
        status=Status.CREATED.value,
    )
    session.add(shipment)
    try:
        session.flush()
    except IntegrityError:
        raise conflict(f"shipment {data.tracking_number} already exists") from None
    return shipment


def add_event(*, session: Session, shipment: Shipment, data: EventIn) -> TrackingEvent:
    """Record a scan; the shipment's status follows the latest scan by time, whatever the arrival order."""
    facility_id = None
    if data.facility_code:
        facility = session.execute(select(Facility).where(Facility.code == data.facility_code)).scalar_one_or_none()
        if facility is None:
            raise ApiError(422, "validation_error", f"facility_code {data.facility_code} is unknown")
        facility_id = facility.id
    event = TrackingEvent(
        time=data.time, status=data.status, location=data.location,
        description=data.description, facility_id=facility_id,
    )
    shipment.events.append(event)
    session.flush()
    shipment.status = latest_event(shipment).status
    return event


def link_role(shipment: Shipment, *, phone_tail: str | None = None, customer: Customer | None = None) -> str:
    """Prove the caller is the sender or the recipient; raise 403 otherwise (no lock: for trusted callers)."""
    role = (_customer_role(shipment, customer) if customer is not None else None) or (
        _tail_role(shipment, phone_tail) if phone_tail is not None else None)
    if role is None:
        raise forbidden("the phone tail or customer does not match the sender or the recipient of this shipment")
    return role


@dataclass(frozen=True)
class TailLimit:
    """How many wrong tails a scope may give within a window before lookups there stop for a while."""

    scope: str
    attempts: int
    window: timedelta


# Inside one conversation: three tries, then ten minutes' pause (a typo is forgiven, guessing is not).
CONVERSATION_LIMIT = TailLimit("conversation", TAIL_ATTEMPTS, TAIL_LOCK)
# Across every conversation and channel: a number guessed wrong ten times in an hour answers no anonymous
# lookup until the hour has passed, whoever asks (fresh sender ids gain nothing). Bound owners are unaffected.
NUMBER_LIMIT = TailLimit("number", 10, timedelta(hours=1))
# One client address guessing across numbers: twenty wrong tails in an hour.
ADDRESS_LIMIT = TailLimit("address", 20, timedelta(hours=1))


def _failures(session: Session, limit: TailLimit, *, tracking_number: str, conversation_id: str | None = None,
              client_address: str | None = None) -> list:
    query = select(TailAttempt.failed_at).where(TailAttempt.failed_at >= utcnow() - limit.window)
    if limit.scope == "address":
        query = query.where(TailAttempt.client_address == client_address)
    else:
        query = query.where(TailAttempt.tracking_number == tracking_number)
    if limit.scope == "conversation":
        query = query.where(TailAttempt.conversation_id == conversation_id)
    return list(session.execute(query.order_by(TailAttempt.failed_at)).scalars())


def _limits(conversation_id: str | None, client_address: str | None) -> list[TailLimit]:
    return ([CONVERSATION_LIMIT] if conversation_id else []) + [NUMBER_LIMIT] + (
        [ADDRESS_LIMIT] if client_address else [])


def ensure_not_locked(*, session: Session, tracking_number: str, conversation_id: str | None = None,
                      client_address: str | None = None) -> None:
    """Refuse (429) an anonymous lookup while the conversation, the number or the address is locked."""
    for limit in _limits(conversation_id, client_address):
        failures = _failures(session, limit, tracking_number=tracking_number, conversation_id=conversation_id,
                             client_address=client_address)
        if len(failures) >= limit.attempts:
            retry_after = int((failures[-limit.attempts] + limit.window - utcnow()).total_seconds()) + 1
            raise ApiError(429, "locked", f"too many wrong phone tails ({limit.scope}); try again in "
                           f"{max(retry_after, 1)} s", {"retry_after_seconds": max(retry_after, 1),
                                                        "scope": limit.scope})


def record_failed_tail(*, session: Session, tracking_number: str, conversation_id: str | None = None,
                       client_address: str | None = None) -> int:
    """Count a wrong phone tail; return how many attempts remain before the nearest lock (logged when reached)."""
    session.add(TailAttempt(tracking_number=tracking_number, conversation_id=conversation_id or "-",
                            client_address=client_address, failed_at=utcnow()))
    session.flush()
    left = []
    for limit in _limits(conversation_id, client_address):
        used = len(_failures(session, limit, tracking_number=tracking_number, conversation_id=conversation_id,
                             client_address=client_address))
        if used == limit.attempts:
            log.warning("phone-tail lock: %s limit reached for %s (conversation %s, address %s); anonymous "
                        "lookups refused for %s", limit.scope, tracking_number, conversation_id,
                        client_address, limit.window)
        left.append(max(limit.attempts - used, 0))
    return min(left)


def prove_link(*, session: Session, tracking_number: str, phone_tail: str | None = None,
               customer_id: int | None = None, conversation_id: str | None = None, channel: str | None = None,
               client_address: str | None = None) -> tuple[Shipment, str]:
    """The shipment and the caller's role, once the caller proved a link to it; 403/429 otherwise.

    Proofs, strongest first: a customer bound to this conversation (or named by a trusted integration that
    gives no conversation); a phone tail, counted towards the conversation, number and address locks; an
    earlier matching tail in this same conversation."""
    shipment = require(session=session, tracking_number=tracking_number)
    number = shipment.tracking_number
    if customer_id is not None or (conversation_id and channel and phone_tail is None):
        customer = _caller_customer(session, customer_id=customer_id, conversation_id=conversation_id,
                                    channel=channel)
        if customer is not None:
            role = _customer_role(shipment, customer)
            if role is not None:
                return shipment, role
        if phone_tail is None:
            proof = _proof(session, conversation_id, number) if conversation_id else None
            if proof is not None:
                return shipment, proof.role
            raise forbidden("this customer or conversation has no proven link to this shipment")
    if phone_tail is None:
        proof = _proof(session, conversation_id, number) if conversation_id else None
        if proof is not None:
            return shipment, proof.role
        raise forbidden("give phone_tail or customer_id to prove a link to this shipment")
    ensure_not_locked(session=session, tracking_number=number, conversation_id=conversation_id,
                      client_address=client_address)
    role = _tail_role(shipment, phone_tail)
    if role is None:
        left = record_failed_tail(session=session, tracking_number=number, conversation_id=conversation_id,
                                  client_address=client_address)
        session.commit()
        details: dict = {"attempts_left": left}
        if left == 0:
            try:
                ensure_not_locked(session=session, tracking_number=number, conversation_id=conversation_id,
                                  client_address=client_address)
            except ApiError as locked:
                details.update(locked.details)
        raise ApiError(403, "forbidden", "the phone tail does not match the sender or the recipient of this "
                       "shipment", details)
    if conversation_id:
        if _proof(session, conversation_id, number) is None:
            session.add(ConversationProof(conversation_id=conversation_id, tracking_number=number, role=role))
            session.flush()
    return shipment, role


def conversation_may_see(*, session: Session, tracking_number: str, conversation_id: str,
                         channel: str | None = None) -> bool:
    """Whether this conversation proved a link to the number (a tail) or is bound to its sender/recipient."""
    shipment = get_by_number(session=session, tracking_number=tracking_number)
    if shipment is None:
        return False
    if _proof(session, conversation_id, shipment.tracking_number) is not None:
        return True
    customer = _caller_customer(session, customer_id=None, conversation_id=conversation_id, channel=channel)
    return customer is not None and _customer_role(shipment, customer) is not None


def _proof(session: Session, conversation_id: str, tracking_number: str) -> ConversationProof | None:
    return session.execute(select(ConversationProof).where(
        ConversationProof.conversation_id == conversation_id,
        ConversationProof.tracking_number == tracking_number)).scalar_one_or_none()


def _caller_customer(session: Session, *, customer_id: int | None, conversation_id: str | None,
                     channel: str | None) -> Customer | None:
    """The customer behind the call. With a conversation, only its channel binding counts: a customer id
    that the conversation is not bound to proves nothing (slots can be forged; bindings cannot)."""
    from logistics.customers import service as customer_service

    if conversation_id:
        channels = [channel] if channel else list(CHANNELS)
        for name in channels:
            bound = customer_service.get_by_binding(session=session, channel=name, external_id=conversation_id)
            if bound is not None and (customer_id is None or bound.id == customer_id):
                return bound
        return None
    return session.get(Customer, customer_id) if customer_id is not None else None


def _customer_role(shipment: Shipment, customer: Customer) -> str | None:
    if customer.phone == shipment.recipient_phone:
        return "recipient"
    if customer.phone == shipment.sender_phone:
        return "sender"
    return None


def _tail_role(shipment: Shipment, phone_tail: str) -> str | None:
    if shipment.recipient_phone.endswith(phone_tail):
        return "recipient"
    if shipment.sender_phone.endswith(phone_tail):
        return "sender"
    return None


def list_for_phone(*, session: Session, phone: str) -> list[Shipment]:
    """Shipments a phone sent or receives, most recently updated first."""
    query = (
        select(Shipment)
        .where(or_(Shipment.recipient_phone == phone, Shipment.sender_phone == phone))
        .options(selectinload(Shipment.events))
        .order_by(Shipment.updated_at.desc(), Shipment.id.desc())
    )
    return list(session.execute(query).scalars())


def recognize(*, session: Session, number: str) -> dict:
    """Carrier candidates for a number by pattern, confirmed against our records."""
    cleaned = tracking_numbers.normalize(number)
    shipment = get_by_number(session=session, tracking_number=cleaned)
    return {
        "tracking_number": cleaned,
        "candidates": tracking_numbers.candidates(cleaned),
        "known": shipment is not None,
        "carrier": shipment.carrier if shipment is not None else None,
    }


def latest_event(shipment: Shipment) -> TrackingEvent | None:
    """The scan latest in time (the list may have gained an earlier scan since loading)."""
    return max(shipment.events, key=lambda e: (e.time, e.id), default=None)


def _active_incident(facility: Facility | None) -> Incident | None:
    if facility is None:
        return None
    active = [i for i in facility.incidents if i.active and i.ended_at is None]
    return active[-1] if active else None


def event_dict(event: TrackingEvent) -> dict:
    body = {
        "time": to_iso(event.time),
        "status": event.status,
        "status_label": LABEL[Status(event.status)],
        "location": event.location,
        "description": mask_phones_in_text(event.description),
    }
    if event.facility is not None:
        body["facility"] = {
            "code": event.facility.code,
            "kind": event.facility.kind,
            "name": event.facility.name,
            "city": event.facility.city,
            "phone": mask_phone(event.facility.phone) if (event.facility.phone or "").startswith("1")
            else event.facility.phone,
        }
    return body


def _party(name: str | None, phone: str, address: str | None) -> dict:
    return {"name": mask_name(name), "phone": mask_phone(phone), "address": address}


def summary(shipment: Shipment, role: str | None = None) -> dict:
    """A short, masked view for lists (choosing among one's own shipments)."""
    last = latest_event(shipment)
    return {
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrier_name": carrier_name(shipment.carrier),
        "status": shipment.status,
        "status_label": LABEL[Status(shipment.status)],
        "active": is_active(Status(shipment.status)),
        "goods_type": shipment.goods_type,
        "goods_description": shipment.goods_description,
        "origin": shipment.origin,
        "destination": shipment.destination,
        "role": role,
        "last_event": event_dict(last) if last else None,
    }


def detail(shipment: Shipment, role: str) -> dict:
    """The whole masked shipment with its events newest first, for a caller who proved a link."""
    events = sorted(shipment.events, key=lambda e: (e.time, e.id), reverse=True)
    last = events[0] if events else None
    incident = _active_incident(last.facility) if last is not None else None
    return {
        **summary(shipment, role),
        "sender": _party(shipment.sender_name, shipment.sender_phone, shipment.sender_address),
        "recipient": _party(shipment.recipient_name, shipment.recipient_phone, shipment.recipient_address),
        "insured_value": float(shipment.insured_value or 0),
        "courier": {"name": mask_name(shipment.courier_name), "phone": mask_phone(shipment.courier_phone)}
        if shipment.courier_phone else None,
        "promised_delivery_at": to_iso(shipment.promised_delivery_at),
        "created_at": to_iso(shipment.created_at),
        "events": [event_dict(e) for e in events],
        "incident": {
            "kind": incident.kind,
            "summary": incident.summary,
            "starts_at": to_iso(incident.starts_at),
            "expected_clear_at": to_iso(incident.expected_clear_at),
        } if incident is not None else None,
        # Estimated next step and delivery; eta.for_detail reads the session through object_session(shipment).
        "eta": eta.for_detail(shipment),
    }
