"""What the WeChat channel asks the logistics backend (Bearer API): where a user's photo goes, and which agent
replies WeChat refused to deliver (kept in the handoff's outbox for the agent to send again)."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

import aiohttp

log = logging.getLogger(__name__)

# The ticket types that take photos, in the order the website's upload picks them (logistics/web/service.py).
EVIDENCE_TYPES = ("claim", "fresh_priority_claim", "lost_investigation", "outlet_verification")
OPEN = ("open", "in_progress", "waiting_customer")


class BackendUnavailable(Exception):
    pass


class Backend:
    def __init__(self, base_url: str, token: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def _json(self, method: str, path: str, **kwargs) -> tuple[int, Any]:
        try:
            async with self._http().request(method, f"{self.base_url}{path}", **kwargs) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                return response.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendUnavailable(f"{method} {path}: {type(exc).__name__}") from None

    async def _wanting_evidence(self, params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        status, body = await self._json("GET", "/api/v1/tickets", params=params)
        if status != 200 or not isinstance(body, dict):
            if status >= 500:
                raise BackendUnavailable(f"tickets: {status}")
            return None
        return next((t for t in body.get("tickets") or []
                     if t.get("type") in EVIDENCE_TYPES and t.get("status") in OPEN), None)

    async def ticket_for_photo(self, openid: str) -> Optional[Dict[str, Any]]:
        """The conversation's newest open ticket that takes photos; else the bound customer's."""
        ticket = await self._wanting_evidence({"conversation_id": openid})
        if ticket is not None:
            return ticket
        status, customer = await self._json("GET", "/api/v1/customers/lookup",
                                            params={"channel": "wechat", "external_id": openid})
        if status != 200 or not isinstance(customer, dict):
            return None
        return await self._wanting_evidence({"customer_id": customer["id"]})

    async def attach_photo(self, ticket_id: int, data: bytes, content_type: str, filename: str) -> Dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type=content_type or "application/octet-stream")
        form.add_field("actor", "customer:wechat")
        status, body = await self._json("POST", f"/api/v1/tickets/{ticket_id}/evidence", data=form)
        if status not in (200, 201) or not isinstance(body, dict):
            raise BackendUnavailable(f"evidence upload answered {status}: {str(body)[:200]}")
        return body

    async def keep_undelivered(self, handoff_id: int, message_id: int, error: str) -> bool:
        """Put an agent's reply back into the handoff's outbox (the console shows it as not delivered)."""
        status, body = await self._json("POST", f"/api/v1/handoffs/{handoff_id}/outbox/{message_id}/undelivered",
                                        json={"error": error})
        if status != 200:
            log.error("could not keep agent message %s of handoff %s for the agent: %s %s", message_id, handoff_id,
                      status, body)
            return False
        return True
