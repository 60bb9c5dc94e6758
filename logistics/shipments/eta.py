"""Estimated times of a shipment's next step and of its delivery, learnt from the backend's own tracking history."""
from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from logistics.network.models import Facility, Incident
from logistics.shipments.models import Shipment, TrackingEvent
from logistics.shipments.statuses import Status
from logistics.timeutil import CST, to_iso, utcnow

logger = logging.getLogger(__name__)

S = Status
# A facility's (or a route's) own history is trusted from this many completed segments on.
MIN_SAMPLES = 5
# Only recent history: the network and its timetables change, and a short window keeps the pass cheap.
WINDOW = timedelta(days=30)
CACHE_SECONDS = 300.0
# An overdue parcel is promised a small share of the typical wait from now, never a time in the past.
OVERDUE_FRACTION = 0.25
MIN_OVERDUE = timedelta(minutes=15)
# A walk from any status to delivery takes at most ~10 legs; the bound only guards against a broken path.
MAX_LEGS = 14

# Typical hours (median, p80) used only when the database holds no completed segment of that kind at all.
DEFAULT_HOURS: dict[str, tuple[float, float]] = {
    "pickup": (4.0, 8.0),
    "outlet_departure": (2.5, 4.0),
    "feeder": (2.5, 3.5),
    "international": (20.0, 26.0),
    "hub_dwell": (6.0, 9.0),
    "trunk": (12.0, 20.0),
    "hub_to_outlet": (3.5, 4.5),
    "outlet_dwell": (4.5, 7.0),
    "last_mile": (2.5, 4.0),
    "redelivery": (17.0, 19.0),
    "customs": (18.0, 30.0),
}

# Statuses at which the parcel sits inside a facility, so an incident there holds it back.
WAITING = frozenset(s.value for s in (
    S.PICKED_UP, S.ARRIVED_HUB, S.AT_OUTLET, S.DELIVERY_FAILED,
    S.CUSTOMS_PENDING, S.CUSTOMS_PROCESSING, S.CUSTOMS_CLEARED,
))
FINISHED = frozenset(s.value for s in (S.DELIVERED, S.RETURNED, S.LOST))
PICKUP_POINTS = frozenset(s.value for s in (S.IN_LOCKER, S.AT_STATION))
LAST_MILE_ENDS = frozenset(s.value for s in (S.DELIVERED, S.IN_LOCKER, S.AT_STATION))
NEEDS_ATTENTION = frozenset(s.value for s in (S.EXCEPTION, S.CUSTOMS_EXCEPTION))
RETURNING = frozenset(s.value for s in (S.REFUSED, S.RETURNING))
CUSTOMS_NEXT = {
    S.CUSTOMS_PENDING.value: S.CUSTOMS_PROCESSING.value,
    S.CUSTOMS_PROCESSING.value: S.CUSTOMS_CLEARED.value,
    S.CUSTOMS_CLEARED.value: S.IN_TRANSIT.value,
}
# Scans name the next stop as "下一站【X】" (departures) or "已发往【X】" (trunk in-transit scans).
# Transitions timed as they are (scan to next scan); every other segment is matched across scans below.
STEP_PAIRS = frozenset({
    (S.CREATED.value, S.PICKED_UP.value),
    (S.PICKED_UP.value, S.IN_TRANSIT.value),
    (S.IN_TRANSIT.value, S.CUSTOMS_PENDING.value),
    (S.DELIVERY_FAILED.value, S.OUT_FOR_DELIVERY.value),
    *CUSTOMS_NEXT.items(),
})
# Couriers start collection and delivery rounds in the working day (China time), as the history shows.
DAYTIME_SCANS = frozenset(s.value for s in (S.PICKED_UP, S.OUT_FOR_DELIVERY))
DAY_START_HOUR, DAY_END_HOUR = 8, 20
# A wait beyond this many times the p80 without an incident to explain it is a stuck parcel, not a late one.
STALLED_FACTOR = 3.0
NEXT_STOP = re.compile(r"(?:下一站|已发往)【([^】]+)】")
# The key of a family's network-wide summary; None in a key means "unknown", which matches nothing.
ANY = "*"


