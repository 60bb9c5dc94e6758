"""Where a parcel waits (outlet, pickup station or locker), since when, and whether the outlet's promise is broken.

The urge scenario reads this before it opens a ticket to the outlet: how long the parcel has waited against the
outlet's promised dispatch time decides what the assistant says and how hard it pushes.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics.network.models import Facility
from logistics.phones import mask_phone
from logistics.shipments.models import Shipment, TrackingEvent
from logistics.shipments.statuses import LABEL, Status
from logistics.timeutil import to_iso, utcnow

# What the parcel waits for at each status: a courier's dispatch from the outlet, or the customer's pickup.
WAITING_FOR = {
    Status.AT_OUTLET.value: "dispatch",
    Status.DELIVERY_FAILED.value: "dispatch",
    Status.IN_LOCKER.value: "pickup",
    Status.AT_STATION.value: "pickup",
}
PLACE_KINDS = frozenset({"outlet", "station", "locker"})
# A scan that names a place we have no record of (a carrier's own feed, a parcel created through the API) still
# tells where the parcel waits; the usual dispatch promise of an outlet applies.
KIND_OF_STATUS = {"at_outlet": "outlet", "delivery_failed": "outlet", "at_station": "station", "in_locker": "locker"}
DEFAULT_DISPATCH_HOURS = 24


def _facility_of(session: Session, shipment: Shipment, event: TrackingEvent) -> Facility | None:
    if event.facility is not None:
        return event.facility
    # Scans pushed without a facility code still name the place; the shipment's own carrier wins a name clash.
    rows = session.execute(select(Facility).where(Facility.name == event.location)).scalars().all()
    return next((f for f in rows if f.carrier == shipment.carrier), rows[0] if rows else None)


def _arrived_at(events: list[TrackingEvent], facility: Facility) -> datetime:
    """The first scan of the latest unbroken run of scans at this facility (a failed delivery returns there)."""
    arrived = events[-1].time
    for event in reversed(events):
        same = event.facility_id == facility.id or (event.facility_id is None and event.location == facility.name)
        if not same:
            break
        arrived = event.time
    return arrived


def waiting_place(session: Session, shipment: Shipment, now: datetime | None = None) -> dict | None:
    """The facility the parcel waits at, or None when it is not waiting at an outlet, station or locker."""
    now = now or utcnow()
    events = sorted(shipment.events, key=lambda e: (e.time, e.id))
    if not events or events[-1].status not in WAITING_FOR:
        return None
    last = events[-1]
    facility = _facility_of(session, shipment, last)
    if facility is None:
        return _unrecorded_place(shipment, events, now)
    if facility.kind not in PLACE_KINDS:
        return None
    waiting_for = WAITING_FOR[last.status]
    arrived = _arrived_at(events, facility)
    waited = max((now - arrived).total_seconds() / 3600.0, 0.0)
    # The dispatch promise binds an outlet only; at a station or locker the parcel waits for the customer.
    promised = facility.promised_dispatch_hours if waiting_for == "dispatch" else None
    due = arrived + timedelta(hours=promised) if promised is not None else None
    incidents = [i for i in facility.incidents if i.active and i.ended_at is None]
    incident = incidents[-1] if incidents else None
    phone = facility.phone
    return {
        "tracking_number": shipment.tracking_number,
        "status": last.status,
        "status_label": LABEL[Status(last.status)],
        "waiting_for": waiting_for,
        "code": facility.code,
        "name": facility.name,
        "kind": facility.kind,
        "city": facility.city,
        "address": facility.address,
        # Landlines are the outlet's published number; a mobile is someone's own phone and stays masked.
        "phone": mask_phone(phone) if (phone or "").startswith("1") else phone,
        "promised_dispatch_hours": promised,
        "arrived_at": to_iso(arrived),
        "dispatch_due_at": to_iso(due),
        "waited_hours": round(waited, 1),
        "overdue": due is not None and now > due,
        "incident": {
            "kind": incident.kind,
            "summary": incident.summary,
            "expected_clear_at": to_iso(incident.expected_clear_at),
        } if incident is not None else None,
    }


def _unrecorded_place(shipment: Shipment, events: list[TrackingEvent], now: datetime) -> dict:
    """The waiting place as the scans name it, when no facility record matches (no phone, the usual promise)."""
    last = events[-1]
    arrived = last.time
    for event in reversed(events):
        if event.location != last.location:
            break
        arrived = event.time
    waiting_for = WAITING_FOR[last.status]
    promised = DEFAULT_DISPATCH_HOURS if waiting_for == "dispatch" else None
    due = arrived + timedelta(hours=promised) if promised is not None else None
    waited = max((now - arrived).total_seconds() / 3600.0, 0.0)
    return {
        "tracking_number": shipment.tracking_number, "status": last.status,
        "status_label": LABEL[Status(last.status)], "waiting_for": waiting_for, "code": None,
        "name": last.location, "kind": KIND_OF_STATUS.get(last.status, "outlet"), "city": None, "address": None,
        "phone": None, "promised_dispatch_hours": promised, "arrived_at": to_iso(arrived),
        "dispatch_due_at": to_iso(due), "waited_hours": round(waited, 1),
        "overdue": due is not None and now > due, "incident": None,
    }
