"""Demo history for the operations dashboard: 60 days of tagged conversations and tickets on the seeded network,
with a hotspot (「快递放在丰巢但没通知」 complaints jumping in one 杭州 小区 in the last 24 hours) and a route
concentration (fresh-goods delays piling up on 上海 → 北京 for three weeks), then one detector run, so the
dashboard shows both alerts on first run. Also the demo operations login `ops` (role ops)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from logistics import db
from logistics.analytics import service, synthetic
from logistics.analytics.models import AnalyticsEvent
from logistics.handoffs import service as handoff_service
from logistics.handoffs.models import ROLE_OPS
from logistics.timeutil import utcnow

DAYS = 60
PER_DAY = 300
SEED = 20261201


@dataclass
class DemoReport:
    events: int = 0
    opened: int = 0
    skipped: bool = False
    hotspot: str = ""
    route: str = ""

    def describe(self) -> str:
        if self.skipped:
            return "Operations dashboard: demo history already present (/agent/ops/, login ops)."
        return (f"Operations dashboard: {self.events} demo events over {DAYS} days, {self.opened} alerts "
                f"(hotspot {self.hotspot}, route {self.route}); /agent/ops/ as ops (AGENT_DEMO_PASSWORD).")


def anomalies(world: synthetic.World) -> list:
    hangzhou = [a for a in world.areas if a.city == "杭州市"] or world.areas
    hotspot = hangzhou[0]
    cities = sorted(world.hubs)
    origin = world.hubs.get("上海市") or world.hubs[cities[0]]
    dest = world.hubs.get("北京市") or world.hubs[cities[1]]
    return [synthetic.Anomaly("spike", "locker_no_notice", "area", hotspot.key, extra=14),
            synthetic.Anomaly("concentration", "fresh_delay", "route", f"{origin.code}>{dest.code}", per_day=3.5,
                              days=21)]


def seed_demo(factory: sessionmaker, *, password: str, now: datetime | None = None,
              if_empty: bool = True, days: int = DAYS, per_day: float = PER_DAY) -> DemoReport:
    now = now or utcnow()
    report = DemoReport()
    with db.transaction(factory) as session:
        if handoff_service.get_agent_by_username(session=session, username="ops") is None:
            handoff_service.create_agent(session=session, username="ops", password=password,
                                         display_name="运营小周", role=ROLE_OPS)
        present = session.execute(select(func.count()).select_from(AnalyticsEvent)
                                  .where(AnalyticsEvent.source == "demo")).scalar_one()
        if present and if_empty:
            report.skipped = True
            return report
        # Seeding again replaces the demo history (the network it names was just generated anew).
        session.execute(delete(AnalyticsEvent).where(AnalyticsEvent.source == "demo"))
        rng = random.Random(SEED)
        world = synthetic.World.from_database(session, rng)
        if world is None:
            report.skipped = True
            return report
        injected = anomalies(world)
        history = synthetic.history(SEED, now=now, days=days, per_day=per_day, anomalies=injected, world=world,
                                    prefix=f"demo-{now:%Y%m%d%H%M}", source="demo")
        report.events = synthetic.insert(session, history.rows)
        report.hotspot = injected[0].scope_key.replace("|", "")
        report.route = next((r["route_name"] for r in history.rows if r["route"] == injected[1].scope_key), "")
    with db.transaction(factory) as session:
        report.opened = len(service.run(session, now + timedelta(seconds=1)).opened)
    return report
