"""addons/tracker_store.py: LeanSQLTrackerStore writes the rows Rasa's SQLTrackerStore writes, publishes the events
it publishes and gives back the trackers it gives back, in every path (new conversation, turn after turn, a new
session, a tracker it did not read, the full history), on SQLite and, when reachable, PostgreSQL."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from addons.tracker_store import LeanSQLTrackerStore, stored_offset
from tests.scaled_stack import POSTGRES_URL, _admin, postgres_reachable

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = Domain.load(str(ROOT / "domain"))
COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")


class Broker:
    """An event broker that keeps what it is given."""

    def __init__(self):
        self.published = []

    def publish(self, event, **kwargs):
        self.published.append(event)

    def is_ready(self):
        return True


def _turn(t: float, text: str, intent: str, action: str, slot_value) -> list:
    return [UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=t),
            SlotSet("tracking_number", slot_value, timestamp=t + 0.1),
            ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=t + 0.2),
            SlotSet("tracking_outcome", "answered", timestamp=t + 0.3),
            BotUttered(f"reply to {text}", {"buttons": None}, timestamp=t + 0.4),
            ActionExecuted("action_listen", timestamp=t + 0.5)]


def _session(t: float) -> list:
    return [SlotSet("session_started_metadata", {"source": "test"}, timestamp=t),
            ActionExecuted("action_session_start", timestamp=t + 0.01),
            SessionStarted(timestamp=t + 0.02), ActionExecuted("action_listen", timestamp=t + 0.03)]


async def _conversation(store, sender: str) -> list:
    """Drive a store as Rasa's processor does; what it gives back at each step."""
    seen = []
    tracker = await store.get_or_create_tracker(sender, append_action_listen=False)
    tracker.update_with_events(_session(1000.0) + _turn(1001.0, "我的快递到哪了", "track_parcel",
                                                         "action_track_parcel", "SF1"), DOMAIN,
                               override_timestamp=False)
    await store.save(tracker)
    for n, t in enumerate((1010.0, 1020.0)):
        tracker = await store.retrieve(sender)
        seen.append(tracker.current_state(EventVerbosity.ALL))
        tracker.update_with_events(_turn(t, f"第{n}句", "urge_delivery", "action_handle_problem", f"SF{n}"), DOMAIN,
                                   override_timestamp=False)
        await store.save(tracker)
    # An hour later: a new session, in the same turn as the message (what Rasa does when the session expired).
    tracker = await store.retrieve(sender)
    tracker.update_with_events(_session(5000.0) + _turn(5001.0, "谢谢", "thank", "utter_youre_welcome", None), DOMAIN,
                               override_timestamp=False)
    await store.save(tracker)
    seen.append((await store.retrieve(sender)).current_state(EventVerbosity.ALL))
    seen.append((await store.retrieve_full_tracker(sender)).current_state(EventVerbosity.ALL))
    # A tracker the store did not read (as the HTTP API's "replace events" builds one): counted, not assumed.
    outside = DialogueStateTracker.from_events(sender, list((await store.retrieve(sender)).events) + _turn(
        6000.0, "还有", "inform", "action_track_parcel", "SF9"), DOMAIN.slots)
    await store.save(outside)
    seen.append((await store.retrieve(sender)).current_state(EventVerbosity.ALL))
    # Saving the same tracker again stores nothing twice.
    again = await store.retrieve(sender)
    await store.save(again)
    await store.save(again)
    seen.append((await store.retrieve(sender)).current_state(EventVerbosity.ALL))
    return seen


def _rows(store) -> list:
    table = store.SQLEvent.__table__
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(*[table.c[name] for name in COLUMNS]).order_by(table.c.id))]


def _stores(kind: str, tmp_path: Path, request):
    if kind == "sqlite":
        return ({"dialect": "sqlite", "db": str(tmp_path / "rasa.db")},
                {"dialect": "sqlite", "db": str(tmp_path / "lean.db")})
    why = postgres_reachable()
    if why:
        pytest.skip(why)
    names = [f"trackers_{uuid.uuid4().hex[:8]}_{side}" for side in ("rasa", "lean")]
    request.addfinalizer(lambda: _admin(POSTGRES_URL, [
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{n}'" for n in names]
        + [f'DROP DATABASE IF EXISTS "{n}"' for n in names]))
    from urllib.parse import urlsplit

    pg = urlsplit(POSTGRES_URL)
    common = {"dialect": "postgresql", "host": pg.hostname, "port": pg.port or 5432,
              "username": pg.username or "postgres", "password": pg.password,
              "login_db": pg.path.lstrip("/") or "postgres"}
    return ({**common, "db": names[0]}, {**common, "db": names[1]})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_lean_store_writes_publishes_and_reads_what_rasas_store_does(kind, tmp_path, request):
    theirs_config, ours_config = _stores(kind, tmp_path, request)
    theirs = SQLTrackerStore(DOMAIN, event_broker=Broker(), **theirs_config)
    ours = LeanSQLTrackerStore(DOMAIN, event_broker=Broker(), **ours_config)
    try:
        assert asyncio.run(_conversation(ours, "c-1")) == asyncio.run(_conversation(theirs, "c-1"))
        assert _rows(ours) == _rows(theirs)
        assert ours.event_broker.published == theirs.event_broker.published
        assert len(_rows(ours)) == 4 + 6 + 6 + 6 + 4 + 6 + 6  # every event once
    finally:
        theirs.engine.dispose()
        ours.engine.dispose()


def test_each_store_reads_what_the_other_wrote(tmp_path):
    for writer, reader in ((SQLTrackerStore, LeanSQLTrackerStore), (LeanSQLTrackerStore, SQLTrackerStore)):
        db = str(tmp_path / f"{writer.__name__}.db")
        first, second = writer(DOMAIN, dialect="sqlite", db=db), reader(DOMAIN, dialect="sqlite", db=db)
        asyncio.run(_conversation(first, "shared"))
        mine = asyncio.run(first.retrieve("shared")).current_state(EventVerbosity.ALL)
        assert asyncio.run(second.retrieve("shared")).current_state(EventVerbosity.ALL) == mine
        # The reader continues the conversation; the writer sees the turn.
        tracker = asyncio.run(second.retrieve("shared"))
        tracker.update_with_events(_turn(7000.0, "再问", "inform", "action_track_parcel", "SF7"), DOMAIN,
                                   override_timestamp=False)
        asyncio.run(second.save(tracker))
        assert asyncio.run(first.retrieve("shared")).current_state(EventVerbosity.ALL) == \
            tracker.current_state(EventVerbosity.ALL)


def test_a_tracker_read_by_the_store_knows_what_is_stored_and_a_copy_does_not(tmp_path):
    store = LeanSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    asyncio.run(_conversation(store, "k"))
    tracker = asyncio.run(store.retrieve("k"))
    assert stored_offset(tracker) == len(tracker.events)
    assert stored_offset(tracker.copy()) is None
    assert asyncio.run(store.retrieve("nobody")) is None


def test_endpoints_load_the_lean_store_and_not_rasas_silent_in_memory_fallback(tmp_path, monkeypatch):
    """Rasa replaces a tracker store it cannot import by an in-memory one with only a warning: replicas would then
    each keep their own conversations. The class named in the endpoints files must load."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t")
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert isinstance(create_tracker_store(endpoints.tracker_store, DOMAIN), LeanSQLTrackerStore)
    import yaml

    production = yaml.safe_load((ROOT / "endpoints.production.yml").read_text())
    assert production["tracker_store"]["type"] == "addons.tracker_store.LeanSQLTrackerStore"
