"""Request plumbing shared by the views: the database session, JSON bodies, schema validation."""
from __future__ import annotations

import json
import re
from typing import Any, Type, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel, ValidationError

from logistics.db import MAX_ID
from logistics.errors import ApiError

M = TypeVar("M", bound=BaseModel)

# No request body of this API nests deeper; json.loads itself fails with RecursionError near 1,000.
MAX_JSON_DEPTH = 32
_ASCII_ID = re.compile(r"[0-9]{1,10}")
# NUL (PostgreSQL refuses it in text) and unpaired UTF-16 surrogates ("\ud800" in JSON; no database can store it).
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class BadJson(ValueError):
    """A body that is JSON but not acceptable: too deep, or text no database can store. Carries the answer."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def api_error(self) -> ApiError:
        details = [{"field": self.field, "message": self.message}] if self.field is not None else None
        prefix = f"invalid request: {self.field}: " if self.field is not None else ""
        return ApiError(self.status, self.code, prefix + self.message, details)


def load_json(data: str | bytes, **kwargs) -> Any:
    """json.loads that refuses, with a ValueError, what the rest of the system cannot handle: nesting deeper than
    MAX_JSON_DEPTH (and the RecursionError of 10,000 levels), NUL characters and unpaired surrogates."""
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise BadJson(400, "malformed_json", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels") from None
    check_json_value(value)
    return value


def check_json_value(value: Any) -> None:
    """Walk a parsed JSON value without recursion; BadJson for excessive depth or unstorable characters."""
    stack: list[tuple[Any, tuple, int]] = [(value, (), 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadJson(400, "malformed_json", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, path + (key,))
                stack.append((child, path + (key,), depth + 1))
        else:
            stack.extend((child, path + (index,), depth + 1) for index, child in enumerate(item))


def _check_text(text: str, path: tuple) -> None:
    bad = _BAD_CHARS.search(text)
    if bad is None:
        return
    field = ".".join(_printable(p) for p in path) or "body"
    what = "NUL characters (\\u0000)" if bad.group() == "\x00" else "unpaired UTF-16 surrogates (\\ud800-\\udfff)"
    raise BadJson(422, "validation_error", f"must not contain {what}", field)


def _printable(part: object) -> str:
    return _BAD_CHARS.sub("?", str(part))[:64]


def session():
    """The request's session; committed or rolled back when the request ends (see app.py)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["session_factory"]()
    return g.db_session


def json_body() -> dict:
    """The request's JSON object, or a 400/415/422 that says what is wrong with it."""
    data = request.get_data(cache=True)
    if not data:
        raise ApiError(400, "empty_body", "the request needs a JSON object body")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        body = load_json(data)
    except BadJson as exc:
        raise exc.api_error() from None
    except ValueError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
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
    """An optional id in the query string: ASCII digits only (not ², ١٢ or １２) and at most MAX_ID; else a 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not _ASCII_ID.fullmatch(raw) or int(raw) > MAX_ID:
        raise ApiError(400, "bad_request", f"{name} must be a whole number from 0 to {MAX_ID} in ASCII digits")
    return int(raw)
