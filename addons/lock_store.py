"""Rasa's Redis lock store with every change of a lock made atomically (issue #15; RasaHQ/rasa#9213).

Rasa serialises the handling of one conversation with a ticket lock kept in Redis: a message takes the next
ticket, waits until it is served, and gives the ticket back. Rasa's RedisLockStore reads the lock, changes it in
Python and writes it back, with nothing stopping another process in between. Two messages of one conversation
arriving at the same moment at two replicas (a WeChat retry, a double click, nginx spreading a burst) both read an
empty lock, both take ticket 0, both write, and both are "served" at once: each handles its message on a tracker
without the other's events, and the conversation's turns interleave. tests/e2e/test_replicas.py shows it with
Rasa's class (two user messages logged before either answer) and not with this one. (Rasa Pro has a
ConcurrentRedisLockStore; Rasa Open Source 3.6 does not.)

Here each read-change-write of a lock (taking a ticket, dropping expired ones, giving a ticket back and deleting
the lock when nobody waits) runs under Redis WATCH/MULTI and is retried when the lock changed meanwhile; the
changes themselves are Rasa's (TicketLock), so tickets, waiting and expiry behave as Rasa's do.

endpoints: `lock_store: {type: addons.lock_store.AtomicRedisLockStore, url, port, db, password, key_prefix, ...}`,
the keys of Rasa's `redis` lock store; the lock keys are the same, so the two may be switched.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 1000


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # Rasa builds a custom lock store from its endpoint config (lock_store.py); tests may pass Redis' kwargs.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str,
                change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], bool, Any]]) -> Any:
        """Apply `change` to the stored lock atomically. `change(lock)` returns (lock to store or None to delete,
        whether to write at all, result); it is run again when another process changed the lock meanwhile."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    pipe.watch(key)
                    serialised = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(serialised)) if serialised else None
                    new, write, result = change(lock)
                    pipe.multi()
                    if write and new is None:
                        pipe.delete(key)
                    elif write:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
                finally:
                    pipe.reset()
        raise LockError(f"Could not change the lock of conversation '{conversation_id}': too much contention")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Rasa's LockStore.issue_ticket, atomically."""

        def take(lock: Optional[TicketLock]):
            lock = lock or self.create_lock(conversation_id)
            return lock, True, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take)
        except LockError:
            raise
        except Exception as exc:  # Rasa wraps every failure of issuing a ticket the same way
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        """Rasa's LockStore.update_lock (drop expired tickets), atomically."""

        def drop_expired(lock: Optional[TicketLock]):
            if lock is None:
                return None, False, None
            lock.remove_expired_tickets()
            return lock, True, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's LockStore.finish_serving (give the ticket back), atomically."""

        def give_back(lock: Optional[TicketLock]):
            if lock is None:
                return None, False, None
            lock.remove_ticket_for(ticket_number)
            return lock, True, None

        self._change(conversation_id, give_back)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Rasa's LockStore.cleanup (give the ticket back; delete the lock when nobody waits) as one atomic
        change, so a ticket taken in between by another process is never deleted with the lock."""

        def give_back_and_delete_if_free(lock: Optional[TicketLock]):
            if lock is None:
                return None, False, False
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                return lock, True, False
            return None, True, True

        if self._change(conversation_id, give_back_and_delete_if_free):
            self._log_deletion(conversation_id, True)
