"""Synthetic histories of tagged events with known injected anomalies: for the detector tests, the precision and
recall evaluation (scripts/eval_analytics.py), the demo history (demo.py) and the 1M-event benchmark.

A world is cities with a hub each, outlets, 小区 served by one outlet each, and hub-to-hub routes. Quiet traffic is
Poisson per hour with a daily rhythm; each event picks a destination 小区 (so its outlet, city and hub), a route
into that city, a carrier, goods and a category from a fixed mix. Anomalies add events on top:
- spike: `extra` events of one category in one 小区 (or at one outlet) within the last 24 hours;
- concentration: `per_day` events of one category a day on one route (or at one outlet) for `days` days.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Optional

from logistics.tickets.complaints import COMPLAINT_CODES

CARRIERS = ("sf", "zto", "yto", "sto", "yunda", "jd", "jt", "ems")
GOODS = (("general", 64), ("document", 10), ("fragile", 12), ("fresh", 14))
CHANNELS = (("socketio", 55), ("wechat", 35), ("rest", 10))
# Share of all events: most conversations are tracking questions the bot answers.
PROBLEMS = (("urge", 8.0), ("lost", 1.2), ("signed_not_received", 2.0), ("damaged", 1.6), ("address_change", 2.5),
            ("handoff", 2.5), ("claim", 1.0))
COMPLAINT_SHARE = 0.6  # per complaint category, in percent
INQUIRY_SHARE = 100 - sum(w for _, w in PROBLEMS) - COMPLAINT_SHARE * len(COMPLAINT_CODES) - 1.0
# Fresh goods late: fresh_priority_claim tickets (1% of events, only fresh goods).
FRESH_DELAY_SHARE = 1.0

EXAMPLES = {
    "locker_no_notice": ("快递放在丰巢但没通知", "快递放在丰巢了但是没人通知我", "怎么不打招呼就放驿站了",
                         "东西被放进快递柜也没短信"),
    "no_door_delivery": ("快递员不送上门，让我自己下楼拿", "为什么不送货上门"),
    "fake_signature": ("我没签收却显示已签收", "快递员虚假签收"),
    "courier_attitude": ("快递员态度太差了还骂人", "快递小哥很不耐烦"),
    "rough_handling": ("快递被扔在地上摔坏了", "暴力分拣，箱子都变形了"),
    "delay": ("说好昨天到今天还没到", "派送太慢了"),
    "lost": ("我的快递丢了", "包裹找不到了"),
    "extra_fee": ("送上楼还要加钱", "派送收了我五块钱"),
    "no_call": ("送货前也不打个电话", "没联系我就走了"),
    "left_unattended": ("快递放门口被人拿走了", "放在门口不见了"),
    "pickup_code_missing": ("没收到取件码", "取件码短信一直没来"),
    "outlet_unreachable": ("网点电话一直打不通", "驿站电话没人接"),
    "wrong_delivery": ("快递送错地址了", "投到别人家去了"),
    "fake_attempt": ("根本没来却说联系不上我", "显示派送失败但家里一直有人"),
    "fresh_delay": ("生鲜快递延误了，螃蟹要坏了", "冷链的海鲜三天还没到"),
    "urge": ("快点给我派送", "怎么还不送"),
    "track_parcel": ("我的快递到哪了", "查一下物流"),
}


@dataclass(frozen=True)
class Area:
    city: str
    district: str
    community: str
    province: str
    outlet_code: str
    outlet_name: str

    @property
    def key(self) -> str:
        return f"{self.city}|{self.district}|{self.community}"


@dataclass(frozen=True)
class Hub:
    city: str
    code: str
    name: str


@dataclass
class World:
    areas: list
    hubs: dict  # city -> Hub

    @classmethod
    def synthetic(cls, rng: random.Random, cities: int = 8, outlets_per_city: int = 3,
                  areas_per_outlet: int = 4) -> World:
        names = ("杭州", "上海", "北京", "广州", "深圳", "成都", "武汉", "南京", "西安", "重庆", "苏州", "长沙")
        provinces = ("浙江省", "上海市", "北京市", "广东省", "广东省", "四川省", "湖北省", "江苏省", "陕西省", "重庆市",
                     "江苏省", "湖南省")
        communities = ("翠苑小区", "阳光花园", "锦绣家园", "幸福里", "金色家园", "碧桂园", "万科城", "桂花园",
                       "世纪花园", "香樟苑", "紫金苑", "和平新村", "滨江花园", "春江郦城", "御园", "名都")
        areas, hubs = [], {}
        for i in range(min(cities, len(names))):
            city = names[i] + "市"
            hubs[city] = Hub(city, f"HUB-C{i:02d}-01", f"{names[i]}转运中心")
            for o in range(outlets_per_city):
                district = f"第{o + 1}区"
                code, name = f"OUT-C{i:02d}-{o:02d}", f"{names[i]}{district}营业部"
                for a in range(areas_per_outlet):
                    community = communities[(o * areas_per_outlet + a) % len(communities)]
                    areas.append(Area(city, district, community, provinces[i], code, name))
        return cls(areas, hubs)

    @classmethod
    def from_database(cls, session, rng: random.Random, areas_per_outlet: int = 4) -> Optional[World]:
        """The seeded network's hubs and outlets (real names on the dashboard), with 小区 around each outlet."""
        from sqlalchemy import select

        from logistics.analytics.address import parse
        from logistics.network.models import Facility

        facilities = session.execute(select(Facility).where(Facility.kind.in_(("hub", "outlet")))).scalars().all()
        hubs, outlets = {}, []
        for f in facilities:
            place = parse(f.address)
            city = place.city or f.city + "市"
            if f.kind == "hub":
                hubs.setdefault(city, Hub(city, f.code, f.name))
            else:
                outlets.append((f, place, city))
        if not hubs or not outlets:
            return None
        communities = ("翠苑小区", "阳光花园", "锦绣家园", "幸福里", "金色家园", "碧桂园", "万科城", "桂花园",
                       "世纪花园", "香樟苑", "紫金苑", "和平新村", "滨江花园", "春江郦城", "御园", "名都",
                       "格林小镇", "雍景湾", "新城花园", "丽水嘉园", "望江苑", "枫林绿洲", "长岛花园", "天鹅湾")
        areas = []
        for f, place, city in outlets:
            if city not in hubs:
                continue
            for community in rng.sample(communities, areas_per_outlet):
                areas.append(Area(city, place.district or "", community, place.province or "", f.code, f.name))
        return cls(areas, hubs)


