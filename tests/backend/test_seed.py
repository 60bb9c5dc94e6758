"""Tests of the demo data generator: determinism, trajectory sanity, scenarios, demo identities and speed."""
from __future__ import annotations

import os
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from logistics import db, migrate, seed
from logistics.customers.models import ChannelBinding, Customer
from logistics.network.models import Facility, Incident
from logistics.shipments import tracking_numbers
from logistics.shipments.models import Shipment, TrackingEvent
from logistics.shipments.statuses import Status, is_active
from tests.conftest import postgres_database

NOW = datetime(2026, 11, 25, 6, 30, 0)  # 14:30 China time
SMALL = 300
VERSIONS = Path(migrate.MIGRATIONS) / "versions"
# Scans that only a facility can make; created, trunk and doorstep events may have none.
AT_FACILITY = {s.value for s in (
    Status.ARRIVED_HUB, Status.DEPARTED_HUB, Status.AT_OUTLET, Status.OUT_FOR_DELIVERY, Status.IN_LOCKER,
    Status.AT_STATION, Status.CUSTOMS_PENDING, Status.CUSTOMS_PROCESSING, Status.CUSTOMS_CLEARED,
    Status.CUSTOMS_EXCEPTION, Status.EXCEPTION, Status.REFUSED, Status.DELIVERY_FAILED, Status.RETURNING,
    Status.RETURNED,
)}


def _make_factory(path: Path):
    engine = db.make_engine(f"sqlite:///{path}")
    if any(p.suffix == ".py" and p.stem != "__init__" for p in VERSIONS.iterdir()):
        migrate.upgrade(engine)
    else:
        import logistics.models  # noqa: F401  (registers every table)

        db.Base.metadata.create_all(engine)
    return engine, db.session_factory(engine)


def _seed(path: Path, **kwargs):
    engine, factory = _make_factory(path)
    options = {"shipments": SMALL, "progress": False, "now": NOW, **kwargs}
    return engine, factory, seed.seed(factory, **options)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    engine, factory, report = _seed(tmp_path_factory.mktemp("seed") / "seed.db")
    yield factory, report
    engine.dispose()


@pytest.fixture(scope="module")
def trajectories(seeded):
    """Every shipment with its events in (time, id) order."""
    factory, _ = seeded
    with factory() as session:
        shipments = {s.id: s for s in session.execute(select(Shipment)).scalars()}
        events = defaultdict(list)
        order = (TrackingEvent.shipment_id, TrackingEvent.time, TrackingEvent.id)
        for event in session.execute(select(TrackingEvent).order_by(*order)).scalars():
            events[event.shipment_id].append(event)
        facilities = {f.id: f for f in session.execute(select(Facility)).scalars()}
    return shipments, events, facilities


def _numbers_and_times(factory) -> list[tuple]:
    with factory() as session:
        columns = (Shipment.tracking_number, Shipment.status, TrackingEvent.time, TrackingEvent.description)
        query = (select(*columns)
                 .join(TrackingEvent, TrackingEvent.shipment_id == Shipment.id)
                 .order_by(Shipment.tracking_number, TrackingEvent.time))
        return [tuple(row) for row in session.execute(query)]


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_report_counts_match_the_database(seeded):
    factory, report = seeded
    with factory() as session:
        assert report.shipments == _count(session, Shipment) == SMALL
        assert report.events == _count(session, TrackingEvent)
        assert report.facilities == _count(session, Facility)
        assert report.incidents == _count(session, Incident)
    assert sum(report.per_carrier.values()) == sum(report.per_scenario.values()) == SMALL
    assert not report.skipped


def test_same_seed_and_now_give_the_same_data(seeded, tmp_path):
    factory, _ = seeded
    engine, other, _ = _seed(tmp_path / "again.db")
    try:
        assert _numbers_and_times(other) == _numbers_and_times(factory)
    finally:
        engine.dispose()


def test_another_seed_gives_other_tracking_numbers(seeded, tmp_path):
    factory, _ = seeded
    engine, other, _ = _seed(tmp_path / "other.db", random_seed=7)
    try:
        with factory() as a, other() as b:
            first = set(a.execute(select(Shipment.tracking_number)).scalars())
            second = set(b.execute(select(Shipment.tracking_number)).scalars())
        # Only the fixed demo numbers are shared.
        assert first & second == set(seed.DEMO_NUMBERS)
    finally:
        engine.dispose()


def test_every_trajectory_is_in_time_order_and_never_in_the_future(trajectories):
    shipments, events, _ = trajectories
    assert set(events) == set(shipments)
    for shipment_id, trail in events.items():
        times = [e.time for e in trail]
        assert times == sorted(times)
        assert len(set(times)) == len(times), shipments[shipment_id].tracking_number
        assert times[-1] <= NOW
        assert trail[0].status == Status.CREATED.value
        assert shipments[shipment_id].created_at == times[0]
        assert times[0] >= NOW - timedelta(days=14)
        assert all(e.received_at >= e.time and e.received_at <= NOW for e in trail)


