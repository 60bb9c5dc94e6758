"""Arrival watches: "tell me when it reaches the outlet". Recorded from the conversation; when a scan puts the
parcel at its outlet (or out for delivery) the backend has the bot tell that conversation on its own channel."""
from __future__ import annotations

import logging
import threading

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from logistics.rasa_client import RasaClient, RasaUnavailable
from logistics.shipments.models import ArrivalWatch, Shipment, WatchIn
from logistics.timeutil import to_iso, utcnow

log = logging.getLogger(__name__)
# The statuses a watcher waits for: the parcel is at the outlet, or already on its way to the door.
ARRIVED = {"at_outlet", "out_for_delivery", "in_locker", "at_station"}
NOTIFY_ACTION = "action_notify_arrival"


def watch_dict(watch: ArrivalWatch) -> dict:
    return {"id": watch.id, "tracking_number": watch.tracking_number, "conversation_id": watch.conversation_id,
            "channel": watch.channel, "created_at": to_iso(watch.created_at),
            "notified_at": to_iso(watch.notified_at)}


def add(*, session: Session, shipment: Shipment, data: WatchIn) -> tuple[ArrivalWatch, bool]:
    """The watch of this conversation on this parcel; created once, whatever the retries (True when new)."""
    query = select(ArrivalWatch).where(ArrivalWatch.tracking_number == shipment.tracking_number,
                                       ArrivalWatch.conversation_id == data.conversation_id)
    existing = session.execute(query).scalar_one_or_none()
    if existing is not None:
        return existing, False
    watch = ArrivalWatch(tracking_number=shipment.tracking_number, conversation_id=data.conversation_id,
                         channel=data.channel)
    try:
        with session.begin_nested():
            session.add(watch)
    except IntegrityError:  # a concurrent retry won the race
        return session.execute(query).scalar_one(), False
    return watch, True


def due(*, session: Session, shipment: Shipment) -> list[str]:
    """Mark the pending watches of a parcel that has just arrived; the conversations to tell."""
    if shipment.status not in ARRIVED:
        return []
    watches = session.execute(select(ArrivalWatch).where(ArrivalWatch.tracking_number == shipment.tracking_number,
                                                         ArrivalWatch.notified_at.is_(None))).scalars().all()
    for watch in watches:
        watch.notified_at = utcnow()
    return [w.conversation_id for w in watches]


def notify_later(conversation_ids: list[str]) -> None:
    """Have the bot tell each conversation, after this request's transaction has committed."""
    if not conversation_ids:
        return
    settings = current_app.extensions["settings"]
    client = RasaClient(settings.rasa_url, settings.rasa_token)

    def run() -> None:
        for conversation_id in conversation_ids:
            try:
                client.execute(conversation_id, NOTIFY_ACTION)
            except RasaUnavailable as exc:
                log.warning("arrival notice for %s not delivered: %s", conversation_id, exc)

    threading.Timer(0.3, run).start()
