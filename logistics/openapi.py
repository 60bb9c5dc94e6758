"""The OpenAPI 3 document of the v1 API, with schemas taken from the request models."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from logistics.customers.models import BindingCodeIn, BindingVerifyIn, CustomerIn
from logistics.handoffs.models import HandoffIn, RatingIn, WaitingIn
from logistics.shipments.models import EventIn, ShipmentIn
from logistics.shipments.statuses import Status
from logistics.tickets.enums import COMPLAINT_CATEGORIES, TicketStatus, TicketType
from logistics.tickets.evidence import ALLOWED_TYPES, MAX_BYTES
from logistics.tickets.models import EvidenceIn, TicketIn, TicketPatch

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, *, body: str | None = None, params: list | None = None, ok: str = "200",
        errors: tuple = ("400", "401", "404")) -> dict:
    op: dict = {"summary": summary, "security": [{"bearer": []}], "responses": {ok: {"description": "OK"}}}
    for code in errors:
        op["responses"][code] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
    if body:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


def _json_numbers(value):
    """Pydantic writes condecimal bounds as Decimal, which JSON renders as strings ("maximum": "1000000"): an
    invalid OpenAPI document that schema-driven clients and fuzzers refuse. Numbers they must be."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    return value


def _param(name: str, where: str = "query", required: bool = False, schema: dict | None = None) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema or {"type": "string"}}


@lru_cache(maxsize=1)
def build_openapi() -> dict:
    """Build the document once per process."""
    schemas = {}
    for model in (CustomerIn, BindingCodeIn, BindingVerifyIn, ShipmentIn, EventIn, TicketIn, TicketPatch, EvidenceIn,
                  HandoffIn, RatingIn, WaitingIn):
        schema = model.schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("definitions", {}))
        schemas[model.__name__] = schema
    schemas["Error"] = {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"}, "details": {}}}
    schemas["Status"] = {"type": "string", "enum": [s.value for s in Status]}
    schemas["TicketType"] = {"type": "string", "enum": [t.value for t in TicketType]}
    schemas["TicketStatus"] = {"type": "string", "enum": [t.value for t in TicketStatus]}
    schemas["ComplaintCategory"] = {"type": "string", "enum": list(COMPLAINT_CATEGORIES), "default": "other"}
    schemas.update(_response_schemas())
    schemas = _json_numbers(schemas)
    number = _param("tracking_number", "path", True)
    ticket_id = _param("ticket_id", "path", True, {"type": "integer"})
    proof = [number, _param("phone_tail"), _param("customer_id", schema={"type": "integer"}),
             _param("conversation_id")]
    return {
        "openapi": "3.0.3",
        "info": {"title": "Logistics backend", "version": "1.0.0",
                 "description": "System of record of the 快递物流智能客服 assistant."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "OK"}}}},
            "/api/v1/customers": {"post": _op("Create a customer, or merge bindings into the same phone",
                                              body="CustomerIn", ok="201", errors=("400", "401", "422"))},
            "/api/v1/customers/lookup": {"get": _op("Find the customer bound to a channel identity",
                                                    params=[_param("channel", required=True),
                                                            _param("external_id", required=True)])},
            "/api/v1/bindings/otp": {"post": _op(
                "Send a one-time code to a phone for binding a chat ({phone, channel, external_id}); the answer "
                "holds demo_code while DEMO_MODE is on; 429 rate_limited with retry_after",
                body="BindingCodeIn", errors=("400", "401", "422", "429"))},
            "/api/v1/bindings/otp/verify": {"post": _op(
                "Check the code and bind the chat (channel, external_id) to the phone's customer; 400 wrong_code "
                "(attempts_left) or code_expired, 403 too_many_attempts",
                body="BindingVerifyIn", errors=("400", "401", "403", "422"))},
            "/api/v1/shipments": {"post": _op("Create a shipment", body="ShipmentIn", ok="201",
                                              errors=("400", "401", "409", "422"))},
            "/api/v1/shipments/{tracking_number}": {"get": _op(
                "A shipment with events newest first, for a caller who proves a link",
                params=[number, _param("phone_tail"), _param("customer_id", schema={"type": "integer"}),
                        _param("conversation_id")],
                errors=("400", "401", "403", "404", "429"))},
            "/api/v1/shipments/{tracking_number}/events": {"post": _op(
                "Record a scan (may arrive out of order)", body="EventIn", params=[number], ok="201",
                errors=("400", "401", "404", "422"))},
            "/api/v1/tracking-numbers/{number}": {"get": _op(
                "Carrier candidates by pattern, confirmed against records",
                params=[_param("number", "path", True)])},
            "/api/v1/tickets": {
                "post": _op("Create a ticket (idempotent by idempotency_key)", body="TicketIn", ok="201",
                            errors=("400", "401", "404", "422")),
                "get": _op("Tickets matching every given filter (at least one), newest first, at most 200",
                           params=[_param("conversation_id"), _param("tracking_number"),
                                   _param("customer_id", schema={"type": "integer"}),
                                   _param("status", schema={"type": "string",
                                                            "enum": [t.value for t in TicketStatus],
                                                            "description": "open = open, in_progress or "
                                                                           "waiting_customer"}),
                                   _param("type", schema={"$ref": "#/components/schemas/TicketType"})]),
            },
            "/api/v1/tickets/{ticket_id}": {
                "get": _op("One ticket with details, evidence, history, facility and payout",
                           params=[ticket_id]),
                "patch": _op("Update status, note, SLA due time or payout; each change is logged with the actor. "
                             "Status moves forward (skipping allowed), waiting_customer -> in_progress, and "
                             "resolved/closed reopen to in_progress", body="TicketPatch", params=[ticket_id],
                             errors=("400", "401", "404", "415", "422")),
            },
            "/api/v1/tickets/{ticket_id}/evidence": {"post": _evidence_upload(ticket_id)},
            "/api/v1/tickets/{ticket_id}/evidence/{evidence_id}": {"get": {
                "summary": "The photo's bytes", "security": [{"bearer": []}],
                "parameters": [ticket_id, _param("evidence_id", "path", True, {"type": "integer"})],
                "responses": {
                    "200": {"description": "the image", "content": {
                        t: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED_TYPES}},
                    "304": {"description": "not modified (If-None-Match with the sha256 ETag)"},
                    **{code: {"description": "error", "content": {"application/json": {"schema": ERROR}}}
                       for code in ("401", "404")},
                }}},
            **_handoff_paths(),
            **_analytics_paths(),
            "/api/v1/shipments/{tracking_number}/compensation": {"get": _with_answer(_op(
                "Liability cap, basis and claim timelines of a parcel, for a caller who proves a link",
                params=proof, errors=("400", "401", "403", "404", "429")), "Compensation")},
            "/api/v1/shipments/{tracking_number}/outlet": {"get": _with_answer(_op(
                "The outlet, station or locker where the parcel waits; 404 not_at_outlet when it does not wait at "
                "one", params=proof, errors=("400", "401", "403", "404", "429")), "Outlet")},
        },
    }