def test_each_status_equals_its_latest_event(trajectories):
    shipments, events, _ = trajectories
    for shipment_id, shipment in shipments.items():
        latest = max(events[shipment_id], key=lambda e: (e.time, e.id))
        assert shipment.status == latest.status, shipment.tracking_number


def test_events_at_facilities_name_the_facility_where_they_happened(trajectories):
    _, events, facilities = trajectories
    for trail in events.values():
        for event in trail:
            if event.facility_id is None:
                assert event.status not in AT_FACILITY, (event.status, event.description)
                continue
            facility = facilities[event.facility_id]
            assert event.location.startswith(facility.city), (event.location, facility.name)
            if event.status in (Status.ARRIVED_HUB.value, Status.AT_OUTLET.value, Status.IN_LOCKER.value,
                                Status.AT_STATION.value):
                assert facility.name in event.description


def test_all_scenarios_are_present(seeded, trajectories):
    _, report = seeded
    missing = [name for name in seed.SCENARIOS if report.per_scenario.get(name, 0) < 1]
    assert not missing
    shipments, events, _ = trajectories
    statuses = {e.status for trail in events.values() for e in trail}
    assert statuses >= {s.value for s in Status} - {Status.LOST.value}
    descriptions = [e.description for trail in events.values() for e in trail]
    assert any("外包装破损" in d for d in descriptions)
    assert any("门卫代签" in d for d in descriptions)
    assert any("收件人拒收" in d for d in descriptions)
    assert any("联系不上收件人" in d for d in descriptions)
    assert any("需补充收件人身份证信息" in d or "需补缴税款" in d for d in descriptions)


def test_returned_parcels_went_through_refusal_and_return(trajectories):
    shipments, events, _ = trajectories
    returned = [s for s in shipments.values() if s.status == Status.RETURNED.value]
    assert returned
    for shipment in returned:
        statuses = [e.status for e in events[shipment.id]]
        refused = statuses.index(Status.REFUSED.value)
        assert statuses[refused + 1] == Status.RETURNING.value


def test_anomalies_show_in_the_data(trajectories):
    shipments, events, facilities = trajectories
    overdue_fresh = [s for s in shipments.values() if s.goods_type == "fresh" and is_active(s.status)
                     and s.status not in (Status.AT_OUTLET.value, Status.OUT_FOR_DELIVERY.value)
                     and s.promised_delivery_at < NOW]
    assert overdue_fresh
    lost = [s for s in shipments.values() if s.status == Status.AT_OUTLET.value
            and NOW - events[s.id][-1].time > timedelta(hours=72)]
    urge = [s for s in shipments.values() if s.status == Status.AT_OUTLET.value
            and timedelta(hours=facilities[events[s.id][-1].facility_id].promised_dispatch_hours)
            < NOW - events[s.id][-1].time < timedelta(hours=72)]
    assert lost and urge
    couriers = [s for s in shipments.values() if s.status == Status.OUT_FOR_DELIVERY.value]
    assert couriers and all(s.courier_name and s.courier_phone for s in couriers)


def test_numbers_fit_their_carrier_and_at_least_six_carriers_are_used(trajectories, seeded):
    shipments, _, _ = trajectories
    _, report = seeded
    for shipment in shipments.values():
        assert tracking_numbers.candidates(shipment.tracking_number)[:1] == [shipment.carrier], \
            shipment.tracking_number
    carriers = {s.carrier for s in shipments.values()}
    assert len(carriers) >= 6
    assert set(report.per_carrier) == set(seed.CARRIERS)


def test_demo_customers_are_bound_on_rest_and_socketio(seeded):
    factory, report = seeded
    with factory() as session:
        for identity in seed.DEMO_IDENTITIES:
            query = select(Customer).where(Customer.phone == identity.phone)
            customer = session.execute(query).scalar_one_or_none()
            if identity.external_id is None:
                assert customer is None
                continue
            assert customer.name == identity.name
            bound = {(b.channel, b.external_id) for b in session.execute(
                select(ChannelBinding).where(ChannelBinding.customer_id == customer.id)).scalars()}
            assert bound == {("rest", identity.external_id), ("socketio", identity.external_id)}
    assert [d["phone"] for d in report.demo] == [i.phone for i in seed.DEMO_IDENTITIES]
    table = report.describe().split("Demo identities")[1]
    for identity in seed.DEMO_IDENTITIES:
        assert identity.phone in table and identity.tracking_numbers[0] in table
        assert (identity.external_id or "(unbound)") in table


def _parcels_of(session, phone: str) -> list[Shipment]:
    query = select(Shipment).where((Shipment.recipient_phone == phone) | (Shipment.sender_phone == phone))
    return list(session.execute(query).scalars())


def test_demo_zhang_has_one_active_parcel_held_by_the_weather_incident(seeded):
    factory, _ = seeded
    with factory() as session:
        active = [s for s in _parcels_of(session, "13800000001") if is_active(s.status)]
        assert [s.tracking_number for s in active] == [seed.DEMO_ZHANG_HELD]
        held = active[0]
        last = max(held.events, key=lambda e: (e.time, e.id))
        assert (held.status, held.carrier) == ("arrived_hub", "sf")
        assert (held.origin, held.destination) == ("上海", "杭州")
        assert last.facility.city == "杭州" and last.facility.kind == "hub"
        incidents = [i for i in last.facility.incidents if i.active and i.ended_at is None]
        assert [i.kind for i in incidents] == ["weather"]
        weather = incidents[0]
        assert weather.starts_at <= last.time
        assert weather.expected_clear_at > NOW and weather.expected_clear_at.hour == 12  # 20:00 China time
        assert timedelta(days=2) < NOW - last.time <= timedelta(days=3)


