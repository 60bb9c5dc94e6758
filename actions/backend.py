"""The one client of the logistics backend: a requests.Session with a token, short timeouts and retries."""
from __future__ import annotations

import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from actions.config import ActionSettings, load

log = logging.getLogger(__name__)


class BackendError(Exception):
    """A failed backend call, classified so an action can pick the right answer."""

    UNAVAILABLE = "unavailable"  # down, timed out, 5xx: apologise, nothing is lost
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    LOCKED = "locked"
    INVALID = "invalid"

    def __init__(self, kind: str, message: str, status: int | None = None, details: Any = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.message = message
        self.details = details or {}


class BackendClient:
    def __init__(self, settings: ActionSettings | None = None):
        self.settings = settings or load()
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {self.settings.api_token}",
                                     "Accept": "application/json"})
        # Ticket creation is idempotent by key, so POST may be retried like the reads.
        retry = Retry(total=self.settings.retries, connect=self.settings.retries, read=self.settings.retries,
                      status=self.settings.retries, backoff_factor=0.2, status_forcelist=(502, 503, 504),
                      allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _call(self, method: str, path: str, **kwargs) -> Any:
        url = f"{self.settings.backend_url}{path}"
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            log.warning("backend %s %s failed: %s", method, path, exc)
            raise BackendError(BackendError.UNAVAILABLE, "backend unreachable") from exc
        if response.status_code >= 500:
            raise BackendError(BackendError.UNAVAILABLE, f"backend error {response.status_code}",
                               response.status_code)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            kind = {404: BackendError.NOT_FOUND, 403: BackendError.FORBIDDEN, 429: BackendError.LOCKED}.get(
                response.status_code, BackendError.INVALID)
            raise BackendError(kind, body.get("message", response.reason), response.status_code,
                               body.get("details"))
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(BackendError.UNAVAILABLE, "backend answered without JSON") from exc

    def health(self) -> bool:
        try:
            response = self.session.get(f"{self.settings.backend_url}/health", timeout=1.0)
            return response.ok
        except requests.RequestException:
            return False

    def customer_by_binding(self, channel: str, external_id: str) -> dict | None:
        """The bound customer with their shipments (masked), or None for an anonymous user."""
        try:
            return self._call("GET", "/api/v1/customers/lookup",
                              params={"channel": channel, "external_id": external_id})
        except BackendError as exc:
            if exc.kind == BackendError.NOT_FOUND:
                return None
            raise

    def shipment(self, tracking_number: str, **proof) -> dict:
        """A shipment for a caller who proves a link: the conversation (its binding or an earlier matching tail,
        see identity.proof), or a phone tail counted towards the conversation, number and address locks."""
        params = {k: v for k, v in proof.items() if v is not None}
        return self._call("GET", f"/api/v1/shipments/{tracking_number}", params=params)

    def outlet(self, tracking_number: str, **proof) -> dict:
        """Where the parcel waits for delivery, with the outlet's promised window and how long it has waited."""
        return self._call("GET", f"/api/v1/shipments/{tracking_number}/outlet", params=proof)

    def compensation(self, tracking_number: str, **proof) -> dict:
        """The compensation terms that apply to this parcel (insured value or the carrier's terms)."""
        return self._call("GET", f"/api/v1/shipments/{tracking_number}/compensation", params=proof)

    def watch_arrival(self, tracking_number: str, **proof) -> dict:
        """Ask to be told when the parcel reaches its outlet (idempotent per conversation and parcel); the
        conversation and channel of the proof (identity.proof) are the ones told."""
        return self._call("POST", f"/api/v1/shipments/{tracking_number}/watches", params=proof,
                          json={"conversation_id": proof["conversation_id"], "channel": proof["channel"]})

    def update_ticket(self, ticket_id: int, **changes) -> dict:
        return self._call("PATCH", f"/api/v1/tickets/{ticket_id}", json=changes)

    def recognize(self, number: str) -> dict:
        return self._call("GET", f"/api/v1/tracking-numbers/{number}")

    def create_ticket(self, *, type: str, idempotency_key: str, tracking_number: str | None = None,
                      conversation_id: str | None = None, details: dict | None = None) -> dict:
        body = {"type": type, "idempotency_key": idempotency_key, "details": details or {}}
        if tracking_number:
            body["tracking_number"] = tracking_number
        if conversation_id:
            body["conversation_id"] = conversation_id
        return self._call("POST", "/api/v1/tickets", json=body)

    def tickets(self, *, conversation_id: str | None = None, tracking_number: str | None = None,
                customer_id: int | None = None) -> list[dict]:
        params = {k: v for k, v in (("conversation_id", conversation_id), ("tracking_number", tracking_number),
                                    ("customer_id", customer_id)) if v}
        return self._call("GET", "/api/v1/tickets", params=params)["tickets"]

    def ticket(self, ticket_id: int) -> dict:
        return self._call("GET", f"/api/v1/tickets/{ticket_id}")

    def create_handoff(self, body: dict) -> dict:
        """Queue the conversation for a human with its package (idempotent by body["idempotency_key"])."""
        return self._call("POST", "/api/v1/handoffs", json=body)

    def handoffs(self, conversation_id: str) -> list[dict]:
        """The conversation's handoffs, newest first."""
        return self._call("GET", "/api/v1/handoffs", params={"conversation_id": conversation_id})["handoffs"]

    def outbox(self, handoff_id: int) -> list[dict]:
        """The agent's messages not yet delivered to the user, oldest first."""
        return self._call("GET", f"/api/v1/handoffs/{handoff_id}/outbox")["messages"]

    def mark_delivered(self, handoff_id: int, message_id: int) -> dict:
        return self._call("POST", f"/api/v1/handoffs/{handoff_id}/outbox/{message_id}/delivered", json={})

    def rate_handoff(self, handoff_id: int, rating: int, comment: str | None = None) -> dict:
        body = {"rating": rating, **({"comment": comment} if comment else {})}
        return self._call("POST", f"/api/v1/handoffs/{handoff_id}/rating", json=body)

    def request_binding_code(self, *, phone: str, channel: str, external_id: str) -> dict:
        """Send a one-time code to the phone for binding this chat (demo_code in the answer in demo mode)."""
        return self._call("POST", "/api/v1/bindings/otp",
                          json={"phone": phone, "channel": channel, "external_id": external_id})

    def verify_binding_code(self, *, phone: str, code: str, channel: str, external_id: str) -> dict:
        """Check the code; on success the chat is bound to the phone's customer."""
        return self._call("POST", "/api/v1/bindings/otp/verify",
                          json={"phone": phone, "code": code, "channel": channel, "external_id": external_id})


_client: BackendClient | None = None


def client() -> BackendClient:
    """The process-wide client (connection pooling across actions)."""
    global _client
    if _client is None:
        _client = BackendClient()
    return _client


def reset_client(new: BackendClient | None = None) -> None:
    """Replace the process-wide client (tests point it at their backend)."""
    global _client
    _client = new
