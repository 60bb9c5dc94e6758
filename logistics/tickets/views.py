"""HTTP routes of tickets: idempotent creation, lists by conversation or shipment, one whole ticket."""
from __future__ import annotations

from flask import Blueprint, request

from logistics.http import parse, session
from logistics.tickets import service
from logistics.tickets.models import TicketIn

blueprint = Blueprint("tickets", __name__)


@blueprint.post("/tickets")
def create_ticket():
    data = parse(TicketIn)
    ticket, created = service.create(session=session(), data=data)
    return service.detail(ticket), 201 if created else 200


@blueprint.get("/tickets")
def list_tickets():
    tickets = service.list_for(
        session=session(),
        conversation_id=request.args.get("conversation_id"),
        tracking_number=request.args.get("tracking_number"),
    )
    return {"tickets": [service.summary(t) for t in tickets]}


@blueprint.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    return service.detail(service.require(session=session(), ticket_id=ticket_id))
