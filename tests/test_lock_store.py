"""addons/lock_store.py: two Rasa processes taking tickets of one conversation at the same moment get different
tickets and are served one after the other; alone, the store behaves as Rasa's RedisLockStore (same lock states).
Needs Redis (SCALE_REDIS_URL, default redis://127.0.0.1:6379/13); skipped when it does not answer."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from rasa.core.lock_store import RedisLockStore

from addons.lock_store import AtomicRedisLockStore
from tests.scaled_stack import REDIS_URL, redis_reachable

pytestmark = pytest.mark.skipif(redis_reachable() is not None, reason=redis_reachable() or "")


def _kwargs(prefix: str) -> dict:
    parts = urlsplit(REDIS_URL)
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 6379,
            "db": int((parts.path or "/0").lstrip("/") or 0), "key_prefix": prefix}


@pytest.fixture()
def prefix():
    name = f"locktest{uuid.uuid4().hex[:8]}"
    yield name
    store = RedisLockStore(**_kwargs(name))
    for key in store.red.scan_iter(f"{name}*"):
        store.red.delete(key)


def test_tickets_taken_at_the_same_moment_by_two_processes_are_all_different(prefix):
    stores = [AtomicRedisLockStore(**_kwargs(prefix)) for _ in range(4)]  # one connection each, as processes
    taken, start = [], threading.Barrier(len(stores))

    def take(store):
        start.wait()
        for _ in range(25):
            taken.append(store.issue_ticket("c1", 60))

    threads = [threading.Thread(target=take, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(len(taken)))  # 100 tickets, no number twice, none skipped


def test_two_processes_serving_one_conversation_never_overlap(prefix):
    inside, overlaps, served = [0], [], []

    def process(name: str) -> None:
        store = AtomicRedisLockStore(**_kwargs(prefix))

        async def messages():
            for n in range(6):
                async with store.lock("c2", lock_lifetime=30, wait_time_in_seconds=0.01):
                    inside[0] += 1
                    if inside[0] > 1:
                        overlaps.append((name, n))
                    await asyncio.sleep(0.02)
                    served.append(name)
                    inside[0] -= 1

        asyncio.run(messages())

    threads = [threading.Thread(target=process, args=(f"replica{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [] and len(served) == 12
    assert AtomicRedisLockStore(**_kwargs(prefix)).get_lock("c2") is None  # given back and deleted


def test_alone_it_changes_the_lock_as_rasas_store_does(prefix):
    ours = AtomicRedisLockStore(**_kwargs(prefix + "a"))
    theirs = RedisLockStore(**_kwargs(prefix + "b"))

    def state(store):
        lock = store.get_lock("c3")
        return None if lock is None else [t.number for t in lock.tickets]

    steps = [lambda s: s.issue_ticket("c3", 60), lambda s: s.issue_ticket("c3", 0.01),
             lambda s: time.sleep(0.05), lambda s: s.issue_ticket("c3", 60), lambda s: s.update_lock("c3"),
             lambda s: s.finish_serving("c3", 0), lambda s: s.cleanup("c3", 2), lambda s: s.cleanup("c3", 9),
             lambda s: s.issue_ticket("c3", 60), lambda s: s.cleanup("c3", 3), lambda s: s.update_lock("c3"),
             lambda s: s.cleanup("c3", 0)]
    for step in steps:
        assert step(ours) == step(theirs)
        assert state(ours) == state(theirs)


def test_rasa_builds_it_from_the_endpoints(prefix):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    kwargs = _kwargs(prefix)
    config = EndpointConfig(url=kwargs.pop("host"), type="addons.lock_store.AtomicRedisLockStore", **kwargs)
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore) and store.key_prefix.startswith(prefix)
    assert store.issue_ticket("c4") == 0
