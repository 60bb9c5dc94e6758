"""HTTP routes of shipments: create, push scans, read with a proven link, recognise numbers."""
from __future__ import annotations

import re

from flask import Blueprint, request

from logistics.customers import service as customer_service
from logistics.errors import ApiError
from logistics.http import parse, query_int, session
from logistics.shipments import service, watches
from logistics.shipments.models import EventIn, ShipmentIn, WatchIn
from logistics.tickets import compensation, outlet

blueprint = Blueprint("shipments", __name__)
TAIL = re.compile(r"\d{4}")


@blueprint.post("/shipments")
def create_shipment():
    data = parse(ShipmentIn)
    shipment = service.create(session=session(), data=data)
    return service.detail(shipment, role="creator"), 201


@blueprint.post("/shipments/<tracking_number>/events")
def add_event(tracking_number: str):
    shipment = service.require(session=session(), tracking_number=tracking_number)
    data = parse(EventIn)
    event = service.add_event(session=session(), shipment=shipment, data=data)
    watches.notify_later(watches.due(session=session(), shipment=shipment))
    return {"tracking_number": shipment.tracking_number, "status": shipment.status,
            "event": service.event_dict(event)}, 201


@blueprint.get("/shipments/<tracking_number>")
def get_shipment(tracking_number: str):
    shipment, role = _proven_shipment(tracking_number)
    return service.detail(shipment, role)


@blueprint.post("/shipments/<tracking_number>/watches")
def add_watch(tracking_number: str):
    """Tell this conversation when the parcel reaches its outlet; the caller proves a link like a read."""
    shipment, _role = _proven_shipment(tracking_number)
    data = parse(WatchIn)
    watch, created = watches.add(session=session(), shipment=shipment, data=data)
    body = watches.watch_dict(watch)
    body["status"] = shipment.status
    body["already_arrived"] = shipment.status in watches.ARRIVED
    return body, 201 if created else 200


@blueprint.get("/tracking-numbers/<number>")
def recognize(number: str):
    if len(number) > 40:
        raise ApiError(400, "bad_request", "a tracking number has at most 40 characters")
    return service.recognize(session=session(), number=number)


def _proven_shipment(tracking_number: str):
    """The shipment and the caller's role once they proved a link: customer id, or a phone tail that counts
    towards the per-conversation lock (three wrong tails lock the number there for ten minutes)."""
    phone_tail = request.args.get("phone_tail")
    customer_id = query_int("customer_id")
    if phone_tail is not None and not TAIL.fullmatch(phone_tail):
        raise ApiError(400, "bad_request", "phone_tail must be the last 4 digits of a phone number")
    if phone_tail is None and customer_id is None:
        raise ApiError(403, "forbidden", "give phone_tail or customer_id to prove a link to this shipment")
    conversation_id = request.args.get("conversation_id")
    if conversation_id is not None and not 0 < len(conversation_id) <= 128:
        raise ApiError(400, "bad_request", "conversation_id must have 1 to 128 characters")
    shipment = service.require(session=session(), tracking_number=tracking_number)
    customer = customer_service.get(session=session(), customer_id=customer_id) if customer_id is not None else None
    guarded = phone_tail is not None and bool(conversation_id) and customer is None
    if guarded:
        service.ensure_not_locked(session=session(), tracking_number=shipment.tracking_number,
                                  conversation_id=conversation_id)
    try:
        role = service.link_role(shipment, phone_tail=phone_tail, customer=customer)
    except ApiError as exc:
        if guarded:
            # Wrong tails count towards the same lock here, or these routes would be a way round it.
            left = service.record_failed_tail(session=session(), tracking_number=shipment.tracking_number,
                                              conversation_id=conversation_id)
            session().commit()
            exc.details = {"attempts_left": left}
        raise
    return shipment, role


@blueprint.get("/shipments/<tracking_number>/compensation")
def get_compensation(tracking_number: str):
    return compensation.liability(_proven_shipment(tracking_number)[0])


@blueprint.get("/shipments/<tracking_number>/outlet")
def get_outlet(tracking_number: str):
    shipment, _ = _proven_shipment(tracking_number)
    place = outlet.waiting_place(session(), shipment)
    if place is None:
        raise ApiError(404, "not_at_outlet", f"shipment {shipment.tracking_number} is not waiting at an outlet, "
                       f"pickup station or locker (status {shipment.status})")
    return place