def _analytics_paths() -> dict:
    since = _param("since", schema={"type": "string", "description": "24h, 7d, 2w (back from now) or ISO 8601"})
    until = _param("until", schema={"type": "string", "description": "ISO 8601 or 24h/7d back from now; default now"})
    category = _param("category", schema={"type": "string", "description": "complaint category code "
                                           "(ComplaintCategory) or a problem: urge, fresh_delay, lost, ..."})
    carrier = _param("carrier", schema={"type": "string", "description": "sf, zto, yto, sto, yunda, jd, jt, ems"})
    return {
        "/api/v1/analytics/run": {"post": _op(
            "Run the detectors now (they also run every ANALYTICS_RUN_SECONDS): spikes (last 24 h against the "
            "trailing 14 days) and concentrations (a category's share on a route or outlet over 7 days). A new "
            "signal opens an alert and one ops_alert ticket for the responsible outlet or route owner; a signal "
            "still present updates its open alert; an open alert whose signal is gone is resolved with its ticket. "
            "Answers {opened, updated, resolved, open} (lists of Alert)", errors=("400", "401"))},
        "/api/v1/analytics/alerts": {"get": _with_answer(_op(
            "Alerts, newest first (at most 200): since (seen since), category, status (open or resolved)",
            params=[since, category, _param("status", schema={"type": "string", "enum": ["open", "resolved"]})],
            errors=("400", "401")), "AlertList")},
        "/api/v1/analytics/report": {"get": _op(
            "Counts and rates by category x scope in a window (default the last 7 days): by = category, area "
            "(city+district+小区), outlet, route, hub, carrier, city, channel or goods_type; rate = the count's "
            "share of all events of that scope in the window",
            params=[since, until, _param("by"), category, carrier], errors=("400", "401"))},
        "/api/v1/analytics/trend": {"get": _op(
            "Events per China-time day and category (default the last 30 days), the six largest categories and "
            "the rest as other_categories", params=[since, until, category, carrier], errors=("400", "401"))},
    }


