"""HTTP routes of handoffs for the assistant (Bearer API): queue with a package, read, outbox, delivery, rating."""
from __future__ import annotations

from flask import Blueprint, request

from logistics.errors import bad_request
from logistics.handoffs import service
from logistics.handoffs.models import HandoffIn, RatingIn
from logistics.http import parse, session

blueprint = Blueprint("handoffs", __name__)


@blueprint.post("/handoffs")
def create_handoff():
    handoff, created = service.create(session=session(), data=parse(HandoffIn))
    return service.to_dict(session(), handoff), 201 if created else 200


@blueprint.get("/handoffs")
def list_handoffs():
    conversation_id = request.args.get("conversation_id")
    if not conversation_id or len(conversation_id) > 128:
        raise bad_request("give conversation_id (at most 128 characters)")
    handoffs = service.list_for_conversation(session=session(), conversation_id=conversation_id)
    return {"handoffs": [service.to_dict(session(), h, package=False) for h in handoffs]}


@blueprint.get("/handoffs/<int:handoff_id>")
def get_handoff(handoff_id: int):
    return service.to_dict(session(), service.require(session=session(), handoff_id=handoff_id))


@blueprint.get("/handoffs/<int:handoff_id>/outbox")
def get_outbox(handoff_id: int):
    handoff = service.require(session=session(), handoff_id=handoff_id)
    return {"messages": [service.message_dict(m) for m in service.outbox(session=session(), handoff=handoff)]}


@blueprint.post("/handoffs/<int:handoff_id>/outbox/<int:message_id>/delivered")
def mark_delivered(handoff_id: int, message_id: int):
    handoff = service.require(session=session(), handoff_id=handoff_id)
    return service.message_dict(service.mark_delivered(session=session(), handoff=handoff, message_id=message_id))


@blueprint.post("/handoffs/<int:handoff_id>/outbox/<int:message_id>/undelivered")
def mark_undelivered(handoff_id: int, message_id: int):
    body = request.get_json(silent=True) or {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, str) or not error.strip():
        raise bad_request("give error: why the channel did not deliver the reply")
    handoff = service.require(session=session(), handoff_id=handoff_id)
    message = service.mark_undelivered(session=session(), handoff=handoff, message_id=message_id, error=error.strip())
    return service.message_dict(message)


@blueprint.post("/handoffs/<int:handoff_id>/rating")
def rate(handoff_id: int):
    data = parse(RatingIn)
    handoff = service.require(session=session(), handoff_id=handoff_id)
    handoff = service.rate(session=session(), handoff=handoff, rating=data.rating, comment=data.comment)
    return service.to_dict(session(), handoff, package=False)
