"""The channel's shared state (addons/wechat/store.py): a message is claimed once, across workers with Redis."""
from __future__ import annotations

import asyncio

import pytest

from addons.wechat.store import MemoryStore, RedisStore


def stores(redis_url: str | None):
    return [MemoryStore()] if redis_url is None else [RedisStore(redis_url)]


async def _claim_once_then_compare_and_set(store):
    assert await store.claim("msg:1", {"state": "processing"}, 60) is True
    assert await store.claim("msg:1", {"state": "processing"}, 60) is False
    assert await store.replace("msg:1", "async", {"state": "done"}, 60) is False
    assert await store.replace("msg:1", "processing", {"state": "done", "reply": "好"}, 60) is True
    assert await store.get("msg:1") == {"state": "done", "reply": "好"}
    assert await store.replace("msg:1", "processing", {"state": "async"}, 60) is False
    assert await store.replace("msg:missing", "processing", {"state": "async"}, 60) is False
    await store.put("options:o1", [{"key": "1", "title": "t", "payload": "/p"}], 60)
    assert (await store.get("options:o1"))[0]["payload"] == "/p"
    await store.delete("options:o1")
    assert await store.get("options:o1") is None
    await store.delete("msg:1")
    await store.close()


def test_memory_store_claims_once_and_compares_and_sets():
    asyncio.run(_claim_once_then_compare_and_set(MemoryStore()))


def test_memory_store_forgets_after_the_ttl():
    async def main():
        store = MemoryStore()
        assert await store.claim("msg:2", {"state": "processing"}, 0)
        assert await store.claim("msg:2", {"state": "processing"}, 60)
    asyncio.run(main())


def test_redis_store_claims_once_and_compares_and_sets(redis_url):
    asyncio.run(_claim_once_then_compare_and_set(RedisStore(redis_url)))


@pytest.mark.parametrize("workers", [2, 8])
def test_concurrent_retries_on_several_workers_claim_a_message_once(redis_url, workers):
    async def main():
        # One store per worker process, as each Rasa worker has its own connection.
        each = [RedisStore(redis_url) for _ in range(workers)]
        won = await asyncio.gather(*(s.claim(f"msg:race-{workers}", {"state": "processing"}, 60) for s in each))
        for store in each:
            await store.close()
        return won
    assert sorted(asyncio.run(main())) == [False] * (workers - 1) + [True]