def _handoff_paths() -> dict:
    handoff_id = _param("handoff_id", "path", True, {"type": "integer"})
    return {
        "/api/v1/handoffs": {
            "post": _op("Queue the conversation for a human agent with its package (诉求, numbers, 补充信息, emotion, "
                        "transcript); the backend adds each parcel's status and last scan, the tickets already "
                        "triggered with their age and the masked contact, and opens a handoff ticket. 201 new; 200 "
                        "for the same idempotency_key or when the conversation already has an open handoff",
                        body="HandoffIn", ok="201", errors=("400", "401", "404", "415", "422")),
            "get": _op("The handoffs of a conversation, newest first",
                       params=[_param("conversation_id", required=True)]),
        },
        "/api/v1/handoffs/waiting": {"post": _waiting_op()},
        "/api/v1/handoffs/expire": {"post": _op(
            "End every wait past HANDOFF_MAX_WAIT_MINUTES now (the backend's sweeper does it every "
            "HANDOFF_SWEEP_SECONDS): handoffs and tickets closed as expired, callback tickets opened, the bot "
            "tells each user; answers {\"expired\": [handoff ids], \"told\": [handoff ids]}", errors=("401",))},
        "/api/v1/handoffs/{handoff_id}": {"get": _op(
            "One handoff: status, queue position, rough wait, package, agent replies with delivery state",
            params=[handoff_id])},
        "/api/v1/handoffs/{handoff_id}/outbox": {"get": _op(
            "Agent replies not yet delivered to the user, oldest first (read by action_relay_agent_reply)",
            params=[handoff_id])},
        "/api/v1/handoffs/{handoff_id}/outbox/{message_id}/delivered": {"post": _op(
            "Mark a reply delivered (idempotent)",
            params=[handoff_id, _param("message_id", "path", True, {"type": "integer"})])},
        "/api/v1/handoffs/{handoff_id}/outbox/{message_id}/undelivered": {"post": _op(
            "Put a reply the user's channel refused back into the outbox with the reason ({\"error\"}): WeChat "
            "outside its 48-hour window, say; the console shows it as not delivered",
            params=[handoff_id, _param("message_id", "path", True, {"type": "integer"})])},
        "/api/v1/handoffs/{handoff_id}/rating": {"post": _op(
            "The user's 1-5 rating of a closed handoff (409 while it is open)", body="RatingIn", params=[handoff_id],
            errors=("400", "401", "404", "409", "422"))},
    }


def _waiting_op() -> dict:
    op = _with_answer(_op(
        "A message Rasa received while the conversation waits for (or talks to) a human: recorded for the agent, "
        "and answered by the handoff side, never the bot's NLU. The answer says what Rasa tells the user "
        "(response: a response of domain/handoff_wait.yml, values: its values; null for nothing) and whether the "
        "bot takes the conversation back (action: resume, after 算了/取消/不转了…, /restart or a wait past "
        "HANDOFF_MAX_WAIT_MINUTES, which also opens a callback ticket when the contact is known); agent_messages "
        "are replies the agent wrote that never reached the user, now marked delivered. 201 when recorded; 200 for "
        "the same conversation, text and timestamp again (the same answer) or when no handoff is open",
        body="WaitingIn", ok="201", errors=("400", "401", "415", "422")), "WaitingAnswer", "201")
    op["responses"]["200"] = {"description": "the same message again, or no open handoff", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/WaitingAnswer"}}}}
    return op


def _with_answer(op: dict, schema: str, code: str = "200") -> dict:
    op["responses"][code]["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return op


def _evidence_upload(ticket_id: dict) -> dict:
    op = _with_answer(_op(
        f"Attach a photo (JPEG, PNG or WebP by content, at most {MAX_BYTES // (1024 * 1024)} MiB). 201 when stored; "
        "200 with the stored evidence when the same bytes were already attached to this ticket",
        params=[ticket_id], ok="201", errors=("400", "401", "404", "409", "413", "415", "422")), "Evidence", "201")
    op["responses"]["200"] = {"description": "the same photo was already attached", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Evidence"}}}}
    op["requestBody"] = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "actor": {"type": "string", "maxLength": 64}}}},
        "application/json": {"schema": {"$ref": "#/components/schemas/EvidenceIn"}},
    }}
    return op


