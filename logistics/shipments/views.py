"""HTTP routes of shipments: create, push scans, read with a proven link, recognise numbers."""
from __future__ import annotations

from flask import Blueprint, request

from logistics.customers.models import CHANNELS
from logistics.errors import ApiError
from logistics.http import parse, query_int, session
from logistics.phones import normalize_tail
from logistics.shipments import service, watches
from logistics.shipments.models import EventIn, ShipmentIn, WatchIn
from logistics.tickets import compensation, outlet

blueprint = Blueprint("shipments", __name__)


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
    """The shipment and the caller's role once they proved a link (see service.prove_link): a customer bound to
    the conversation, a phone tail (counted towards the conversation, number and address locks), or a tail this
    conversation proved before."""
    phone_tail = request.args.get("phone_tail")
    customer_id = query_int("customer_id")
    if phone_tail is not None:
        try:
            phone_tail = normalize_tail(phone_tail)  # ５５５５ and ٥٥٥٥ are 5555
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
    conversation_id = _bounded_arg("conversation_id", 128)
    channel = request.args.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise ApiError(400, "bad_request", f"channel must be one of {', '.join(CHANNELS)}")
    client_address = _bounded_arg("client_address", 64)
    if phone_tail is None and customer_id is None and conversation_id is None:
        raise ApiError(403, "forbidden", "give phone_tail or customer_id to prove a link to this shipment")
    return service.prove_link(session=session(), tracking_number=tracking_number, phone_tail=phone_tail,
                              customer_id=customer_id, conversation_id=conversation_id, channel=channel,
                              client_address=client_address)


def _bounded_arg(name: str, limit: int) -> str | None:
    value = request.args.get(name)
    if value is not None and not 0 < len(value) <= limit:
        raise ApiError(400, "bad_request", f"{name} must have 1 to {limit} characters")
    return value


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
