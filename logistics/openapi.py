"""The OpenAPI 3 document of the v1 API, with schemas taken from the request models."""
from __future__ import annotations

from functools import lru_cache

from logistics.customers.models import CustomerIn
from logistics.shipments.models import EventIn, ShipmentIn
from logistics.shipments.statuses import Status
from logistics.tickets.enums import TicketType
from logistics.tickets.models import TicketIn

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


def _param(name: str, where: str = "query", required: bool = False, schema: dict | None = None) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema or {"type": "string"}}


@lru_cache(maxsize=1)
def build_openapi() -> dict:
    """Build the document once per process."""
    schemas = {}
    for model in (CustomerIn, ShipmentIn, EventIn, TicketIn):
        schema = model.schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("definitions", {}))
        schemas[model.__name__] = schema
    schemas["Error"] = {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"}, "details": {}}}
    schemas["Status"] = {"type": "string", "enum": [s.value for s in Status]}
    schemas["TicketType"] = {"type": "string", "enum": [t.value for t in TicketType]}
    number = _param("tracking_number", "path", True)
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
                "get": _op("Tickets of a conversation or a shipment",
                           params=[_param("conversation_id"), _param("tracking_number")]),
            },
            "/api/v1/tickets/{ticket_id}": {"get": _op(
                "One ticket with details, evidence and history",
                params=[_param("ticket_id", "path", True, {"type": "integer"})])},
        },
    }