def test_other_demo_stories(seeded):
    factory, _ = seeded
    with factory() as session:
        by_number = {s.tracking_number: s for s in session.execute(
            select(Shipment).where(Shipment.tracking_number.in_(seed.DEMO_NUMBERS))).scalars()}
        assert set(by_number) == set(seed.DEMO_NUMBERS)
        li = sorted(s.tracking_number for s in _parcels_of(session, "13800000002") if is_active(s.status))
        assert li == sorted([seed.DEMO_LI_FRESH, seed.DEMO_LI_OUT_FOR_DELIVERY, seed.DEMO_LI_CUSTOMS,
                             seed.DEMO_LI_LOCKER])
        fresh = by_number[seed.DEMO_LI_FRESH]
        assert (fresh.carrier, fresh.goods_type, fresh.origin) == ("zto", "fresh", "上海")
        assert fresh.promised_delivery_at < NOW
        assert by_number[seed.DEMO_LI_OUT_FOR_DELIVERY].status == "out_for_delivery"
        assert by_number[seed.DEMO_LI_OUT_FOR_DELIVERY].courier_phone
        assert by_number[seed.DEMO_LI_CUSTOMS].status == "customs_processing"
        assert tracking_numbers.is_valid_s10(seed.DEMO_LI_CUSTOMS)
        assert by_number[seed.DEMO_LI_LOCKER].status == "in_locker"

        sent = by_number[seed.DEMO_WANG_SENT_PROXY_SIGNED]
        assert sent.sender_phone == "13800000003" and sent.status == "delivered"
        assert "门卫代签" in max(sent.events, key=lambda e: e.time).description
        waiting = by_number[seed.DEMO_WANG_AT_OUTLET]
        last = max(waiting.events, key=lambda e: e.time)
        assert waiting.status == "at_outlet" and NOW - last.time == timedelta(hours=30)
        assert last.facility.promised_dispatch_hours < 30

        lost = by_number[seed.DEMO_ZHAO_LOST]
        assert lost.status == "at_outlet"
        assert NOW - max(e.time for e in lost.events) == timedelta(days=4)
        damaged = by_number[seed.DEMO_ZHAO_DAMAGED]
        assert damaged.status == "exception" and float(damaged.insured_value) == 2000

        chen = by_number[seed.DEMO_CHEN_FRESH]
        assert chen.goods_type == "fresh" and chen.status == "in_transit"
        assert NOW - chen.promised_delivery_at >= timedelta(days=2, hours=23)

        station = by_number[seed.DEMO_UNBOUND_STATION]
        assert station.status == "at_station" and station.recipient_phone.endswith("5678")


def test_if_empty_skips_a_database_that_holds_shipments(seeded):
    factory, _ = seeded
    report = seed.seed(factory, shipments=SMALL, progress=False, now=NOW, if_empty=True)
    assert report.skipped
    assert report.existing_shipments == SMALL
    assert "skipped" in report.describe()


def test_reseeding_replaces_the_data(tmp_path):
    engine, factory, _ = _seed(tmp_path / "twice.db", shipments=60)
    try:
        report = seed.seed(factory, shipments=80, progress=False, now=NOW + timedelta(hours=1))
        with factory() as session:
            assert _count(session, Shipment) == 80
            assert _count(session, Customer) == 5
        assert report.shipments == 80
    finally:
        engine.dispose()


def test_default_size_seeds_quickly(tmp_path):
    engine, factory = _make_factory(tmp_path / "full.db")
    try:
        started = time.perf_counter()
        report = seed.seed(factory, progress=False)
        elapsed = time.perf_counter() - started
        print(f"\nseeded {report.shipments} shipments / {report.events} events in {elapsed:.2f} s")
        assert report.shipments == 2400
        assert report.events > 2400 * 6
        assert min(report.per_scenario[name] for name in seed.SCENARIOS) >= seed.MIN_PER_SCENARIO
        assert min(report.per_carrier.values()) >= 150
    finally:
        engine.dispose()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="set TEST_DATABASE_URL to a PostgreSQL database")
def test_default_size_seeds_postgresql_quickly(tmp_path_factory):
    with postgres_database() as engine:
        factory = db.session_factory(engine)
        started = time.perf_counter()
        report = seed.seed(factory, progress=False, now=NOW)
        print(f"\nPostgreSQL: seeded {report.shipments} shipments in {time.perf_counter() - started:.2f} s")
        with factory() as session:
            assert _count(session, Shipment) == report.shipments == 2400
            assert _count(session, TrackingEvent) == report.events
        # Reseeding must also work where foreign keys are enforced by the server.
        assert seed.seed(factory, shipments=50, progress=False, now=NOW).shipments == 50
