"""WeChat's server API as the channel uses it: the access token, customer-service messages, media downloads.

The access token is cached per process and fetched again shortly before it expires; a lock makes sure one
request fetches it however many messages arrive at once. A token WeChat calls invalid (40001, also 40014 and
42001) is fetched again once and the call retried once. 45015 (the user has not written for 48 hours, so
customer-service messages are refused) is raised as OutsideWindow for the caller to keep the message.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, Optional, Tuple

import aiohttp

log = logging.getLogger(__name__)

TOKEN_INVALID = frozenset({40001, 40014, 42001})
OUTSIDE_WINDOW = 45015


class WeChatApiError(Exception):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class OutsideWindow(WeChatApiError):
    """45015: the user last wrote more than 48 hours ago; WeChat refuses customer-service messages."""


class WeChatApi:
    def __init__(self, base_url: str, app_id: str, app_secret: str, *, timeout: float = 5.0,
                 refresh_margin: float = 300.0):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.refresh_margin = refresh_margin
        self._token: Optional[str] = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self._session: Optional[aiohttp.ClientSession] = None

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_secret)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _fresh(self) -> bool:
        return self._token is not None and time.monotonic() < self._refresh_at

    async def access_token(self, *, stale: Optional[str] = None) -> str:
        """The cached token; fetched (once, under the lock) when missing, near expiry or equal to `stale`."""
        if self._fresh() and self._token != stale:
            return self._token  # type: ignore[return-value]
        async with self._lock:
            # Another request may have fetched it while this one waited for the lock.
            if self._fresh() and self._token != stale:
                return self._token  # type: ignore[return-value]
            if not self.configured:
                raise WeChatApiError(-1, "WECHAT_APP_ID and WECHAT_APP_SECRET are not set")
            params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
            async with self._http().get(f"{self.base_url}/cgi-bin/token", params=params) as response:
                data = await response.json(content_type=None)
            if not isinstance(data, dict) or not data.get("access_token"):
                code = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
                raise WeChatApiError(code, str(data.get("errmsg", "no access_token")) if isinstance(data, dict)
                                     else "no access_token")
            lifetime = float(data.get("expires_in") or 7200)
            self._token = data["access_token"]
            # Refresh before WeChat's expiry, never later than half the lifetime.
            self._refresh_at = time.monotonic() + max(1.0, lifetime - min(self.refresh_margin, lifetime / 2))
            log.info("wechat access token fetched (valid %.0f s)", lifetime)
            return self._token

    async def _call(self, method: str, path: str, *, json_body: Any = None,
                    params: Optional[Dict[str, str]] = None, raw: bool = False) -> Any:
        token = await self.access_token()
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": token}
            async with self._http().request(method, f"{self.base_url}{path}", params=query,
                                            json=json_body) as response:
                content_type = response.headers.get("Content-Type", "")
                if raw and "json" not in content_type and "text/plain" not in content_type:
                    return await response.read(), content_type
                data = await response.json(content_type=None)
            code = int(data.get("errcode") or 0) if isinstance(data, dict) else 0
            if code in TOKEN_INVALID and attempt == 1:
                log.warning("wechat says the access token is invalid (%s); fetching a new one and retrying once",
                            code)
                token = await self.access_token(stale=token)
                continue
            if code == OUTSIDE_WINDOW:
                raise OutsideWindow(code, str(data.get("errmsg", "")))
            if code:
                raise WeChatApiError(code, str(data.get("errmsg", "")))
            return data
        raise AssertionError("unreachable")

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (message/custom/send)."""
        await self._call("POST", "/cgi-bin/message/custom/send",
                         json_body={"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def media(self, media_id: str) -> Tuple[bytes, str]:
        """A temporary media file (a user's photo) by its MediaId: the bytes and their content type."""
        found = await self._call("GET", "/cgi-bin/media/get", params={"media_id": media_id}, raw=True)
        if isinstance(found, tuple):
            return found
        raise WeChatApiError(-1, "media/get answered JSON without an error code")


async def fetch_url(session_timeout: float, url: str, max_bytes: int) -> Tuple[bytes, str]:
    """A photo by its PicUrl (WeChat's CDN), at most max_bytes."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=session_timeout)) as http:
        async with http.get(url) as response:
            response.raise_for_status()
            data = await response.content.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ValueError("photo larger than the evidence limit")
            return data, response.headers.get("Content-Type", "")
