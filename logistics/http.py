"""Request plumbing shared by the views: the database session, JSON bodies, schema validation."""
from __future__ import annotations

from typing import Type, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from logistics.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def session():
    """The request's session; committed or rolled back when the request ends (see app.py)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["session_factory"]()
    return g.db_session


def json_body() -> dict:
    """The request's JSON object, or a 400/415 that says what is wrong with it."""
    if not request.get_data(cache=True):
        raise ApiError(400, "empty_body", "the request needs a JSON object body")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "malformed_json", "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return body


def parse(model: Type[M]) -> M:
    """Validate the JSON body against a schema; field errors become a 422 listing each field."""
    try:
        return model.parse_obj(json_body())
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        raise ApiError(422, "validation_error", f"invalid request: {summary}", details) from None


def query_int(name: str) -> int | None:
    """An optional integer query parameter, or a 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError(400, "bad_request", f"{name} must be a positive integer")
    return int(raw)
