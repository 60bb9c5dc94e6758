"""The conversation importer (logistics/analytics/conversations.py) on a real tracker store written by Rasa's own
SQLTrackerStore: one tagged row per session without a ticket (intent, channel, time, parcel tags, outcome, rating),
nothing twice on a re-run, a session brought up to date when it goes on, a ticket's session left to the ticket's
row, bounded runs, and a missing or empty store skipped. Backend database: SQLite always, PostgreSQL with
TEST_DATABASE_URL."""
from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import delete, select

from logistics import db, seed
from logistics.analytics import conversations
from logistics.analytics.models import AnalyticsEvent, ImportState
from logistics.analytics.tagging import shipment_tags
from logistics.handoffs.models import Handoff
from logistics.shipments.models import Shipment
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import TicketType
from logistics.tickets.models import TicketIn
from tests.conftest import _backends, _database, serve
from tests.support import Api

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain"))


@pytest.fixture(scope="module", params=_backends())
def conv_engine(request, tmp_path_factory):
    """A seeded database of this module's own (the import position is per database)."""
    with _database(request.param, tmp_path_factory) as engine:
        seed.seed(db.session_factory(engine), shipments=40, progress=False)
        yield engine


@pytest.fixture()
def factory(conv_engine):
    factory = db.session_factory(conv_engine)
    with db.transaction(factory) as s:
        s.execute(delete(AnalyticsEvent).where(AnalyticsEvent.source == "conversation"))
        s.execute(delete(ImportState))
    return factory


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "tracker.db"
    return SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path)), f"sqlite:///{path}"


def _session(t: float) -> list:
    return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.01),
            ActionExecuted("action_listen", timestamp=t + 0.02)]


def _turn(t: float, text: str, intent: str, action: str, channel: str = "socketio", number=None) -> list:
    events = [UserUttered(text, {"name": intent, "confidence": 0.9}, input_channel=channel, timestamp=t)]
    if number is not None:
        events.append(SlotSet("tracking_number", number, timestamp=t + 0.1))
    return events + [ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=t + 0.2),
                     BotUttered(f"reply to {text}", timestamp=t + 0.3),
                     ActionExecuted("action_listen", timestamp=t + 0.4)]


def _save(store, sender: str, events: list) -> None:
    """Append events to the sender's conversation through Rasa's store (as Rasa's processor saves a turn)."""

    async def go():
        tracker = await store.retrieve_full_tracker(sender)
        if tracker is None:
            tracker = DialogueStateTracker(sender, DOMAIN.slots)
        tracker.update_with_events(events, DOMAIN, override_timestamp=False)
        await store.save(tracker)

    asyncio.run(go())


def _rows(factory) -> dict:
    with db.transaction(factory) as s:
        rows = s.execute(select(AnalyticsEvent).where(AnalyticsEvent.source == "conversation")).scalars().all()
        s.expunge_all()
    return {r.conversation_id: r for r in rows}


def _import(factory, url, **kwargs) -> conversations.ImportResult:
    with db.transaction(factory) as s:
        return conversations.import_conversations(s, url, settle=0, **kwargs)


def _tagged_shipment(factory) -> tuple[str, dict]:
    """A seeded parcel whose trajectory has a route and an outlet, and its tags."""
    with db.transaction(factory) as s:
        for shipment in s.execute(select(Shipment).order_by(Shipment.id)).scalars():
            tags = shipment_tags(shipment)
            if tags.get("route") and tags.get("outlet_code"):
                return shipment.tracking_number, tags
    raise AssertionError("no seeded parcel with a route and an outlet")


