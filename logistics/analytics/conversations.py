"""Handled conversations into analytics_events, read incrementally from Rasa's SQL tracker store.

One row per conversation session (Rasa's `session_started` splits a sender's events) that holds a user message
and opened no ticket: `source='conversation'`, `kind='inquiry'` (the traffic every share is measured against;
the detectors never alert on it), `source_key='conversation:<sender>:<id of its session_started event>'`. A session
that opened a ticket is already counted by the ticket's own row (`tagging.record_ticket`), so it gets none here
(and loses the one it had if the ticket came later). Tags:
- category / intent: the session's main intent, the first one raised that is not small talk (track_parcel,
  report_lost...; else the first intent); example: the user's words for it (phones masked);
- channel: the user event's `input_channel`; time: the session's first user message;
- parcel: the last `tracking_number` slot value, its shipment's carrier, goods type, area, outlet, hub and route
  (`tagging.shipment_tags`);
- outcome: `handed_off` when `action_request_human` ran or the backend holds a handoff for the session (its
  satisfaction rating copied), else `bot_resolved`.

Incremental: `analytics_import_state` keeps the id of the last tracker event taken in; a run reads the events
after it in id order (at most `max_events`, in batches), recomputes every session they touch from all of that
session's events and upserts its row in the caller's transaction with the new position, so a re-run imports
nothing twice and a session that goes on later is brought up to date. Events younger than `settle` seconds are
left for the next run: PostgreSQL hands out ids before commit, so a slightly older id may still appear. A missing
or unreadable tracker store is logged and skipped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from logistics.analytics.models import AnalyticsEvent, ImportState
from logistics.analytics.tagging import CHANNELS, NOT_COUNTED, shipment_tags
from logistics.handoffs.models import Handoff
from logistics.phones import mask_phones_in_text
from logistics.shipments.models import Shipment
from logistics.tickets.models import Ticket
from logistics.timeutil import utcnow

log = logging.getLogger(__name__)

STATE_SOURCE = "rasa_tracker_store"
SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "inform", "out_of_scope",
                        "nlu_fallback", "restart", "session_start"})
HANDOFF_ACTION = "action_request_human"
BATCH = 2000
MAX_EVENTS = 20000
SETTLE_SECONDS = 30
# A session's events read at most (a runaway conversation is cut, never read without bound).
MAX_SESSION_EVENTS = 5000

EVENTS = sa.table("events", sa.column("id", sa.Integer), sa.column("sender_id", sa.String),
                  sa.column("type_name", sa.String), sa.column("timestamp", sa.Float),
                  sa.column("intent_name", sa.String), sa.column("action_name", sa.String),
                  sa.column("data", sa.Text))

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


@dataclass
class ImportResult:
    skipped: Optional[str] = None  # why nothing was read (no store, unreadable)
    events: int = 0  # tracker events taken in
    written: int = 0  # conversation rows inserted or updated
    removed: int = 0  # rows dropped because the session opened a ticket
    last_event_id: int = 0
    more: bool = False  # events are left for the next run

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _engine(url: str) -> Optional[Engine]:
    """The tracker store's engine, or None when it is an SQLite file that does not exist (never create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or not Path(parsed.database).is_file():
            return None
    with _engines_lock:
        if url not in _engines:
            _engines[url] = sa.create_engine(url, future=True, pool_pre_ping=True)
        return _engines[url]