# --- statistics ---


@dataclass(frozen=True)
class Summary:
    """Completed segments of one kind, in hours."""

    median: float
    p80: float
    samples: int


@dataclass(frozen=True)
class Fac:
    id: int
    code: str
    kind: str
    name: str
    city: str
    carrier: Optional[str]


@dataclass(frozen=True)
class Stats:
    """Segment summaries keyed by (family, key), and the facility table they refer to."""

    built_at: datetime
    window_start: datetime
    segments: dict
    facilities: dict
    by_name: dict
    events: int

    def get(self, family: str, key: object) -> Optional[Summary]:
        return self.segments.get((family, key))


def _quantile(ordered: list[float], q: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summarise(samples: dict[tuple, list[float]]) -> dict[tuple, Summary]:
    out = {}
    for key, values in samples.items():
        ordered = sorted(values)
        out[key] = Summary(round(_quantile(ordered, 0.5), 3), round(_quantile(ordered, 0.8), 3), len(ordered))
    return out


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


def build_stats(session: Session, now: datetime | None = None) -> Stats:
    """One pass over the window's scans, in shipment and time order, collecting every completed segment."""
    now = now or utcnow()
    since = now - WINDOW
    facilities: dict[int, Fac] = {}
    by_name: dict[str, list[Fac]] = defaultdict(list)
    columns = (Facility.id, Facility.code, Facility.kind, Facility.name, Facility.city, Facility.carrier)
    for row in session.execute(select(*columns)):
        fac = Fac(*row)
        facilities[fac.id] = fac
        by_name[fac.name].append(fac)

    query = (
        select(TrackingEvent.shipment_id, TrackingEvent.time, TrackingEvent.status, TrackingEvent.facility_id)
        .where(TrackingEvent.time >= since, TrackingEvent.time <= now)
        .order_by(TrackingEvent.shipment_id, TrackingEvent.time, TrackingEvent.id)
    )
    samples: dict[tuple, list[float]] = defaultdict(list)
    count = 0

    def add(family: str, key: object, value: float) -> None:
        # A negative or zero gap is a scan recorded out of order, not a duration worth learning from.
        if value > 0:
            samples[(family, key)].append(value)

    current = None
    prev = None  # (time, status, facility_id) of the shipment's previous scan
    arrivals: dict[int, datetime] = {}
    departed = feeder = outlet = None
    for shipment_id, at, status, facility_id in session.execute(query):
        count += 1
        if shipment_id != current:
            current, prev, arrivals, departed, feeder, outlet = shipment_id, None, {}, None, None, None
        fac = facilities.get(facility_id) if facility_id is not None else None
        if prev is not None:
            p_time, p_status, p_fac_id = prev
            gap = _hours(at, p_time)
            p_fac = facilities.get(p_fac_id) if p_fac_id is not None else None
            if (p_status, status) in STEP_PAIRS:
                add("step", (p_status, status, ANY), gap)
                if p_fac is not None:
                    add("step", (p_status, status, p_fac.id), gap)
                    add("step_kind", (p_status, status, p_fac.kind), gap)
            if p_status == S.OUT_FOR_DELIVERY.value and status in LAST_MILE_ENDS:
                add("last_mile", ANY, gap)
                if p_fac_id is not None:
                    add("last_mile", p_fac_id, gap)
        if status == S.ARRIVED_HUB.value and fac is not None:
            if departed is not None:
                a, left = departed
                gap = _hours(at, left)
                add("trunk", (a.id, fac.id), gap)
                add("trunk_city", (a.city, fac.city), gap)
                add("trunk", ANY, gap)
            if feeder is not None:
                f, left = feeder
                gap = _hours(at, left)
                add("feeder", (f.id, fac.id), gap)
                add("feeder", ANY, gap)
            arrivals[fac.id] = at
            departed = feeder = None
        elif status == S.DEPARTED_HUB.value and fac is not None:
            arrived = arrivals.pop(fac.id, None)
            if arrived is not None:
                gap = _hours(at, arrived)
                add("dwell", fac.id, gap)
                add("dwell_kind", "hub", gap)
            departed, feeder = (fac, at), None
        elif status == S.IN_TRANSIT.value and fac is not None and fac.kind in ("outlet", "customs"):
            feeder, departed = (fac, at), None
        elif status == S.AT_OUTLET.value and fac is not None:
            if departed is not None:
                a, left = departed
                gap = _hours(at, left)
                add("hub_outlet", (a.id, fac.id), gap)
                add("hub_outlet", ANY, gap)
            departed = None
            outlet = (fac, at)
        elif status == S.OUT_FOR_DELIVERY.value and outlet is not None:
            o, arrived = outlet
            gap = _hours(at, arrived)
            add("dwell", o.id, gap)
            add("dwell_kind", "outlet", gap)
            # Only the first dispatch after arrival measures the outlet's dwell; re-deliveries do not.
            outlet = None
        prev = (at, status, facility_id)
    return Stats(now, since, _summarise(samples), facilities, dict(by_name), count)


_cache: dict[str, tuple[float, Stats]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached statistics (tests, or after a bulk import)."""
    with _lock:
        _cache.clear()


def statistics(session: Session, now: datetime | None = None) -> Stats:
    """The segment statistics of this session's database, rebuilt at most every CACHE_SECONDS."""
    key = str(session.get_bind().url)
    # The lock makes concurrent first requests wait for one pass instead of each running their own.
    with _lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        stats = build_stats(session, now)
        _cache[key] = (time.monotonic(), stats)
        return stats


# --- walking the path to delivery ---


@dataclass(frozen=True)
class Leg:
    median: float
    p80: float
    samples: int
    basis: str


@dataclass(frozen=True)
class Pos:
    """Where the parcel is (or is expected to be): a status reached at a facility, in a city, at a time."""

    status: str
    fac: Optional[Fac]
    city: Optional[str]
    time: datetime
    latest: datetime
    heading: Optional[Fac] = None
    final_hub: bool = False  # a hub reached by the leg towards the destination city


def _leg(stats: Stats, candidates: Iterable[tuple[str, object, str]], default: str) -> Leg:
    """The first candidate with enough samples; the broadest one accepts any sample; else the default."""
    candidates = [c for c in candidates if c[1] is not None and not (isinstance(c[1], tuple) and None in c[1])]
    for i, (family, key, basis) in enumerate(candidates):
        summary = stats.get(family, key)
        if summary is None:
            continue
        if summary.samples >= MIN_SAMPLES or (i == len(candidates) - 1 and summary.samples > 0):
            return Leg(summary.median, summary.p80, summary.samples, basis)
    median, p80 = DEFAULT_HOURS[default]
    return Leg(median, p80, 0, "default")


def _same_city(a: Optional[str], b: Optional[str]) -> bool:
    return bool(a) and bool(b) and (a in b or b in a)


class _Walk:
    def __init__(self, stats: Stats, session: Session, shipment: Shipment, incidents: dict[int, Incident]):
        self.stats = stats
        self.session = session
        self.shipment = shipment
        self.incidents = incidents
        cities = {f.city for f in stats.facilities.values()}
        destination = shipment.destination or ""
        # Waybills may say "杭州市西湖区"; the route statistics know the network's city names.
        self.dest_city = next((c for c in sorted(cities, key=len, reverse=True) if _same_city(c, destination)),
                              destination or None)

    def facility(self, facility_id: Optional[int]) -> Optional[Fac]:
        if facility_id is None:
            return None
        fac = self.stats.facilities.get(facility_id)
        if fac is None:  # created after the statistics were cached
            row = self.session.get(Facility, facility_id)
            if row is not None:
                fac = Fac(row.id, row.code, row.kind, row.name, row.city, row.carrier)
        return fac

    def named(self, description: Optional[str]) -> Optional[Fac]:
        """The facility a scan names as the next stop, preferring the shipment's own carrier's."""
        match = NEXT_STOP.search(description or "")
        if match is None:
            return None
        name = match.group(1).strip()
        options = self.stats.by_name.get(name)
        if not options:
            rows = self.session.execute(select(Facility).where(Facility.name == name)).scalars().all()
            options = [Fac(r.id, r.code, r.kind, r.name, r.city, r.carrier) for r in rows]
        if not options:
            return None
        return next((f for f in options if f.carrier == self.shipment.carrier), options[0])

    def advance(self, pos: Pos) -> Optional[tuple[Pos, Leg]]:
        """The next step from a position and the typical leg to it; None where the path ends or is unknown."""
        st, fac, stats = pos.status, pos.fac, self.stats
        fid = fac.id if fac is not None else None
        if st == S.CREATED.value:
            leg = _leg(stats, [("step", (st, S.PICKED_UP.value, ANY), "transition_median")], "pickup")
            return self._to(pos, S.PICKED_UP.value, None, pos.city), leg
        if st == S.PICKED_UP.value:
            key = (st, S.IN_TRANSIT.value)
            leg = _leg(stats, [("step", (*key, fid), "facility_median"), ("step", (*key, ANY), "transition_median")],
                       "outlet_departure")
            return self._to(pos, S.IN_TRANSIT.value, fac, pos.city), leg
        if st == S.IN_TRANSIT.value:
            head = pos.heading
            if head is not None and head.kind == "customs":
                key = (st, S.CUSTOMS_PENDING.value, ANY)
                leg = _leg(stats, [("step", key, "transition_median")], "international")
                return self._to(pos, S.CUSTOMS_PENDING.value, head, head.city), leg
            hub = head if head is not None and head.kind == "hub" else None
            city = hub.city if hub is not None else pos.city
            route = (fid, hub.id) if fid is not None and hub is not None else None
            leg = _leg(stats, [("feeder", route, "route_median"), ("feeder", ANY, "feeder_median")], "feeder")
            return self._to(pos, S.ARRIVED_HUB.value, hub, city), leg
        if st == S.ARRIVED_HUB.value:
            leg = _leg(stats, [("dwell", fid, "hub_median"), ("dwell_kind", "hub", "hub_kind_median")], "hub_dwell")
            return replace(self._to(pos, S.DEPARTED_HUB.value, fac, pos.city), final_hub=pos.final_hub), leg
        if st == S.DEPARTED_HUB.value:
            return self._depart(pos)
        if st == S.AT_OUTLET.value:
            leg = _leg(stats, [("dwell", fid, "outlet_median"), ("dwell_kind", "outlet", "outlet_kind_median")],
                       "outlet_dwell")
            return self._to(pos, S.OUT_FOR_DELIVERY.value, fac, pos.city), leg
        if st == S.OUT_FOR_DELIVERY.value:
            leg = _leg(stats, [("last_mile", fid, "last_mile_outlet_median"), ("last_mile", ANY, "last_mile_median")],
                       "last_mile")
            return self._to(pos, S.DELIVERED.value, fac, pos.city), leg
        if st == S.DELIVERY_FAILED.value:
            key = (st, S.OUT_FOR_DELIVERY.value, ANY)
            leg = _leg(stats, [("step", key, "transition_median")], "redelivery")
            return self._to(pos, S.OUT_FOR_DELIVERY.value, fac, pos.city), leg
        if st in CUSTOMS_NEXT:
            nxt = CUSTOMS_NEXT[st]
            leg = _leg(stats, [("step", (st, nxt, fid), "customs_median"),
                               ("step_kind", (st, nxt, "customs"), "customs_kind_median")], "customs")
            return self._to(pos, nxt, fac, pos.city), leg
        return None

    def _depart(self, pos: Pos) -> tuple[Pos, Leg]:
        stats, a, head = self.stats, pos.fac, pos.heading
        if head is not None and head.kind not in ("hub", "outlet"):
            head = None
        to_outlet = head.kind == "outlet" if head is not None else (
            pos.final_hub or _same_city(pos.city, self.dest_city))
        if to_outlet:
            route = (a.id, head.id) if a is not None and head is not None else None
            leg = _leg(stats, [("hub_outlet", route, "route_median"), ("hub_outlet", ANY, "hub_to_outlet_median")],
                       "hub_to_outlet")
            return self._to(pos, S.AT_OUTLET.value, head, head.city if head else pos.city), leg
        city = head.city if head is not None else self.dest_city
        route = (a.id, head.id) if a is not None and head is not None else None
        pair = (pos.city, city) if pos.city and city else None
        leg = _leg(stats, [("trunk", route, "route_median"), ("trunk_city", pair, "city_pair_median"),
                           ("trunk", ANY, "trunk_median")], "trunk")
        final = head is None or _same_city(city, self.dest_city)
        return replace(self._to(pos, S.ARRIVED_HUB.value, head, city), final_hub=final), leg

    @staticmethod
    def _to(pos: Pos, status: str, fac: Optional[Fac], city: Optional[str]) -> Pos:
        return Pos(status, fac, fac.city if fac is not None else city, pos.time, pos.latest)

    def incident_at(self, pos: Pos) -> Optional[Incident]:
        if pos.fac is None or pos.status not in WAITING:
            return None
        return self.incidents.get(pos.fac.id)


def _working_hours(at: datetime) -> datetime:
    """The time itself inside the working day (China time), else the start of the next working day."""
    offset = CST.utcoffset(None)
    local = at + offset
    start = local.replace(hour=DAY_START_HOUR, minute=0, second=0, microsecond=0)
    if local < start:
        local = start
    elif local.hour >= DAY_END_HOUR:
        local = start + timedelta(days=1)
    return local - offset


def _active_incidents(session: Session) -> dict[int, Incident]:
    """Active notices by facility, the latest one winning, as the shipment detail shows them."""
    query = (select(Incident)
             .where(Incident.active.is_(True), Incident.ended_at.is_(None))
             .order_by(Incident.starts_at, Incident.id))
    return {i.facility_id: i for i in session.execute(query).scalars()}


def _start(walk: _Walk, shipment: Shipment, events: list[TrackingEvent]) -> Optional[Pos]:
    """The position the estimate starts from: the latest scan, with a trunk's in-transit scan folded back."""
    if not events:
        if shipment.status != S.CREATED.value or shipment.created_at is None:
            return None
        return Pos(S.CREATED.value, None, None, shipment.created_at, shipment.created_at)
    last = events[-1]
    anchor = last
    heading = walk.named(last.description)
    # "正在运输途中" after a hub departure carries no facility: the trunk leg is timed from the departure.
    if last.status == S.IN_TRANSIT.value and last.facility_id is None and len(events) > 1:
        before = events[-2]
        if before.status == S.DEPARTED_HUB.value:
            anchor = before
            heading = heading or walk.named(before.description)
    fac = walk.facility(anchor.facility_id)
    return Pos(anchor.status, fac, fac.city if fac is not None else None, anchor.time, anchor.time, heading)


def _incident_dict(incident: Incident, fac: Optional[Fac]) -> dict:
    return {
        "facility": fac.name if fac is not None else None,
        "facility_code": fac.code if fac is not None else None,
        "kind": incident.kind,
        "summary": incident.summary,
        "starts_at": incident.starts_at,
        "expected_clear_at": incident.expected_clear_at,
    }


def estimate(session: Session, shipment: Shipment, now: datetime | None = None) -> dict | None:
    """Next step and delivery estimates (naive UTC datetimes); None once nothing is left to estimate.

    See ETA.md for the method. `now` is for tests; by default the current time.
    """
    now = now or utcnow()
    events = sorted(shipment.events, key=lambda e: (e.time, e.id))
    status = events[-1].status if events else shipment.status
    if status in FINISHED:
        return None
    stats = statistics(session, now)
    incidents = _active_incidents(session)
    walk = _Walk(stats, session, shipment, incidents)
    pos = _start(walk, shipment, events)
    if pos is None:
        return None
    held = walk.incident_at(pos)
    # Pickup points, exceptions and returns have no next scan that history could time.
    stage = ("awaiting_pickup" if status in PICKUP_POINTS else "needs_attention" if status in NEEDS_ATTENTION
             else "returning" if status in RETURNING else "in_network")
    base = {
        "stage": stage,
        "status": status,
        "since": events[-1].time if events else shipment.created_at,
        "computed_at": now,
        "next_step": None,
        "delivery": None,
        "incident": _incident_dict(held, pos.fac) if held is not None else None,
    }
    first = walk.advance(pos) if stage == "in_network" else None
    if first is None:
        return base

    nxt, leg = first
    normal = pos.time + timedelta(hours=leg.median)
    expected, latest = normal, pos.time + timedelta(hours=leg.p80)
    clear = held.expected_clear_at if held is not None else None
    if clear is not None:
        expected, latest = max(expected, clear), max(latest, clear)
    overdue = expected < now
    if overdue:
        expected = now + max(MIN_OVERDUE, timedelta(hours=leg.median * OVERDUE_FRACTION))
        latest = max(latest, now + max(MIN_OVERDUE, timedelta(hours=leg.p80 * OVERDUE_FRACTION)))
    if nxt.status in DAYTIME_SCANS:
        expected, latest = _working_hours(expected), _working_hours(latest)
    latest = max(latest, expected)
    waited = _hours(now, pos.time)
    target = nxt.fac  # where the next scan happens: the current hub for a departure, the next one for an arrival
    base["next_step"] = {
        "status": nxt.status,
        "facility": target.name if target is not None else None,
        "facility_code": target.code if target is not None else None,
        "expected_at": expected,
        "latest_at": latest,
        "basis": leg.basis,
        "samples": leg.samples,
        "typical_hours": round(leg.median, 1),
        "delayed_by_incident": held is not None,
        "overdue": overdue,
        "waited_hours": round(max(waited, 0.0), 1),
        "stalled": overdue and held is None and waited > STALLED_FACTOR * leg.p80,
    }
    base["delivery"] = _delivery(walk, replace(nxt, time=expected, latest=latest), held is not None, base, shipment)
    return base


def _delivery(walk: _Walk, pos: Pos, delayed: bool, result: dict, shipment: Shipment) -> Optional[dict]:
    """Typical legs from the next step onwards, each held back by an active incident where it waits."""
    bases = []
    for _ in range(MAX_LEGS):
        if pos.status in LAST_MILE_ENDS:
            break
        step = walk.advance(pos)
        if step is None:
            return None
        nxt, leg = step
        expected = pos.time + timedelta(hours=leg.median)
        latest = pos.latest + timedelta(hours=leg.p80)
        incident = walk.incident_at(pos)
        if incident is not None:
            delayed = True
            if result["incident"] is None:
                result["incident"] = _incident_dict(incident, pos.fac)
            if incident.expected_clear_at is not None:
                expected = max(expected, incident.expected_clear_at)
                latest = max(latest, incident.expected_clear_at)
        if nxt.status in DAYTIME_SCANS:
            expected, latest = _working_hours(expected), _working_hours(latest)
        bases.append(leg.basis)
        pos = replace(nxt, time=expected, latest=max(latest, expected))
    else:
        return None
    promised = shipment.promised_delivery_at
    return {
        "expected_at": pos.time,
        "latest_at": pos.latest,
        "basis": "next_step+typical_legs" if bases else "next_step",
        "legs": bases,
        "promised_at": promised,
        "late": pos.time > promised if promised is not None else None,
        "delayed_by_incident": delayed,
    }


# --- rendering for the API ---


def render(value):
    """The estimate with every datetime as ISO 8601 in China time, as the API shows times."""
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def for_detail(shipment: Shipment, now: datetime | None = None) -> dict | None:
    """The rendered estimate for a loaded shipment, using the session it belongs to.

    A failure here must not cost the caller the whole shipment detail: it is logged and the ETA left out.
    """
    session = object_session(shipment)
    if session is None:
        return None
    try:
        return render(estimate(session, shipment, now))
    except Exception:  # the detail must survive an ETA bug, see the docstring
        logger.exception("ETA failed for shipment %s", shipment.tracking_number)
        return None
