"""HTTP routes of tickets: idempotent creation, filtered lists, one whole ticket, updates and evidence photos."""
from __future__ import annotations

from flask import Blueprint, make_response, request
from werkzeug.exceptions import RequestEntityTooLarge

from logistics.errors import ApiError, bad_request
from logistics.http import parse, query_int, session
from logistics.tickets import evidence, service
from logistics.tickets.models import EvidenceIn, TicketIn, TicketPatch

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
        customer_id=query_int("customer_id"),
        status=request.args.get("status"),
        type=request.args.get("type"),
    )
    return {"tickets": [service.summary(t) for t in tickets]}


@blueprint.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    return service.detail(service.require(session=session(), ticket_id=ticket_id))


@blueprint.patch("/tickets/<int:ticket_id>")
def update_ticket(ticket_id: int):
    data = parse(TicketPatch)
    return service.detail(service.update(session=session(), ticket_id=ticket_id, data=data))


@blueprint.post("/tickets/<int:ticket_id>/evidence")
def add_evidence(ticket_id: int):
    mimetype = request.mimetype
    if mimetype not in ("multipart/form-data", "application/json"):
        raise ApiError(415, "unsupported_media_type",
                       "send the photo as multipart/form-data (field file) or as JSON with data_base64")
    # Photos are far larger than the API's other bodies: this route alone reads up to the evidence limit.
    limit = evidence.max_body(mimetype)
    if request.content_length is not None and request.content_length > limit:
        raise evidence.too_large()
    request.max_content_length = limit
    ticket = service.require(session=session(), ticket_id=ticket_id)
    try:
        filename, declared, data, actor = _read_json() if mimetype == "application/json" else _read_form()
    except RequestEntityTooLarge:
        raise evidence.too_large() from None
    item, created = service.add_evidence(session=session(), ticket=ticket, filename=filename,
                                         declared_type=declared, data=data, actor=actor)
    return service.evidence_dict(item), 201 if created else 200


def _read_json() -> tuple:
    body = parse(EvidenceIn)
    data, url_type = evidence.decode_base64(body.data_base64)
    return body.filename, body.content_type or url_type, data, body.actor


def _read_form() -> tuple:
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("the multipart body needs a file field named file")
    actor = request.form.get("actor") or "customer"
    if len(actor) > 64 or "\x00" in actor:
        # The same rules as the JSON form's actor, so both ways of uploading answer alike.
        message = "at most 64 characters" if len(actor) > 64 else "must not contain NUL characters (\\u0000)"
        raise ApiError(422, "validation_error", f"invalid request: actor: {message}",
                       [{"field": "actor", "message": message}])
    # One byte past the limit is enough to know the file is too large without holding all of it.
    data = upload.stream.read(evidence.MAX_BYTES + 1)
    return upload.filename, upload.mimetype, data, actor


@blueprint.get("/tickets/<int:ticket_id>/evidence/<int:evidence_id>")
def get_evidence(ticket_id: int, evidence_id: int):
    item = service.require_evidence(session=session(), ticket_id=ticket_id, evidence_id=evidence_id)
    response = make_response(item.content)
    response.headers["Content-Type"] = item.content_type
    response.headers["Content-Disposition"] = "inline"
    # The stored type was checked against the bytes; browsers must not guess another one.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(item.sha256)
    return response.make_conditional(request)
