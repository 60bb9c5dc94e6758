"""HTTP routes of customers: create or merge, and find by channel binding."""
from __future__ import annotations

from flask import Blueprint, request

from logistics.customers import service
from logistics.customers.models import CHANNELS, Customer, CustomerIn
from logistics.errors import ApiError, not_found
from logistics.http import parse, session
from logistics.phones import mask_phone
from logistics.shipments import service as shipment_service

blueprint = Blueprint("customers", __name__)


def customer_dict(customer: Customer) -> dict:
    return {
        "id": customer.id,
        "phone": mask_phone(customer.phone),
        "name": customer.name,
        "bindings": [{"channel": b.channel, "external_id": b.external_id} for b in customer.bindings],
    }


@blueprint.post("/customers")
def create_customer():
    data = parse(CustomerIn)
    customer, created = service.create_or_merge(session=session(), data=data)
    return customer_dict(customer), 201 if created else 200


@blueprint.get("/customers/lookup")
def lookup_customer():
    channel, external_id = request.args.get("channel"), request.args.get("external_id")
    if channel not in CHANNELS or not external_id:
        raise ApiError(400, "bad_request", f"give channel ({', '.join(CHANNELS)}) and external_id")
    customer = service.get_by_binding(session=session(), channel=channel, external_id=external_id)
    if customer is None:
        raise not_found("binding", f"{channel}:{external_id}")
    shipments = shipment_service.list_for_phone(session=session(), phone=customer.phone)
    body = customer_dict(customer)
    body["shipments"] = [
        shipment_service.summary(s, "recipient" if s.recipient_phone == customer.phone else "sender")
        for s in shipments
    ]
    return body