def test_sessions_are_imported_once_with_their_tags_and_outcome(factory, store):
    tracker_store, url = store
    number, tags = _tagged_shipment(factory)
    run = uuid.uuid4().hex[:8]
    asker, handed, ticketed, silent = (f"{who}-{run}" for who in ("asker", "handed", "ticketed", "silent"))
    t = time.time() - 3600
    _save(tracker_store, asker, _session(t) + _turn(t + 1, "你好", "greet", "utter_greet")
          + _turn(t + 2, f"帮我查下{number}到哪了，电话13812345678", "track_parcel", "action_track_parcel",
                  number=number))
    _save(tracker_store, handed, _session(t) + _turn(t + 5, "我的快递丢了", "report_lost", "action_report_lost",
                                                     channel="wechat")
          + _turn(t + 6, "转人工", "request_human", "action_request_human", channel="wechat"))
    _save(tracker_store, ticketed, _session(t) + _turn(t + 7, "快点送", "urge_delivery", "action_urge"))
    _save(tracker_store, silent, _session(t))
    with db.transaction(factory) as s:
        ticket_service.create(session=s, actor="assistant", data=TicketIn(
            type=TicketType.URGE, conversation_id=ticketed, idempotency_key=f"urge:{ticketed}"))

    first = _import(factory, url)
    assert first.skipped is None and first.events > 0 and not first.more
    rows = _rows(factory)
    assert set(rows) == {asker, handed}  # the ticket's session is its ticket's row; a session with no words: none
    asked = rows[asker]
    assert (asked.kind, asked.category, asked.intent, asked.channel) == ("inquiry", "track_parcel", "track_parcel",
                                                                         "socketio")
    assert (asked.outcome, asked.rating, asked.tracking_number) == ("bot_resolved", None, number)
    for name in ("carrier", "goods_type", "community", "outlet_code", "hub_code", "route", "route_name"):
        assert getattr(asked, name) == tags.get(name), name
    assert "13812345678" not in asked.example and number in asked.example
    assert abs((asked.occurred_at - conversations._utc(t + 1)).total_seconds()) < 1  # the first user message
    assert asked.source_key.startswith(f"conversation:{asker}:")
    assert (rows[handed].category, rows[handed].channel, rows[handed].outcome) == ("report_lost", "wechat",
                                                                                   "handed_off")

    again = _import(factory, url)
    assert (again.events, again.written) == (0, 0)
    assert _rows(factory).keys() == rows.keys()

    # The handed-off conversation goes on and the user rates the handoff; the asker starts a new session.
    with db.transaction(factory) as s:
        s.add(Handoff(conversation_id=handed, channel="wechat", reason="user_request", rating=4,
                      idempotency_key=f"handoff:{handed}"))
    _save(tracker_store, handed, _turn(t + 60, "谢谢", "thank", "utter_thank", channel="wechat"))
    _save(tracker_store, asker, _session(t + 120) + _turn(t + 121, "我的工单怎么样了", "check_ticket",
                                                          "action_check_ticket"))
    third = _import(factory, url)
    assert third.events > 0 and third.written >= 2  # the two sessions that went on (and any they touched)
    with db.transaction(factory) as s:
        all_rows = s.execute(select(AnalyticsEvent.conversation_id, AnalyticsEvent.category, AnalyticsEvent.rating)
                             .where(AnalyticsEvent.source == "conversation")).all()
    assert sorted(all_rows) == sorted([(asker, "track_parcel", None), (asker, "check_ticket", None),
                                       (handed, "report_lost", 4)])


def test_a_session_that_opens_a_ticket_later_leaves_it_to_the_ticket(factory, store):
    tracker_store, url = store
    sender = f"later-{uuid.uuid4().hex[:8]}"
    t = time.time() - 600
    _save(tracker_store, sender, _session(t) + _turn(t + 1, "东西坏了", "report_damaged", "action_report_damaged"))
    _import(factory, url)
    assert sender in _rows(factory)
    with db.transaction(factory) as s:
        ticket_service.create(session=s, actor="assistant", data=TicketIn(
            type=TicketType.CLAIM, conversation_id=sender, idempotency_key=f"claim:{sender}"))
    _save(tracker_store, sender, _turn(t + 30, "好的", "affirm", "action_file_claim"))
    result = _import(factory, url)
    assert result.removed == 1 and sender not in _rows(factory)


def test_runs_are_bounded_and_recent_events_wait(factory, store):
    tracker_store, url = store
    t = time.time() - 600
    for n in range(3):
        _save(tracker_store, f"bounded-{n}-{uuid.uuid4().hex[:6]}",
              _session(t) + _turn(t + 1, "查快递", "track_parcel", "action_track_parcel"))
    first = _import(factory, url, max_events=4, batch=3)
    assert first.events == 4 and first.more
    rest = _import(factory, url)
    assert not rest.more and len(_rows(factory)) == 3

    fresh = f"fresh-{uuid.uuid4().hex[:6]}"
    _save(tracker_store, fresh, _session(time.time()) + _turn(time.time(), "查快递", "track_parcel",
                                                              "action_track_parcel"))
    with db.transaction(factory) as s:
        waiting = conversations.import_conversations(s, url, settle=300)
    assert waiting.events == 0 and fresh not in _rows(factory)
    assert _import(factory, url).events > 0 and fresh in _rows(factory)


def test_a_missing_or_empty_tracker_store_is_skipped(factory, tmp_path):
    missing = tmp_path / "nowhere" / "tracker.db"
    result = _import(factory, f"sqlite:///{missing}")
    assert result.skipped == "no tracker store" and not missing.exists()
    assert _import(factory, "").skipped == "no tracker store"
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = _import(factory, f"sqlite:///{empty}")
    assert result.skipped and result.skipped.startswith("tracker store unreadable")
    with db.transaction(factory) as s:
        assert s.execute(select(ImportState.last_event_id)).scalar() in (None, 0)


def test_the_run_endpoint_reports_the_import(conv_engine):
    for base in serve(conv_engine):
        response = Api(base).post("/api/v1/analytics/run", json={})
        assert response.status_code == 200, response.text
        assert response.json()["conversations"]["skipped"] == "no tracker store"


def test_the_scheduled_run_imports_before_it_detects(factory, store, conv_engine):
    from types import SimpleNamespace

    from logistics.analytics import scheduler
    from logistics.settings import Settings

    tracker_store, url = store
    sender = f"scheduled-{uuid.uuid4().hex[:8]}"
    t = time.time() - 600
    _save(tracker_store, sender, _session(t) + _turn(t + 1, "查快递", "track_parcel", "action_track_parcel"))
    app = SimpleNamespace(extensions={"session_factory": factory, "settings": Settings(
        database_url=str(conv_engine.url), tracker_store_url=url)})
    scheduler.run_once(app)
    assert _rows(factory)[sender].outcome == "bot_resolved"
