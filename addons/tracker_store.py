"""Rasa's SQL tracker store, same table and rows, at a fraction of the cost per turn (issue #15).

Configured in endpoints (`tracker_store: type: addons.tracker_store.LeanSQLTrackerStore`, every other key as for
Rasa's `SQL`); a database written by one is read by the other. Per turn Rasa's SQLTrackerStore
  * loads the conversation through ORM objects (an instance per event, every column), then
  * on save counts the stored events of the session again (a second query with a sub-query) to know which events
    are new, inserts them as ORM objects and commits, and
  * with an event broker, loads and replays the whole tracker a third time to find the same new events,
all on the event loop, so every other conversation of the worker waits for each database round trip.

Here the conversation is read as (id, data) rows with the same filter and order, the tracker remembers how many of
its events came from (or went to) the database, and a save inserts and publishes exactly the events after those,
in one multi-row INSERT, without counting again. It is the offset Rasa's own count gives under the lock store's
lock (Rasa holds it around every change of a conversation), so the same rows are written; a tracker that was not
read by this store (created by Rasa, copied, replaced through the API) is counted as Rasa counts it. The database
round trips run in a thread (not for SQLite), so the worker's event loop keeps serving other conversations while
PostgreSQL commits. tests/test_tracker_store.py proves the rows and trackers equal Rasa's store's.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker, TrackerEventDiffEngine
from rasa.shared.nlu.constants import INTENT_NAME_KEY

log = logging.getLogger(__name__)
# Set on a tracker this store read or saved: (sender id, how many of tracker.events are stored).
STORED = "_lean_sql_stored"


def stored_offset(tracker: DialogueStateTracker) -> Optional[int]:
    """How many of the tracker's events the database holds for its session, when this store knows it."""
    mark = getattr(tracker, STORED, None)
    if mark is None or mark[0] != tracker.sender_id or mark[1] > len(tracker.events):
        return None
    return mark[1]


def _mark(tracker: DialogueStateTracker, count: int) -> None:
    setattr(tracker, STORED, (tracker.sender_id, count))


class LeanSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with one query per read, one INSERT per save and no blocking of the event loop."""

    @property
    def _table(self) -> sa.Table:
        return self.SQLEvent.__table__

    def _offload(self) -> bool:
        return self.engine.dialect.name != "sqlite"

    async def _in_thread(self, function, *args):
        if self._offload():
            return await asyncio.get_running_loop().run_in_executor(None, function, *args)
        return function(*args)

    # --- reading ---

    def _rows(self, sender_id: str, fetch_events_from_all_sessions: bool) -> List[str]:
        """The serialised events of the conversation (latest session only unless asked), ordered by id: Rasa's
        SQLTrackerStore._event_query as a Core select of the data column."""
        table = self._table
        query = sa.select(table.c.data).where(table.c.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (
                sa.select(sa.func.max(table.c.timestamp))
                .where(table.c.sender_id == sender_id, table.c.type_name == SessionStarted.type_name)
                .scalar_subquery()
            )
            query = query.where(sa.or_(table.c.timestamp >= session_start, session_start.is_(None)))
        with self.session_scope() as session:
            return [row[0] for row in session.execute(query.order_by(table.c.id))]

    async def _retrieve(self, sender_id: str,
                        fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        rows = await self._in_thread(self._rows, sender_id, fetch_events_from_all_sessions)
        events = [json.loads(data) for data in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            _mark(tracker, len(events))
        return tracker

    async def create_tracker(self, sender_id: str, append_action_listen: bool = True) -> DialogueStateTracker:
        """Rasa's create_tracker; a new conversation has nothing stored, so its first save counts nothing."""
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        _mark(tracker, 0)
        await self.save(tracker)
        return tracker

    # --- writing ---

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return None
        offset = stored_offset(tracker)
        if offset is None:
            return await super().stream_events(tracker)
        new_events = list(itertools.islice(tracker.events, offset, len(tracker.events)))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    @staticmethod
    def _row(sender_id: str, event) -> Dict[str, Any]:
        data = event.as_dict()
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data)}

    def _insert(self, tracker: DialogueStateTracker, offset: Optional[int]) -> Tuple[int, int]:
        with self.session_scope() as session:
            if offset is None:
                new_events = list(self._additional_events(session, tracker))
            else:
                new_events = list(itertools.islice(tracker.events, offset, len(tracker.events)))
            rows = [self._row(tracker.sender_id, event) for event in new_events]
            if rows:
                session.execute(self._table.insert(), rows)
            session.commit()
        return len(tracker.events), len(rows)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stream and store the events after the stored ones (Rasa's SQLTrackerStore.save, same rows)."""
        await self.stream_events(tracker)
        offset = stored_offset(tracker)
        total, _ = await self._in_thread(self._insert, tracker, offset)
        _mark(tracker, total)
        log.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)


__all__ = ["LeanSQLTrackerStore", "TrackerEventDiffEngine", "stored_offset"]
