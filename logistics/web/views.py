"""Routes of the website chat: the demo page, the widget's static files and the public /web/api.

/web/api needs no bearer token: a browser holds nothing but its socket.io session id, a random token it
proves the conversation with (as Rasa's socket.io channel itself does).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from logistics.errors import ApiError, bad_request
from logistics.http import parse, session
from logistics.phones import mask_phone
from logistics.rasa_client import RasaClient, RasaUnavailable
from logistics.tickets import evidence as evidence_rules
from logistics.tickets import service as tickets
from logistics.tickets.enums import TYPE_LABEL, TicketType
from logistics.timeutil import utcnow
from logistics.web import history, otp
from logistics.web import service as web_service
from logistics.web.models import OtpRequest, OtpVerify, check_session_id

blueprint = Blueprint("web", __name__, static_folder="static", static_url_path="/web/static",
                      template_folder="templates")


def _settings():
    return current_app.extensions["settings"]


def _session_id(raw: object) -> str:
    try:
        return check_session_id(raw)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


@blueprint.errorhandler(ApiError)
def api_error(exc: ApiError):
    body = exc.body()
    response = jsonify(body)
    if exc.status == 429 and isinstance(exc.details, dict):
        body["retry_after"] = exc.details.get("retry_after")
        response = jsonify(body)
        response.headers["Retry-After"] = str(body["retry_after"])
    return response, exc.status


@blueprint.after_app_request
def allow_embedding_sites(response):
    # The widget may sit on any site; /web/api holds no cookies or bearer, so any origin may call it.
    if request.path.startswith("/web/"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


@blueprint.get("/")
def home():
    return redirect("/chat", code=302)


@blueprint.get("/chat")
def chat_page():
    settings = _settings()
    response = make_response(render_template(
        "chat.html", rasa_url=(settings.public_rasa_url or settings.rasa_url).rstrip("/"),
        backend_url=settings.public_base_url.rstrip("/")))
    return response


@blueprint.post("/web/api/otp")
def request_code():
    data = parse(OtpRequest)
    settings = _settings()
    issued = otp.issue(session=session(), phone=data.phone, session_id=data.session_id,
                       ip=request.remote_addr or "unknown", secret=settings.api_token, now=utcnow())
    body = {"sent": True, "expires_in": issued.expires_in}
    if settings.demo_mode:
        body["demo_code"] = issued.code
    return body


@blueprint.post("/web/api/otp/verify")
def verify_code():
    data = parse(OtpVerify)
    customer = otp.verify(session=session(), phone=data.phone, code=data.code, session_id=data.session_id,
                          secret=_settings().api_token, now=utcnow())
    return {"customer_id": customer.id, "phone": mask_phone(customer.phone)}


@blueprint.get("/web/api/history")
def conversation_history():
    session_id = _session_id(request.args.get("session_id"))
    settings = _settings()
    try:
        tracker = RasaClient(settings.rasa_url, settings.rasa_token).tracker(session_id)
    except RasaUnavailable as exc:
        raise ApiError(503, "rasa_unavailable", f"the conversation store is unavailable: {exc}") from None
    return {"messages": history.widget_messages(tracker or {})}


@blueprint.post("/web/api/evidence")
def upload_evidence():
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the photo as multipart/form-data (fields file, session_id)")
    limit = evidence_rules.max_body(request.mimetype)
    if request.content_length is not None and request.content_length > limit:
        raise evidence_rules.too_large()
    request.max_content_length = limit
    try:
        session_id = _session_id(request.form.get("session_id"))
        upload = request.files.get("file")
        if upload is None:
            raise bad_request("the multipart body needs a file field named file")
        data = upload.stream.read(evidence_rules.MAX_BYTES + 1)
    except RequestEntityTooLarge:
        raise evidence_rules.too_large() from None
    # Check the photo before looking for a ticket, so a wrong file gets the answer about the file.
    evidence_rules.content_type_of(data, upload.mimetype)
    ticket = web_service.ticket_wanting_evidence(session=session(), conversation_id=session_id)
    if ticket is None:
        raise ApiError(409, "no_ticket", "这个对话里还没有需要照片的工单（破损、丢件、理赔等），请先告诉我出了什么问题")
    item, created = tickets.add_evidence(session=session(), ticket=ticket, filename=upload.filename,
                                         declared_type=upload.mimetype, data=data, actor="customer")
    body = {"ticket_id": ticket.id, "ticket_type": ticket.type,
            "ticket_type_label": TYPE_LABEL.get(TicketType(ticket.type), ticket.type),
            "evidence_id": item.id, "evidence_count": len(ticket.evidence)}
    return body, 201 if created else 200


@blueprint.get("/web/api/evidence/<int:evidence_id>")
def show_evidence(evidence_id: int):
    session_id = _session_id(request.args.get("session_id"))
    item = web_service.evidence_of_conversation(session=session(), conversation_id=session_id,
                                                evidence_id=evidence_id)
    if item is None:
        raise ApiError(404, "not_found", f"evidence {evidence_id} was not found in this conversation")
    response = make_response(item.content)
    response.headers["Content-Type"] = item.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
