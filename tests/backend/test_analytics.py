"""Operations analytics: the detectors on synthetic histories (an injected spike in one 小区 and a concentration
on one route are found, and nothing else; a quiet history of 60+ days raises nothing), the alert lifecycle over the
API (once per alert, an ops_alert ticket, resolved when the signal goes away), tickets tagged for analysis, reports,
and the dashboard's access rules. SQLite always, PostgreSQL with TEST_DATABASE_URL."""
from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import delete, select

from logistics import db
from logistics.analytics import detect, service, synthetic
from logistics.analytics.address import parse
from logistics.analytics.models import AnalyticsEvent
from logistics.handoffs import service as handoff_service
from logistics.timeutil import utcnow
from tests.conftest import _backends, _database, serve
from tests.support import Api, unique_number, unique_phone

NOW = datetime(2026, 12, 1, 4, 0)


@pytest.fixture(scope="module", params=_backends())
def analytics_engine(request, tmp_path_factory):
    """A database of this module's own: histories are replaced test by test."""
    with _database(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture(scope="module")
def url(analytics_engine):
    yield from serve(analytics_engine)


def _load(engine, rows) -> None:
    with db.transaction(db.session_factory(engine)) as s:
        s.execute(delete(AnalyticsEvent))
        synthetic.insert(s, rows)


def _found(engine, now) -> set:
    with db.transaction(db.session_factory(engine)) as s:
        return {(x.kind, x.category, x.scope_type, x.scope_key) for x in service.detect_signals(s, now)}


def test_the_injected_spike_and_route_concentration_are_found_and_nothing_else(analytics_engine):
    world = synthetic.World.synthetic(random.Random(7))
    area = world.areas[5]
    route = f"{world.hubs['上海市'].code}>{world.hubs['北京市'].code}"
    injected = [synthetic.Anomaly("spike", "locker_no_notice", "area", area.key, extra=10),
                synthetic.Anomaly("concentration", "fresh_delay", "route", route, per_day=3.0, days=21)]
    history = synthetic.history(7, now=NOW, days=60, anomalies=injected, world=world, prefix="t-found")
    _load(analytics_engine, history.rows)
    assert _found(analytics_engine, NOW) == {a.truth for a in injected}


def test_a_quiet_history_of_60_days_raises_nothing(analytics_engine):
    history = synthetic.history(11, now=NOW, days=75, prefix="t-quiet")
    _load(analytics_engine, history.rows)
    # Every day of the last 60 that has 14 days of history before it, at two times of day.
    for day in range(60):
        for hour in (4, 14):
            now = NOW - timedelta(days=day) + timedelta(hours=hour - 4)
            assert _found(analytics_engine, now) == set(), now


def test_statistics_match_their_definitions():
    assert detect.poisson_sf(5, 0.07) == pytest.approx(1.3212843867678e-08, rel=1e-9)
    assert detect.poisson_sf(3, 5) == pytest.approx(0.8753479805169189, rel=1e-9)
    assert detect.binomial_sf(20, 40, 0.02) == pytest.approx(9.840692345391e-24, rel=1e-9)
    assert detect.poisson_logsf(400, 0.05) < -2000  # far below what a float holds, still ordered


def test_addresses_give_province_city_district_and_area():
    place = parse("浙江省杭州市西湖区文三路123号翠苑小区5栋2单元1203室")
    assert (place.province, place.city, place.district, place.community) == ("浙江省", "杭州市", "西湖区", "翠苑小区")
    assert parse("北京市朝阳区建国路88号国际社区12栋1单元502室").area == "北京市朝阳区国际社区"
    assert parse("浙江省金华市义乌市稠城街道工人北路12号幸福里3栋1单元201室").city == "金华市"
    assert parse("杭州市西湖区文三路100号").community is None
    assert parse(None) == parse("")


def _history_now(prefix: str, anomalies=None, seed: int = 3) -> synthetic.History:
    world = synthetic.World.synthetic(random.Random(seed))
    return synthetic.history(seed, now=utcnow(), days=30, anomalies=anomalies or [], world=world, prefix=prefix)


def test_alerts_open_once_with_an_ops_alert_ticket_and_resolve_when_the_signal_goes(url, analytics_engine):
    api = Api(url)
    world = synthetic.World.synthetic(random.Random(3))
    area = world.areas[2]
    spike = synthetic.Anomaly("spike", "locker_no_notice", "area", area.key, extra=12)
    history = _history_now("t-life", [spike])
    _load(analytics_engine, history.rows)
    first = api.post("/api/v1/analytics/run", json={})
    assert first.status_code == 200, first.text
    opened = first.json()["opened"]
    assert [(a["kind"], a["category"], a["scope"]["type"]) for a in opened] == [("spike", "locker_no_notice", "area")]
    alert = opened[0]
    assert alert["scope"]["name"] == area.city + area.district + area.community
    assert alert["count"] >= 12 and alert["baseline"] < 1 and alert["status"] == "open"
    assert "提醒网点完善派件通知" in alert["suggested_action"] and "快递柜短信提醒" in alert["suggested_action"]
    evidence = alert["evidence"]
    assert evidence["examples"] and evidence["examples"][0]["text"]
    assert evidence["top_outlets"][0]["key"] == area.outlet_code
    assert evidence["owner"] == {"type": "outlet", "code": area.outlet_code, "name": area.outlet_name}
    assert len(evidence["by_day"]) == 15 and evidence["by_day"][-1]["count"] >= 12
    # Once per alert, not every run.
    again = api.post("/api/v1/analytics/run", json={}).json()
    assert again["opened"] == [] and [a["id"] for a in again["updated"]] == [alert["id"]]
    tickets = api.get("/api/v1/tickets", params={"type": "ops_alert"}).json()["tickets"]
    assert [t["id"] for t in tickets if t["id"] == alert["ticket_id"]] == [alert["ticket_id"]]
    ticket = api.get(f"/api/v1/tickets/{alert['ticket_id']}").json()
    assert ticket["details"]["alert_id"] == alert["id"] and ticket["details"]["owner"]["code"] == area.outlet_code
    assert ticket["status"] == "open" and ticket["type_label"] == "运营预警"
    listed = api.get("/api/v1/analytics/alerts", params={"status": "open", "category": "locker_no_notice"}).json()
    assert [a["id"] for a in listed["alerts"]] == [alert["id"]]
    # The signal goes away: the alert and its ticket are resolved.
    _load(analytics_engine, [r for r in history.rows if r["category"] != "locker_no_notice"])
    gone = api.post("/api/v1/analytics/run", json={}).json()
    assert [a["id"] for a in gone["resolved"]] == [alert["id"]] and gone["open"] == []
    assert api.get(f"/api/v1/tickets/{alert['ticket_id']}").json()["status"] == "resolved"
    assert api.get("/api/v1/analytics/alerts", params={"status": "open"}).json()["alerts"] == []
    resolved = api.get("/api/v1/analytics/alerts", params={"status": "resolved", "since": "1d"}).json()["alerts"]
    assert alert["id"] in [a["id"] for a in resolved]


def test_alert_queries_and_reports_refuse_bad_input(url):
    api = Api(url)
    for params in ({"since": "yesterday"}, {"since": "99999d"}, {"status": "maybe"}, {"category": "DROP TABLE"}):
        response = api.get("/api/v1/analytics/alerts", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"] == "bad_request"
    assert api.get("/api/v1/analytics/report", params={"by": "phase_of_moon"}).status_code == 400
    assert api.get("/api/v1/analytics/report", params={"since": "1d", "until": "2d"}).status_code == 400
    assert Api(url, token=None).post("/api/v1/analytics/run", json={}).status_code == 401


def test_reports_count_by_category_and_scope_with_rates(url, analytics_engine):
    history = _history_now("t-report", seed=5)
    _load(analytics_engine, history.rows)
    api = Api(url)
    by_area = api.get("/api/v1/analytics/report", params={"since": "7d", "by": "area", "category": "urge"}).json()
    assert by_area["rows"] and all(r["category"] == "urge" for r in by_area["rows"])
    row = by_area["rows"][0]
    assert 0 < row["rate"] <= 1 and row["count"] <= row["scope_total"] and "|" not in row["name"]
    recent = [r for r in history.rows if r["occurred_at"] >= utcnow() - timedelta(days=7)]
    by_carrier = api.get("/api/v1/analytics/report", params={"since": "7d", "by": "carrier"}).json()
    assert sum(r["count"] for r in by_carrier["rows"]) <= len(recent)
    assert by_carrier["total"] == pytest.approx(len(recent), abs=5)  # rows landing on the second of `now`
    routes = api.get("/api/v1/analytics/report", params={"by": "route", "carrier": "sf"}).json()["rows"]
    assert routes and "→" in routes[0]["name"]
    trend = api.get("/api/v1/analytics/trend", params={"since": "14d"}).json()
    assert len(trend["days"]) in (14, 15) and trend["series"][0]["category"] == "track_parcel"
    assert all(len(s["counts"]) == len(trend["days"]) for s in trend["series"])


def test_a_complaint_ticket_is_tagged_for_analysis(url, analytics_engine):
    api = Api(url)
    number, phone, conversation = unique_number(), unique_phone(), f"tag-{uuid.uuid4().hex[:8]}"
    assert api.post("/api/v1/customers", json={"phone": phone, "bindings": [
        {"channel": "wechat", "external_id": conversation}]}).status_code == 201
    assert api.post("/api/v1/shipments", json={
        "tracking_number": number, "carrier": "zto", "goods_type": "fresh", "origin": "上海", "destination": "杭州",
        "sender": {"name": "王强", "phone": unique_phone(), "address": "上海市浦东新区张江路88号"},
        "recipient": {"name": "张伟", "phone": phone,
                      "address": "浙江省杭州市西湖区文三路123号翠苑小区5栋2单元1203室"}}).status_code == 201
    with db.transaction(db.session_factory(analytics_engine)) as s:
        from logistics.network.models import Facility

        for code, kind, name, city in (("HUB-T-SH", "hub", "上海转运中心", "上海"),
                                       ("HUB-T-HZ", "hub", "杭州转运中心", "杭州"),
                                       ("LCK-T-HZ", "locker", "丰巢智能柜(翠苑小区3号门)", "杭州")):
            if s.execute(select(Facility).where(Facility.code == code)).scalar_one_or_none() is None:
                s.add(Facility(code=code, kind=kind, name=name, city=city))
    for time, status, code in (("2026-11-22T10:00:00+08:00", "arrived_hub", "HUB-T-SH"),
                               ("2026-11-23T10:00:00+08:00", "arrived_hub", "HUB-T-HZ"),
                               ("2026-11-24T10:00:00+08:00", "in_locker", "LCK-T-HZ")):
        assert api.post(f"/api/v1/shipments/{number}/events", json={
            "time": time, "status": status, "location": code, "facility_code": code}).status_code == 201
    ticket = api.post("/api/v1/tickets", json={
        "type": "complaint", "tracking_number": number, "conversation_id": conversation,
        "idempotency_key": f"tag:{number}",
        "details": {"category": "locker_no_notice",
                    "user_said": "快递放在丰巢了但是没人通知我，电话13800000001"}}).json()
    with db.transaction(db.session_factory(analytics_engine)) as s:
        row = s.execute(select(AnalyticsEvent).where(AnalyticsEvent.ticket_id == ticket["id"])).scalar_one()
        assert (row.kind, row.category, row.carrier, row.goods_type, row.channel) == (
            "complaint", "locker_no_notice", "zto", "fresh", "wechat")
        assert (row.province, row.city, row.district, row.community) == ("浙江省", "杭州市", "西湖区", "翠苑小区")
        assert (row.outlet_code, row.hub_code, row.route) == ("LCK-T-HZ", "HUB-T-HZ", "HUB-T-SH>HUB-T-HZ")
        assert row.route_name == "上海转运中心→杭州转运中心" and row.outcome == "ticket_opened"
        assert "13800000001" not in row.example and row.example.startswith("快递放在丰巢")
    # Alert tickets are not counted as customers' problems.
    with db.transaction(db.session_factory(analytics_engine)) as s:
        assert s.execute(select(AnalyticsEvent).where(AnalyticsEvent.ticket_type == "ops_alert")).first() is None


def _console(url: str, engine, role: str) -> requests.Session:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    with db.transaction(db.session_factory(engine)) as s:
        handoff_service.create_agent(session=s, username=username, password="ops-test-2026", role=role)
    http = requests.Session()
    page = http.get(f"{url}/agent/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert http.post(f"{url}/agent/login", data={"csrf_token": token, "username": username,
                                                 "password": "ops-test-2026"}, timeout=10).status_code == 200
    return http


def test_the_dashboard_needs_the_console_login_and_an_ops_or_supervisor_role(url, analytics_engine):
    anonymous = requests.get(f"{url}/agent/ops/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/agent/login" in anonymous.headers["Location"]
    assert requests.get(f"{url}/agent/ops/api/overview", timeout=10).status_code == 401
    agent = _console(url, analytics_engine, "agent")
    assert agent.get(f"{url}/agent/ops/", timeout=10).status_code == 403
    assert agent.get(f"{url}/agent/ops/api/overview", timeout=10).status_code == 403
    for role in ("ops", "supervisor"):
        http = _console(url, analytics_engine, role)
        page = http.get(f"{url}/agent/ops/", timeout=10)
        assert page.status_code == 200 and "运营看板" in page.text and "/web/static/vendor/chart.umd.js" in page.text
        data = http.get(f"{url}/agent/ops/api/overview", params={"since": "7d", "by": "route"}, timeout=10).json()
        assert set(data) == {"trend", "breakdown", "categories", "alerts", "facets"}
        assert http.post(f"{url}/agent/ops/api/run", timeout=10).status_code == 403  # no CSRF token
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        assert http.post(f"{url}/agent/ops/api/run", headers={"X-CSRF-Token": csrf}, timeout=10).status_code == 200
