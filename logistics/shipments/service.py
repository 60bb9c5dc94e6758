"""Shipment operations: create, record events in time order, prove a caller's link, render safely."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from logistics.customers.models import Customer
from logistics.errors import ApiError, conflict, forbidden, not_found
from logistics.network.models import Facility, Incident
from logistics.phones import mask_name, mask_phone, mask_phones_in_text
from logistics.shipments import eta, tracking_numbers
from logistics.shipments.carriers import carrier_name
from logistics.shipments.models import EventIn, Shipment, ShipmentIn, TailAttempt, TrackingEvent
from logistics.shipments.statuses import LABEL, Status, is_active
from logistics.timeutil import to_iso, utcnow

TAIL_ATTEMPTS = 3
TAIL_LOCK = timedelta(minutes=10)


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
    """Prove the caller is the sender or the recipient; raise 403 otherwise."""
    if customer is not None:
        if customer.phone == shipment.recipient_phone:
            return "recipient"
        if customer.phone == shipment.sender_phone:
            return "sender"
    if phone_tail is not None:
        if shipment.recipient_phone.endswith(phone_tail):
            return "recipient"
        if shipment.sender_phone.endswith(phone_tail):
            return "sender"
    raise forbidden("the phone tail or customer does not match the sender or the recipient of this shipment")


def _recent_failures(session: Session, tracking_number: str, conversation_id: str) -> list:
    since = utcnow() - TAIL_LOCK
    query = select(TailAttempt.failed_at).where(
        TailAttempt.tracking_number == tracking_number,
        TailAttempt.conversation_id == conversation_id,
        TailAttempt.failed_at >= since,
    ).order_by(TailAttempt.failed_at)
    return list(session.execute(query).scalars())


def ensure_not_locked(*, session: Session, tracking_number: str, conversation_id: str) -> None:
    """Refuse (429) while a conversation has used up its phone-tail attempts for a number."""
    failures = _recent_failures(session, tracking_number, conversation_id)
    if len(failures) >= TAIL_ATTEMPTS:
        retry_after = int((failures[-TAIL_ATTEMPTS] + TAIL_LOCK - utcnow()).total_seconds()) + 1
        raise ApiError(429, "locked", "too many wrong phone tails for this number in this conversation; "
                       f"try again in {retry_after} s", {"retry_after_seconds": max(retry_after, 1)})


def record_failed_tail(*, session: Session, tracking_number: str, conversation_id: str) -> int:
    """Count a wrong phone tail; return how many attempts remain before the lock."""
    session.add(TailAttempt(tracking_number=tracking_number, conversation_id=conversation_id, failed_at=utcnow()))
    session.flush()
    return max(TAIL_ATTEMPTS - len(_recent_failures(session, tracking_number, conversation_id)), 0)


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
