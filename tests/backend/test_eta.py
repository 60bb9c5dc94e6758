"""Tests of the ETA estimate on constructed histories, through the API, and on a small seeded demo database."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from logistics import db, migrate, seed
from logistics.network.models import Facility, Incident
from logistics.shipments import eta
from logistics.shipments.models import Shipment, TrackingEvent
from logistics.timeutil import CST, parse_iso, to_iso, utcnow
from tests.support import unique_number, unique_phone

# Each test lives in its own 60-day slice far from the real clock: the statistics window (30 days back from
# `now`) then sees only that test's history, although every test shares one database.
_slices = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_statistics():
    eta.clear_cache()
    yield
    eta.clear_cache()


@pytest.fixture()
def session(engine):
    factory = db.session_factory(engine)
    with factory() as session:
        yield session


@pytest.fixture()
def now() -> datetime:
    """03:00 UTC, i.e. 11:00 China time, inside the working day, in this test's own slice."""
    return datetime(2031, 1, 1, 3, 0) + timedelta(days=60 * next(_slices))


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def _facility(session, kind: str, city: str | None = None, **extra) -> Facility:
    tag = _tag()
    city = city or f"测试{tag}"
    facility = Facility(code=f"T-{kind[:3].upper()}-{tag}", kind=kind, name=f"{city}{kind}{tag}", city=city, **extra)
    session.add(facility)
    session.flush()
    return facility


def _shipment(session, scans: list[tuple], destination: str = "杭州", promised: datetime | None = None) -> Shipment:
    """A shipment with scans given as (time, status, facility or None, description or None)."""
    shipment = Shipment(tracking_number=unique_number(), carrier="sf", sender_phone=unique_phone(),
                        recipient_phone=unique_phone(), origin="上海", destination=destination,
                        status=scans[-1][1] if scans else "created", promised_delivery_at=promised,
                        created_at=scans[0][0] if scans else utcnow())
    for at, status, facility, description in scans:
        shipment.events.append(TrackingEvent(time=at, status=status, location="测试",
                                             facility_id=facility.id if facility else None,
                                             description=description))
    session.add(shipment)
    session.flush()
    return shipment


def _hub_history(session, hub: Facility, start: datetime, hours: list[float]) -> None:
    """Parcels that arrived at and left a hub after the given dwell times."""
    for i, h in enumerate(hours):
        arrived = start + timedelta(hours=i)
        _shipment(session, [(arrived, "arrived_hub", hub, None),
                            (arrived + timedelta(hours=h), "departed_hub", hub, None)])


def _cst(value: datetime):
    return value.replace(tzinfo=timezone.utc).astimezone(CST)


def test_hub_dwell_median_and_p80_come_from_constructed_samples(session, now):
    hub = _facility(session, "hub")
    _hub_history(session, hub, now - timedelta(days=5), [2, 3, 4, 5, 6, 7, 30])
    arrived = now - timedelta(hours=1)
    parcel = _shipment(session, [(arrived, "arrived_hub", hub, None)])

    stats = eta.statistics(session, now)
    assert stats.get("dwell", hub.id) == eta.Summary(median=5.0, p80=6.8, samples=7)
    result = eta.estimate(session, parcel, now)
    step = result["next_step"]
    assert step["status"] == "departed_hub"
    assert step["facility"] == hub.name
    assert step["expected_at"] == arrived + timedelta(hours=5)
    assert step["latest_at"] == arrived + timedelta(hours=6.8)
    assert (step["basis"], step["samples"]) == ("hub_median", 7)
    assert step["overdue"] is False and step["delayed_by_incident"] is False
    assert result["incident"] is None


def test_too_few_samples_fall_back_to_the_hub_kind_median(session, now):
    quiet, busy = _facility(session, "hub"), _facility(session, "hub")
    _hub_history(session, quiet, now - timedelta(days=3), [1, 1, 1])
    _hub_history(session, busy, now - timedelta(days=4), [8, 8, 8, 8, 8])
    arrived = now - timedelta(hours=1)
    parcel = _shipment(session, [(arrived, "arrived_hub", quiet, None)])

    step = eta.estimate(session, parcel, now)["next_step"]
    assert (step["basis"], step["samples"]) == ("hub_kind_median", 8)
    assert step["expected_at"] == arrived + timedelta(hours=8)


