"""HTTP routes of handoffs for the assistant (Bearer API): queue with a package, read, outbox, delivery, rating;
the user's messages while waiting (Rasa), and ending the waits past the limit."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from logistics.errors import bad_request
from logistics.handoffs import flows, service, waiting
from logistics.handoffs.models import HandoffIn, RatingIn, WaitingIn
from logistics.http import parse, session

blueprint = Blueprint("handoffs", __name__)


@blueprint.post("/handoffs")
def create_handoff():
    handoff, created = service.create(session=session(), data=parse(HandoffIn))
    return service.to_dict(session(), handoff), 201 if created else 200


@blueprint.post("/handoffs/waiting")
def message_while_waiting():
    """A message Rasa logged on a conversation paused for a human: recorded for the agent; the answer says what to
    tell the user (response + values of domain/handoff_wait.yml) and whether the bot takes over (action resume).
    201 when recorded, 200 for a retry of the same message (the same answer) or when no handoff is open."""
    settings = current_app.extensions["settings"]
    answer, recorded = waiting.on_message(session=session(), data=parse(WaitingIn),
                                          max_wait_minutes=settings.handoff_max_wait_minutes)
    return answer, 201 if recorded else 200


@blueprint.post("/handoffs/expire")
def expire_waits():
    """End every wait past HANDOFF_MAX_WAIT_MINUTES now (the sweeper of `serve` does it every minute) and have the
    bot tell those users; the handoffs ended and the conversations told."""
    settings = current_app.extensions["settings"]
    ended = waiting.expire_overdue(session=session(), max_wait_minutes=settings.handoff_max_wait_minutes)
    told = flows.tell_ended(session=session(), handoff_ids=ended) if ended else []
    return {"expired": ended, "told": told}


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
