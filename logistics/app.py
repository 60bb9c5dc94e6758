"""The backend's WSGI application: routes, auth, errors as JSON, one transaction per request."""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from logistics import db
from logistics.customers.views import blueprint as customers_bp
from logistics.errors import ApiError
from logistics.handoffs.console import blueprint as console_bp
from logistics.handoffs.views import blueprint as handoffs_bp
from logistics.openapi import build_openapi
from logistics.settings import Settings
from logistics.shipments.views import blueprint as shipments_bp
from logistics.tickets.views import blueprint as tickets_bp
from logistics.web.views import blueprint as web_bp

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine=None) -> Flask:
    """Build the app for the given settings; tests pass their own engine."""
    app = Flask(__name__)
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

    @api.before_request
    def require_token():
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), settings.api_token):
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <LOGISTICS_API_TOKEN>")

    for blueprint in (customers_bp, shipments_bp, tickets_bp, handoffs_bp):
        api.register_blueprint(blueprint)
    app.register_blueprint(api)
    app.register_blueprint(console_bp)
    app.register_blueprint(web_bp)

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
