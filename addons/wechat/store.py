"""Short-lived state the WeChat channel shares between its requests: which messages were taken (WeChat retries
each one up to three times), their outcome, and the numbered options last offered to each user.

Redis when REDIS_URL is set, so every Rasa worker or replica sees the same state (a retry may reach another
worker); otherwise a dict in this process.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Protocol

PREFIX = "wechat:"


class Store(Protocol):
    async def claim(self, key: str, value: Dict[str, Any], ttl: int) -> bool: ...

    async def get(self, key: str) -> Optional[Dict[str, Any]]: ...

    async def replace(self, key: str, expected_state: str, value: Dict[str, Any], ttl: int) -> bool: ...

    async def put(self, key: str, value: Any, ttl: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """One process's state (a single Rasa worker)."""

    def __init__(self) -> None:
        self._items: Dict[str, tuple] = {}

    def _live(self, key: str) -> Optional[Any]:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at <= time.monotonic():
            del self._items[key]
            return None
        return value

    def _sweep(self) -> None:
        if len(self._items) > 10000:
            now = time.monotonic()
            for key in [k for k, (_, exp) in self._items.items() if exp <= now]:
                del self._items[key]

    async def claim(self, key: str, value: Dict[str, Any], ttl: int) -> bool:
        # No await between the check and the write: atomic on the event loop.
        if self._live(key) is not None:
            return False
        self._sweep()
        self._items[key] = (json.dumps(value), time.monotonic() + ttl)
        return True

    async def get(self, key: str) -> Optional[Any]:
        raw = self._live(key)
        return json.loads(raw) if raw is not None else None

    async def replace(self, key: str, expected_state: str, value: Dict[str, Any], ttl: int) -> bool:
        current = await self.get(key)
        if not isinstance(current, dict) or current.get("state") != expected_state:
            return False
        self._items[key] = (json.dumps(value), time.monotonic() + ttl)
        return True

    async def put(self, key: str, value: Any, ttl: int) -> None:
        self._sweep()
        self._items[key] = (json.dumps(value), time.monotonic() + ttl)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    async def close(self) -> None:
        self._items.clear()


# Compare-and-set of a JSON value's "state" field, atomically in Redis.
_REPLACE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, decoded = pcall(cjson.decode, current)
if not ok or decoded['state'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class RedisStore:
    """State shared by every worker through Redis (SET NX for claims, a Lua script for compare-and-set)."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._replace = self._redis.register_script(_REPLACE)

    async def claim(self, key: str, value: Dict[str, Any], ttl: int) -> bool:
        return bool(await self._redis.set(PREFIX + key, json.dumps(value), nx=True, ex=ttl))

    async def get(self, key: str) -> Optional[Any]:
        raw = await self._redis.get(PREFIX + key)
        return json.loads(raw) if raw is not None else None

    async def replace(self, key: str, expected_state: str, value: Dict[str, Any], ttl: int) -> bool:
        done = await self._replace(keys=[PREFIX + key], args=[expected_state, json.dumps(value), ttl])
        return bool(done)

    async def put(self, key: str, value: Any, ttl: int) -> None:
        await self._redis.set(PREFIX + key, json.dumps(value), ex=ttl)

    async def delete(self, key: str) -> None:
        await self._redis.delete(PREFIX + key)

    async def close(self) -> None:
        await self._redis.close()


def make_store(redis_url: str = "") -> Store:
    return RedisStore(redis_url) if redis_url else MemoryStore()


def options_key(openid: str) -> str:
    return f"options:{openid}"


def options_value(options: List[Any]) -> List[Dict[str, str]]:
    return [{"key": o.key, "title": o.title, "payload": o.payload} for o in options]