def _response_schemas() -> dict:
    """Answers other parts read field by field (the assistant's claim and urge scenarios)."""
    string, number, integer, boolean = ({"type": "string"}, {"type": "number"}, {"type": "integer"},
                                        {"type": "boolean"})
    nullable_time = {"type": "string", "format": "date-time", "nullable": True}
    alert = {"type": "object", "properties": {
        "id": integer, "kind": {"type": "string", "enum": ["spike", "concentration"]}, "category": string,
        "category_label": string,
        "scope": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["area", "outlet", "route", "hub"]}, "name": string, "key": string}},
        "count": integer, "baseline": number, "p_value": number, "summary": string,
        "evidence": {"type": "object", "description": "window, baseline, counts by day, top outlets/routes/areas, "
                                                      "carriers, example conversations (examples), owner"},
        "suggested_action": string, "ticket_id": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": ["open", "resolved"]},
        "opened_at": {"type": "string", "format": "date-time"},
        "last_seen_at": {"type": "string", "format": "date-time"}, "resolved_at": nullable_time}}
    return {
        "Alert": alert,
        "AlertList": {"type": "object", "properties": {"alerts": {"type": "array", "items": {
            "$ref": "#/components/schemas/Alert"}}}},
        "WaitingAnswer": {"type": "object", "properties": {
            "handoff_id": {"type": "integer", "nullable": True},
            "status": {"type": "string", "enum": ["queued", "active", "closed"], "nullable": True},
            "action": {"type": "string", "enum": ["wait", "resume"]},
            "outcome": {"type": "string", "enum": ["queued", "next", "agent_joined", "with_agent", "cancelled",
                                                   "restarted", "expired", "expired_callback", "closed"]},
            "response": {"type": "string", "nullable": True},
            "values": {"type": "object", "additionalProperties": string},
            "agent_messages": {"type": "array", "items": {"type": "object"}}}},
        "Evidence": {"type": "object", "properties": {
            "id": integer, "ticket_id": integer, "filename": string,
            "content_type": {"type": "string", "enum": list(ALLOWED_TYPES)}, "size": integer,
            "sha256": string, "created_at": {"type": "string", "format": "date-time"}}},
        "Compensation": {"type": "object", "properties": {
            "tracking_number": string, "carrier": string, "carrier_name": string, "goods_type": string,
            "insured": boolean, "insured_value": number, "max_payout": number,
            "basis": {"type": "string", "enum": ["insured_value", "carrier_terms"]},
            "fee_multiple": {"type": "integer", "nullable": True},
            "freight_estimate": {"type": "number", "nullable": True}, "freight_is_estimate": boolean,
            "terms_summary": string, "review_days": integer,
            "review_unit": {"type": "string", "enum": ["working_days"]}, "payout_days": integer,
            "fresh": {"type": "object", "nullable": True, "properties": {
                "delay_remedy": {"type": "string", "enum": ["refund_freight"]}, "priority_claim": boolean,
                "callback_hours": integer, "review_hours": integer}},
            "source": string}},
        "Outlet": {"type": "object", "properties": {
            "tracking_number": string, "status": {"$ref": "#/components/schemas/Status"}, "status_label": string,
            "waiting_for": {"type": "string", "enum": ["dispatch", "pickup"]},
            "code": string, "name": string, "kind": {"type": "string", "enum": ["outlet", "station", "locker"]},
            "city": string, "address": {"type": "string", "nullable": True},
            "phone": {"type": "string", "nullable": True},
            "promised_dispatch_hours": {"type": "integer", "nullable": True},
            "arrived_at": {"type": "string", "format": "date-time"}, "dispatch_due_at": nullable_time,
            "waited_hours": number, "overdue": boolean,
            "incident": {"type": "object", "nullable": True, "properties": {
                "kind": string, "summary": string, "expected_clear_at": nullable_time}}}},
    }
