"""HTTP routes of customers: create or merge, find by channel binding, bind a chat with a one-time code."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from logistics.customers import service
from logistics.customers.models import CHANNELS, BindingCodeIn, BindingVerifyIn, Customer, CustomerIn
from logistics.errors import ApiError, not_found
from logistics.http import parse, session
from logistics.phones import mask_phone
from logistics.shipments import service as shipment_service
from logistics.timeutil import utcnow
from logistics.web import otp

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


# --- binding a chat to a phone with a one-time code (the assistant asks on the user's behalf) ---


@blueprint.post("/bindings/otp")
def binding_code():
    """Send a one-time code to the phone (logged in the demo; shown in the answer while DEMO_MODE is on)."""
    data = parse(BindingCodeIn)
    settings = current_app.extensions["settings"]
    issued = otp.issue(session=session(), phone=data.phone, session_id=data.external_id,
                       ip=f"{data.channel}:{data.external_id}", secret=settings.api_token, now=utcnow())
    body = {"sent": True, "expires_in": issued.expires_in, "phone": mask_phone(data.phone)}
    if settings.demo_mode:
        body["demo_code"] = issued.code
    return body


@blueprint.post("/bindings/otp/verify")
def binding_verify():
    """Check the code; on success the chat (channel, external_id) is bound to the phone's customer."""
    data = parse(BindingVerifyIn)
    customer = otp.verify(session=session(), phone=data.phone, code=data.code, session_id=data.external_id,
                          secret=current_app.extensions["settings"].api_token, now=utcnow(), channel=data.channel)
    return {"customer_id": customer.id, "phone": mask_phone(customer.phone), "channel": data.channel,
            "external_id": data.external_id}