def test_an_active_incident_holds_the_next_step_until_its_expected_clear_time(session, now):
    hub = _facility(session, "hub", city="杭州")
    clear = now + timedelta(hours=9)
    session.add(Incident(facility_id=hub.id, kind="weather", summary="台风停发", starts_at=now - timedelta(days=2),
                         expected_clear_at=clear, active=True))
    _hub_history(session, hub, now - timedelta(days=6), [5, 5, 6, 6, 7])
    parcel = _shipment(session, [(now - timedelta(hours=40), "arrived_hub", hub, None)])

    result = eta.estimate(session, parcel, now)
    step = result["next_step"]
    assert step["expected_at"] == clear
    assert step["delayed_by_incident"] is True
    assert step["overdue"] is False and step["stalled"] is False
    assert result["incident"]["facility"] == hub.name
    assert result["incident"]["expected_clear_at"] == clear
    assert result["delivery"]["delayed_by_incident"] is True
    assert result["delivery"]["expected_at"] > clear


def test_an_overdue_parcel_never_gets_a_time_in_the_past(session, now):
    outlet = _facility(session, "outlet")
    for i in range(5):
        at = now - timedelta(days=4, hours=i)
        _shipment(session, [(at, "at_outlet", outlet, None),
                            (at + timedelta(hours=4), "out_for_delivery", outlet, None)])
    parcel = _shipment(session, [(now - timedelta(hours=30), "at_outlet", outlet, None)])

    result = eta.estimate(session, parcel, now)
    step = result["next_step"]
    assert step["overdue"] is True and step["stalled"] is True
    assert step["basis"] == "outlet_median"
    assert step["expected_at"] == now + timedelta(hours=1)  # a quarter of the typical 4 h, from now
    assert step["latest_at"] >= step["expected_at"]
    assert result["delivery"]["expected_at"] > step["expected_at"]

    # An incident whose announced clear time has passed does not pull the estimate into the past either.
    hub = _facility(session, "hub")
    session.add(Incident(facility_id=hub.id, kind="equipment", summary="分拣线故障", starts_at=now - timedelta(days=1),
                         expected_clear_at=now - timedelta(hours=2), active=True))
    held = _shipment(session, [(now - timedelta(hours=20), "arrived_hub", hub, None)])
    step = eta.estimate(session, held, now)["next_step"]
    assert step["expected_at"] > now
    assert step["overdue"] is True and step["delayed_by_incident"] is True and step["stalled"] is False


def test_out_for_delivery_is_delivered_the_same_day(session, now):
    outlet = _facility(session, "outlet")
    for i in range(5):
        out = now - timedelta(days=2, hours=i)
        _shipment(session, [(out, "out_for_delivery", outlet, None),
                            (out + timedelta(hours=2), "delivered", outlet, None)])
    out = now - timedelta(minutes=30)
    parcel = _shipment(session, [(out, "out_for_delivery", outlet, None)], promised=now + timedelta(hours=9))

    result = eta.estimate(session, parcel, now)
    step, delivery = result["next_step"], result["delivery"]
    assert step["status"] == "delivered"
    assert (step["basis"], step["samples"]) == ("last_mile_outlet_median", 5)
    assert step["expected_at"] == out + timedelta(hours=2)
    assert _cst(step["expected_at"]).date() == _cst(now).date()
    assert delivery["expected_at"] == step["expected_at"]
    assert delivery["late"] is False


def test_delivered_and_pickup_point_parcels_have_no_next_step(session, now):
    outlet, locker = _facility(session, "outlet"), _facility(session, "locker")
    delivered = _shipment(session, [(now - timedelta(hours=5), "out_for_delivery", outlet, None),
                                    (now - timedelta(hours=3), "delivered", outlet, None)])
    assert eta.estimate(session, delivered, now) is None

    waiting = _shipment(session, [(now - timedelta(hours=5), "out_for_delivery", outlet, None),
                                  (now - timedelta(hours=4), "in_locker", locker, None)])
    result = eta.estimate(session, waiting, now)
    assert result["stage"] == "awaiting_pickup"
    assert result["next_step"] is None and result["delivery"] is None