def _utc(timestamp: Optional[float]) -> Optional[datetime]:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def _data(row) -> dict:
    try:
        value = json.loads(row.data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def source_key(sender: str, start_id: int) -> str:
    who = sender if len(sender) <= 120 else "sha1-" + hashlib.sha1(sender.encode()).hexdigest()
    return f"conversation:{who}:{start_id}"


def _state(session: Session) -> ImportState:
    state = session.execute(select(ImportState).where(ImportState.source == STATE_SOURCE)
                            .with_for_update()).scalar_one_or_none()
    if state is None:
        state = ImportState(source=STATE_SOURCE, last_event_id=0, updated_at=utcnow())
        session.add(state)
        session.flush()
    return state


def _sessions(store, sender: str, first_new_id: int) -> list[list]:
    """The sender's sessions from the one holding first_new_id on, each a list of event rows in id order."""
    start = store.execute(select(sa.func.max(EVENTS.c.id)).where(
        EVENTS.c.sender_id == sender, EVENTS.c.type_name == "session_started",
        EVENTS.c.id <= first_new_id)).scalar()
    if start is None:
        start = store.execute(select(sa.func.min(EVENTS.c.id)).where(EVENTS.c.sender_id == sender)).scalar()
    rows = store.execute(select(EVENTS).where(EVENTS.c.sender_id == sender, EVENTS.c.id >= start)
                         .order_by(EVENTS.c.id).limit(MAX_SESSION_EVENTS)).all()
    sessions: list[list] = []
    for row in rows:
        if not sessions or row.type_name == "session_started":
            opening = []
            # Rasa runs action_session_start just before it logs session_started: it opens the new session.
            if sessions and sessions[-1][-1].type_name == "action" \
                    and sessions[-1][-1].action_name == "action_session_start":
                opening.append(sessions[-1].pop())
            sessions.append(opening)
        sessions[-1].append(row)
    return [events for events in sessions if events]


def _session_id(events: list) -> int:
    """A session's id in its source key: its session_started event's (else its first event's)."""
    return next((e.id for e in events if e.type_name == "session_started"), events[0].id)


def _main_intent(intents: list[str]) -> Optional[str]:
    for intent in intents:
        if intent not in SMALL_TALK:
            return intent
    return intents[0] if intents else None


def _summarise(session: Session, sender: str, events: list, next_start: Optional[datetime]) -> Optional[dict]:
    """The row's columns for one session, None when it holds no user message or opened a ticket."""
    users = [(e, _data(e)) for e in events if e.type_name == "user"]
    if not users:
        return None
    conversation = sender[:128]
    began = _utc(events[0].timestamp) or _utc(users[0][0].timestamp) or utcnow()
    tickets = select(Ticket.id).where(Ticket.conversation_id == conversation, Ticket.type.not_in(NOT_COUNTED),
                                      Ticket.created_at >= began - timedelta(seconds=2))
    if next_start is not None:
        tickets = tickets.where(Ticket.created_at < next_start)
    if session.execute(tickets.limit(1)).first() is not None:
        return None
    intents = [e.intent_name for e, _ in users if e.intent_name]
    main = _main_intent(intents) or "unknown"
    said = next((d.get("text") for e, d in users if e.intent_name == main), None) or users[0][1].get("text")
    channel = next((d.get("input_channel") for _, d in users if d.get("input_channel") in CHANNELS), None)
    number = None
    for e in events:
        if e.type_name == "slot":
            data = _data(e)
            if data.get("name") == "tracking_number":
                number = data.get("value") if isinstance(data.get("value"), str) and data.get("value") else number
    shipment = None
    if number:
        shipment = session.execute(select(Shipment).where(
            Shipment.tracking_number.in_({number.strip(), number.strip().upper()}))).scalars().first()
    handoffs = select(Handoff.rating).where(Handoff.conversation_id == conversation,
                                            Handoff.created_at >= began - timedelta(seconds=2))
    if next_start is not None:
        handoffs = handoffs.where(Handoff.created_at < next_start)
    handoff = session.execute(handoffs.order_by(Handoff.id.desc()).limit(1)).first()
    handed_off = handoff is not None or any(
        e.type_name == "action" and e.action_name == HANDOFF_ACTION for e in events)
    return {
        "source": "conversation", "occurred_at": _utc(users[0][0].timestamp) or began, "kind": "inquiry",
        "category": main[:32], "intent": main[:40], "ticket_type": None, "ticket_id": None,
        "conversation_id": conversation, "channel": channel,
        "tracking_number": (shipment.tracking_number if shipment else number.strip()[:40]) if number else None,
        "outcome": "handed_off" if handed_off else "bot_resolved",
        "rating": handoff.rating if handoff is not None else None,
        "example": (mask_phones_in_text(said) or "")[:200] if isinstance(said, str) else None,
        **shipment_tags(shipment),
    }


def _apply(session: Session, key: str, values: Optional[dict], result: ImportResult) -> None:
    row = session.execute(select(AnalyticsEvent).where(AnalyticsEvent.source_key == key)).scalar_one_or_none()
    if values is None:
        if row is not None:
            session.delete(row)
            result.removed += 1
        return
    columns = {c.name for c in AnalyticsEvent.__table__.columns} - {"id", "source_key", "created_at"}
    values = {k: values.get(k) for k in columns}
    if row is None:
        session.add(AnalyticsEvent(source_key=key, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    result.written += 1


def import_conversations(session: Session, url: str, *, max_events: int = MAX_EVENTS, batch: int = BATCH,
                         settle: float = SETTLE_SECONDS, now: Optional[datetime] = None) -> ImportResult:
    """Take in the tracker events after the last imported one (at most max_events) in the caller's transaction."""
    result = ImportResult()
    engine = _engine(url) if url else None
    if engine is None:
        result.skipped = "no tracker store"
        log.info("analytics: no tracker store at %s, conversations not imported", url or "(unset)")
        return result
    state = _state(session)
    result.last_event_id = state.last_event_id
    cutoff = ((now or utcnow()).replace(tzinfo=timezone.utc).timestamp()) - settle
    try:
        with engine.connect() as store:
            while result.events < max_events:
                rows = store.execute(select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.timestamp)
                                     .where(EVENTS.c.id > state.last_event_id).order_by(EVENTS.c.id)
                                     .limit(min(batch, max_events - result.events))).all()
                settled = []
                for row in rows:
                    if row.timestamp is not None and row.timestamp > cutoff:
                        break
                    settled.append(row)
                if not settled:
                    break
                _import_batch(session, store, settled, result)
                state.last_event_id = settled[-1].id
                state.updated_at = utcnow()
                result.events += len(settled)
                session.flush()
                if len(settled) < len(rows):
                    break
            result.more = store.execute(select(EVENTS.c.id).where(
                EVENTS.c.id > state.last_event_id, EVENTS.c.timestamp <= cutoff).limit(1)).first() is not None
    except sa.exc.SQLAlchemyError as exc:
        # What was flushed stays: whole batches with their position, or upserts a re-run repeats harmlessly.
        result.skipped = f"tracker store unreadable: {type(exc).__name__}"
        log.warning("analytics: tracker store %s unreadable, conversations not imported: %s",
                    make_url(url).render_as_string(hide_password=True), exc)
    result.last_event_id = state.last_event_id
    if result.events:
        log.info("analytics: %d tracker events imported, %d conversations written, %d removed",
                 result.events, result.written, result.removed)
    return result


def _import_batch(session: Session, store, rows: list, result: ImportResult) -> None:
    first_new: dict[str, int] = {}
    for row in rows:
        first_new.setdefault(row.sender_id, row.id)
    lo, hi = rows[0].id, rows[-1].id
    for sender, first_id in first_new.items():
        sessions = _sessions(store, sender, first_id)
        for index, events in enumerate(sessions):
            if not any(lo <= e.id <= hi for e in events):
                continue
            following = sessions[index + 1] if index + 1 < len(sessions) else None
            next_start = _utc(following[0].timestamp) if following else None
            _apply(session, source_key(sender, _session_id(events)), _summarise(session, sender, events, next_start),
                   result)
