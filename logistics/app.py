"""The backend's WSGI application: routes, auth, errors as JSON, one transaction per request."""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from logistics import db
from logistics.analytics.views import api as analytics_bp
from logistics.analytics.views import dashboard as ops_bp
from logistics.customers.views import blueprint as customers_bp
from logistics.errors import ApiError, not_found
from logistics.handoffs.console import blueprint as console_bp
from logistics.handoffs.views import blueprint as handoffs_bp
from logistics.http import load_json
from logistics.openapi import build_openapi
from logistics.settings import Settings
from logistics.shipments.views import blueprint as shipments_bp
from logistics.tickets.views import blueprint as tickets_bp
from logistics.web.views import blueprint as web_bp

log = logging.getLogger(__name__)


class AsciiIntConverter(IntegerConverter):
    """<int:...> path parts in ASCII digits only: werkzeug's \\d also matches ١٢ and other scripts' digits."""

    regex = r"[0-9]+"


class StrictJSONProvider(DefaultJSONProvider):
    """request.get_json() everywhere: deep nesting, NUL characters and lone surrogates are invalid JSON (a 400 from
    get_json, never a RecursionError or a database error later)."""

    def loads(self, s, **kwargs):
        return load_json(s, **kwargs)


def _has_nul(values) -> str | None:
    for name, value in values:
        name = name if isinstance(name, str) else ""  # a multipart part may come without a name
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            return name.replace("\x00", "?")[:64] or "(unnamed)"
    return None


def create_app(settings: Settings, engine=None) -> Flask:
    """Build the app for the given settings; tests pass their own engine."""
    app = Flask(__name__)
    # Before any blueprint adds its rules: every <int:...> of the app is ASCII-only.
    app.url_map.converters["int"] = AsciiIntConverter
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    engine = engine or db.make_engine(settings.database_url)
    app.extensions["engine"] = engine
    app.extensions["session_factory"] = db.session_factory(engine)
    app.extensions["settings"] = settings
    # The agent console's session cookie: signed, not readable by scripts, not sent on cross-site POSTs.
    app.secret_key = settings.agent_secret_key
    app.config.update(SESSION_COOKIE_NAME="agent_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.agent_cookie_secure,
                      PERMANENT_SESSION_LIFETIME=12 * 3600)

    api = Blueprint("api_v1", __name__, url_prefix="/api/v1")

    expected_token = settings.api_token.encode()

    @api.before_request
    def require_token():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        # Bytes: compare_digest raises TypeError on str with non-ASCII characters (a header such as "Bearer 令牌").
        sent = token.strip().encode("utf-8", "replace")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent, expected_token):
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <LOGISTICS_API_TOKEN>")

    for blueprint in (customers_bp, shipments_bp, tickets_bp, handoffs_bp, analytics_bp):
        api.register_blueprint(blueprint)
    app.register_blueprint(api)
    app.register_blueprint(console_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(web_bp)

    @app.url_value_preprocessor
    def ids_in_range(_endpoint, values):
        # An id no INTEGER column can hold names nothing: 404 here, not an overflow in SQLite or PostgreSQL.
        for name, value in (values or {}).items():
            if isinstance(value, int) and value > db.MAX_ID:
                raise not_found(name.removesuffix("_id"), value)

    @app.before_request
    def refuse_nul():
        # PostgreSQL refuses NUL in text (a 500 at the first query that carries it): 400 before any view runs.
        where = [("path", request.view_args.items() if request.view_args else ()),
                 ("query parameter", request.args.items(multi=True)),
                 ("header", request.headers.items())]
        size, limit = request.content_length, app.config["MAX_CONTENT_LENGTH"] or 0
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and \
                size is not None and size <= limit:
            # Form fields (a larger upload's are read by its own view, under its own limit). The body is cached
            # first, so the view can still read it raw (get_data) after the form was parsed from the cache.
            request.get_data(cache=True)
            where.append(("form field", request.form.items(multi=True)))
        for what, items in where:
            name = _has_nul(items)
            if name is not None:
                raise ApiError(400, "bad_request", f"{what} {name} must not contain NUL characters (\\u0000)")

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/openapi.json")
    def openapi():
        return build_openapi()

    @app.after_request
    def finish_transaction(response):
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        return response

    @app.teardown_request
    def close_on_error(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(exc.body()), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            404: "no such route",
            405: f"method {request.method} is not allowed here",
            413: f"the body is larger than {settings.max_body_bytes} bytes",
        }
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "message": messages.get(exc.code, exc.description)}), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": "internal_error", "message": "internal error; it has been logged"}), 500

    return app