@dataclass(frozen=True)
class Anomaly:
    kind: str  # spike, concentration
    category: str
    scope_type: str  # area, outlet, route
    scope_key: str
    extra: int = 0  # spike: events in the last 24 hours
    per_day: float = 0.0  # concentration: events a day
    days: int = 0

    @property
    def truth(self) -> tuple:
        return (self.kind, self.category, self.scope_type, self.scope_key)


@dataclass
class History:
    world: World
    now: datetime
    days: int
    rows: list = field(default_factory=list)
    anomalies: list = field(default_factory=list)


def _weighted(rng: random.Random, pairs) -> str:
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, weight in pairs:
        x -= weight
        if x <= 0:
            return value
    return pairs[-1][0]


CATEGORY_MIX = (("track_parcel", INQUIRY_SHARE), ("fresh_delay", FRESH_DELAY_SHARE), *PROBLEMS,
                *((c, COMPLAINT_SHARE) for c in COMPLAINT_CODES))
# Hour-of-day weights (China time): conversations follow the day.
HOURS = [1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 6, 6, 7, 7, 6, 6, 6, 6, 5, 4, 3, 2]


class Generator:
    def __init__(self, world: World, rng: random.Random, now: datetime, *, prefix: str = "synthetic",
                 source: str = "synthetic"):
        self.world, self.rng, self.now, self.prefix, self.source = world, rng, now, prefix, source
        self.cities = sorted(world.hubs)
        self.serial = 0

    def route_into(self, city: str) -> tuple[Hub, Hub]:
        origin = self.world.hubs[self.rng.choice(self.cities)]
        return origin, self.world.hubs[city]

    def row(self, at: datetime, category: str, *, area: Optional[Area] = None,
            route: Optional[tuple[Hub, Hub]] = None, goods: Optional[str] = None) -> dict:
        rng = self.rng
        area = area or rng.choice(self.world.areas)
        origin, dest = route or self.route_into(area.city)
        if category == "fresh_delay":
            goods = "fresh"
        goods = goods or _weighted(rng, GOODS)
        self.serial += 1
        kind = "inquiry" if category == "track_parcel" else (
            "complaint" if category in COMPLAINT_CODES else "problem")
        conversation = f"{self.prefix}-{self.serial}"
        outcome = {"inquiry": "bot_resolved", "problem": "ticket_opened", "complaint": "ticket_opened"}[kind]
        if category == "handoff":
            outcome = "handed_off"
        return {
            "source_key": f"{self.prefix}:{self.serial}", "source": self.source, "occurred_at": at, "kind": kind,
            "category": category, "intent": None, "ticket_type": None, "ticket_id": None,
            "conversation_id": conversation, "tracking_number": None, "carrier": rng.choice(CARRIERS),
            "province": area.province, "city": area.city, "district": area.district, "community": area.community,
            "outlet_code": area.outlet_code, "outlet_name": area.outlet_name, "hub_code": dest.code,
            "hub_name": dest.name, "route": f"{origin.code}>{dest.code}", "route_name": f"{origin.name}→{dest.name}",
            "goods_type": goods, "channel": _weighted(rng, CHANNELS), "outcome": outcome,
            "rating": rng.choice((3, 4, 5, 5, 2)) if outcome == "handed_off" else None,
            "example": rng.choice(EXAMPLES.get(category, ("（无文字）",))), "created_at": at,
        }

    def quiet(self, days: int, per_day: float) -> Iterator[dict]:
        """Background traffic for `days` days before now."""
        rng = self.rng
        start = self.now - timedelta(days=days)
        weight = sum(HOURS)
        for hour_index in range(days * 24):
            at = start + timedelta(hours=hour_index)
            cst_hour = (at.hour + 8) % 24
            lam = per_day * HOURS[cst_hour] / weight
            for _ in range(_poisson(rng, lam)):
                when = at + timedelta(seconds=rng.uniform(0, 3600))
                if when >= self.now:
                    continue
                yield self.row(when, _weighted(rng, CATEGORY_MIX))

    def inject(self, anomaly: Anomaly) -> Iterator[dict]:
        rng, world = self.rng, self.world
        if anomaly.kind == "spike":
            times = [self.now - timedelta(seconds=rng.uniform(60, 23.5 * 3600)) for _ in range(anomaly.extra)]
        else:
            n = _poisson(rng, anomaly.per_day * anomaly.days)
            times = [self.now - timedelta(seconds=rng.uniform(60, anomaly.days * 86400)) for _ in range(n)]
        for at in times:
            area = route = None
            if anomaly.scope_type == "area":
                area = next(a for a in world.areas if a.key == anomaly.scope_key)
            elif anomaly.scope_type == "outlet":
                area = rng.choice([a for a in world.areas if a.outlet_code == anomaly.scope_key])
            elif anomaly.scope_type == "route":
                origin_code, dest_code = anomaly.scope_key.split(">")
                origin = next(h for h in world.hubs.values() if h.code == origin_code)
                dest = next(h for h in world.hubs.values() if h.code == dest_code)
                area = rng.choice([a for a in world.areas if a.city == dest.city])
                route = (origin, dest)
            yield self.row(at, anomaly.category, area=area, route=route)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, int(round(rng.gauss(lam, lam ** 0.5))))
    import math

    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def random_anomalies(world: World, rng: random.Random, *, spikes: int = 1, concentrations: int = 1) -> list:
    """Anomalies of the kinds operations care about, in random places and strengths."""
    out = []
    used = set()
    for _ in range(spikes):
        category = rng.choice(("locker_no_notice", "no_door_delivery", "fake_signature", "left_unattended",
                               "pickup_code_missing", "courier_attitude", "extra_fee"))
        if rng.random() < 0.7:
            area = rng.choice([a for a in world.areas if a.key not in used])
            used.add(area.key)
            out.append(Anomaly("spike", category, "area", area.key, extra=rng.randint(7, 14)))
        else:
            outlet = rng.choice(sorted({a.outlet_code for a in world.areas} - used))
            used.add(outlet)
            out.append(Anomaly("spike", category, "outlet", outlet, extra=rng.randint(9, 16)))
    for _ in range(concentrations):
        category = rng.choice(("fresh_delay", "fresh_delay", "urge", "lost"))
        if category == "urge" or rng.random() < 0.2:
            outlet = rng.choice(sorted({a.outlet_code for a in world.areas} - used))
            used.add(outlet)
            out.append(Anomaly("concentration", category, "outlet", outlet, per_day=rng.uniform(4, 7), days=21))
        else:
            cities = sorted(world.hubs)
            origin, dest = rng.sample(cities, 2)
            key = f"{world.hubs[origin].code}>{world.hubs[dest].code}"
            out.append(Anomaly("concentration", category, "route", key, per_day=rng.uniform(2.5, 4.5), days=21))
    return out


def history(seed: int, *, now: datetime, days: int = 60, per_day: float = 600, anomalies: Optional[list] = None,
            world: Optional[World] = None, prefix: str = "synthetic", source: str = "synthetic") -> History:
    """A quiet history of `days` days with the given anomalies on top (None: no anomaly)."""
    rng = random.Random(seed)
    world = world or World.synthetic(rng)
    generator = Generator(world, rng, now, prefix=prefix, source=source)
    result = History(world, now, days, anomalies=list(anomalies or []))
    result.rows.extend(generator.quiet(days, per_day))
    for anomaly in result.anomalies:
        result.rows.extend(generator.inject(anomaly))
    return result


def insert(session, rows: list, batch: int = 5000) -> int:
    """Bulk insert event rows (any database)."""
    from sqlalchemy import insert as sql_insert

    from logistics.analytics.models import AnalyticsEvent

    for i in range(0, len(rows), batch):
        session.execute(sql_insert(AnalyticsEvent.__table__), rows[i:i + batch])
    return len(rows)