def test_transit_uses_the_route_median_of_the_hub_named_as_next_stop(session, now):
    a, b, other = _facility(session, "hub"), _facility(session, "hub"), _facility(session, "hub")
    for i in range(5):
        left = now - timedelta(days=6, hours=i)
        _shipment(session, [(left, "departed_hub", a, f"快件已从【{a.name}】发出，下一站【{b.name}】"),
                            (left + timedelta(minutes=40), "in_transit", None, f"快件正在运输途中，已发往【{b.name}】"),
                            (left + timedelta(hours=7), "arrived_hub", b, None)])
    for i in range(7):  # other routes take much longer, so the network-wide median is far from 7 h
        left = now - timedelta(days=8, hours=i)
        _shipment(session, [(left, "departed_hub", a, None), (left + timedelta(hours=20), "arrived_hub", other, None)])

    left = now - timedelta(hours=2)
    scans = [(left - timedelta(hours=5), "arrived_hub", a, None),
             (left, "departed_hub", a, f"快件已从【{a.name}】发出，下一站【{b.name}】"),
             (left + timedelta(minutes=30), "in_transit", None, f"快件正在运输途中，已发往【{b.name}】")]
    parcel = _shipment(session, scans, destination=b.city)
    step = eta.estimate(session, parcel, now)["next_step"]
    assert step["status"] == "arrived_hub"
    assert (step["facility"], step["facility_code"]) == (b.name, b.code)
    assert (step["basis"], step["samples"]) == ("route_median", 5)
    assert step["expected_at"] == left + timedelta(hours=7)

    # Without a named next stop (and a destination without history) only the network-wide median is left.
    unnamed = _shipment(session, [(left, "departed_hub", a, None)], destination="无名城")
    step = eta.estimate(session, unnamed, now)["next_step"]
    assert step["basis"] == "trunk_median"
    assert step["facility"] is None
    assert step["expected_at"] == left + timedelta(hours=20)


def test_the_api_detail_carries_the_eta_in_china_time(api, make_shipment, engine):
    with db.session_factory(engine)() as session:
        hub = _facility(session, "hub", city="杭州")
        session.commit()
    body = make_shipment(destination="杭州")
    number, tail = body["tracking_number"], body["recipient"]["phone"][-4:]
    arrived = utcnow() - timedelta(hours=1)
    response = api.post(f"/api/v1/shipments/{number}/events", json={
        "time": to_iso(arrived), "status": "arrived_hub", "location": "杭州市", "facility_code": hub.code,
        "description": f"快件已到达【{hub.name}】"})
    assert response.status_code == 201, response.text

    detail = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": tail}).json()
    estimate = detail["eta"]
    assert estimate["stage"] == "in_network"
    assert estimate["next_step"]["status"] == "departed_hub"
    assert estimate["next_step"]["facility"] == hub.name
    for value in (estimate["next_step"]["expected_at"], estimate["delivery"]["expected_at"], estimate["since"]):
        assert value.endswith("+08:00")
    assert parse_iso(estimate["next_step"]["expected_at"]) > arrived
    assert parse_iso(estimate["delivery"]["expected_at"]) >= parse_iso(estimate["next_step"]["expected_at"])


def test_delivered_shipment_detail_has_no_eta(api, make_shipment):
    body = make_shipment()
    number, tail = body["tracking_number"], body["recipient"]["phone"][-4:]
    api.post(f"/api/v1/shipments/{number}/events", json={
        "time": to_iso(utcnow() - timedelta(hours=1)), "status": "delivered", "location": "杭州市西湖区"})
    detail = api.get(f"/api/v1/shipments/{number}", params={"phone_tail": tail}).json()
    assert detail["status"] == "delivered"
    assert detail["eta"] is None


def test_demo_zhang_parcel_leaves_when_the_weather_incident_clears(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    factory = db.session_factory(engine)
    now = datetime(2026, 11, 25, 6, 30)  # 14:30 China time
    seed.seed(factory, shipments=200, progress=False, now=now)
    try:
        with factory() as session:
            parcel = session.execute(
                select(Shipment).where(Shipment.tracking_number == seed.DEMO_ZHANG_HELD)).scalar_one()
            last = max(parcel.events, key=lambda e: (e.time, e.id))
            incident = session.execute(select(Incident).where(
                Incident.facility_id == last.facility_id, Incident.active.is_(True))).scalar_one()
            result = eta.estimate(session, parcel, now)
    finally:
        engine.dispose()
    step = result["next_step"]
    assert last.status == "arrived_hub"
    assert step["facility"] == "杭州萧山中转场"
    assert step["status"] == "departed_hub"
    assert step["expected_at"] == incident.expected_clear_at
    assert step["delayed_by_incident"] is True
    assert result["incident"]["kind"] == "weather"
    assert result["delivery"]["expected_at"] > incident.expected_clear_at
    assert result["delivery"]["late"] is True
