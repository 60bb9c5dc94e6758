"""The action server as it runs here: rasa-sdk's app, bound to localhost, answering only callers with the token.

`python -m actions.server` replaces `rasa run actions`. Rasa sends the token in the header configured in
endpoints.yml (`Authorization: Bearer ${ACTION_SERVER_TOKEN}`); anything else gets 401 before an action runs,
so nobody can post a hand-made tracker with someone else's slots. /health stays open for readiness checks.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os

from rasa_sdk.endpoint import create_app
from sanic import response

DEMO_TOKEN = "dev-action-token"
log = logging.getLogger(__name__)


def token_from_env() -> str:
    return os.environ.get("ACTION_SERVER_TOKEN") or DEMO_TOKEN


def authorized(header: str, token: str) -> bool:
    """A constant-time check of `Bearer <token>`; any header that is not ASCII simply does not match."""
    scheme, _, sent = (header or "").partition(" ")
    try:
        sent_bytes = sent.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return scheme.lower() == "bearer" and hmac.compare_digest(sent_bytes, token.encode("ascii"))


def build_app(token: str, package: str = "actions"):
    app = create_app(package, cors_origins=[])

    @app.middleware("request")
    async def require_token(request):
        if request.path == "/health":
            return None
        if not authorized(request.headers.get("Authorization", ""), token):
            log.warning("refused an action call without the token from %s", request.ip)
            return response.json({"error": "unauthorized",
                                  "message": "send Authorization: Bearer <ACTION_SERVER_TOKEN>"}, status=401)
        return None

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the assistant's action server")
    parser.add_argument("--host", default=os.environ.get("ACTIONS_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT") or 5055))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("ACTIONS_WORKERS") or 1))
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL") or "INFO",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = token_from_env()
    if token == DEMO_TOKEN and not demo_mode():
        raise SystemExit("ACTION_SERVER_TOKEN is the demo default; set a secret of your own (or DEMO_MODE=true)")
    app = build_app(token)
    log.info("action server on http://%s:%s (token required)", args.host, args.port)
    # Sanic's default backlog is 100 connections: beyond it a burst of new connections (Rasa opening one per
    # concurrent action call) waits for SYN retransmissions, 1 s, 3 s, 7 s... (issue #15).
    app.run(args.host, args.port, workers=args.workers, access_log=False,
            backlog=int(os.environ.get("ACTIONS_BACKLOG") or 1024))


def demo_mode() -> bool:
    return (os.environ.get("DEMO_MODE") or "false").strip().lower() in ("1", "true", "yes", "on")


if __name__ == "__main__":
    main()
