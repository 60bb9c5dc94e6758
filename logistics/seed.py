"""Demo data: a nationwide facility network, incidents, demo customers and shipments with trajectories."""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable, Optional

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from logistics.customers.models import ChannelBinding, Customer
from logistics.network.models import Facility, Incident
from logistics.phones import mask_phone
from logistics.shipments.carriers import carrier_name
from logistics.shipments.models import Shipment, TrackingEvent
from logistics.shipments.statuses import Status, is_active
from logistics.shipments.tracking_numbers import s10_check_digit
from logistics.timeutil import CST, utcnow

CARRIERS = ("sf", "zto", "yto", "sto", "yunda", "jd", "jt", "ems")
DEMO_CHANNELS = ("rest", "socketio")
BATCH_SIZE = 500

# Fixed tracking numbers of the demo stories; README and tests cite them, random numbers never reuse them.
DEMO_ZHANG_HELD = "SF1402837465912"
DEMO_ZHANG_DELIVERED_JD = "JD0023615478902"
DEMO_ZHANG_DELIVERED_YTO = "YT7519283746501"
DEMO_LI_FRESH = "758102937465"
DEMO_LI_OUT_FOR_DELIVERY = "YT8802147536912"
DEMO_LI_CUSTOMS = "EA528301463AU"
DEMO_LI_LOCKER = "JD0067234519806"
DEMO_WANG_SENT_PROXY_SIGNED = "7730158246901"
DEMO_WANG_AT_OUTLET = "4319287364510"
DEMO_ZHAO_LOST = "JT3102948576123"
DEMO_ZHAO_DAMAGED = "1150392847561"
DEMO_CHEN_FRESH = "SF1417293846052"
DEMO_UNBOUND_STATION = "731234567890"
DEMO_UNBOUND_PHONE = "13912345678"


@dataclass(frozen=True)
class DemoIdentity:
    external_id: Optional[str]
    phone: str
    name: str
    tracking_numbers: tuple[str, ...]
    scenario: str
    story: str

    def as_dict(self) -> dict:
        channels = DEMO_CHANNELS if self.external_id else ()
        bindings = [{"channel": c, "external_id": self.external_id} for c in channels]
        return {
            "phone": self.phone,
            "name": self.name,
            "bindings": bindings,
            "tracking_numbers": list(self.tracking_numbers),
            "scenario": self.scenario,
            "story": self.story,
        }


DEMO_IDENTITIES: tuple[DemoIdentity, ...] = (
    DemoIdentity(
        "demo-zhang", "13800000001", "张伟",
        (DEMO_ZHANG_HELD, DEMO_ZHANG_DELIVERED_JD, DEMO_ZHANG_DELIVERED_YTO),
        "weather_backlog",
        "one active SF parcel 上海→杭州 held at 杭州萧山中转场 since the typhoon backlog began 3 days ago "
        "(active weather incident); two older parcels delivered",
    ),
    DemoIdentity(
        "demo-li", "13800000002", "李娜",
        (DEMO_LI_FRESH, DEMO_LI_OUT_FOR_DELIVERY, DEMO_LI_CUSTOMS, DEMO_LI_LOCKER),
        "several active",
        "four active parcels to 北京: ZTO crabs from 上海 past their promised time, YTO parcel from 广州 "
        "out for delivery today, EMS milk powder from Australia in customs processing, JD parcel in a 丰巢 "
        "locker",
    ),
    DemoIdentity(
        "demo-wang", "13800000003", "王强",
        (DEMO_WANG_SENT_PROXY_SIGNED, DEMO_WANG_AT_OUTLET),
        "signed_not_received + urge",
        "merchant in 义乌: sender of an STO parcel to 成都 signed by 门卫代签 that the buyer never got; "
        "recipient of a Yunda parcel waiting 30 h at an outlet (urge)",
    ),
    DemoIdentity(
        "demo-zhao", "13800000004", "赵敏",
        (DEMO_ZHAO_LOST, DEMO_ZHAO_DAMAGED),
        "lost_at_outlet + damaged",
        "J&T parcel whose last scan is at a 南京 outlet 4 days ago (lost); EMS ceramic vase damaged at the "
        "南京 hub, insured for 2000 yuan",
    ),
    DemoIdentity(
        "demo-chen", "13800000005", "陈静",
        (DEMO_CHEN_FRESH,),
        "fresh_delayed",
        "SF seafood 大连→成都 promised 3 days ago and still in transit (fresh-goods claim)",
    ),
    DemoIdentity(
        None, DEMO_UNBOUND_PHONE, "孙丽",
        (DEMO_UNBOUND_STATION,),
        "at_station (phone tail)",
        "no customer record: ZTO parcel waiting at a 上海 pickup station; prove the link with phone tail "
        "5678",
    ),
)

DEMO_NUMBERS = frozenset(n for identity in DEMO_IDENTITIES for n in identity.tracking_numbers)
_RESERVED_PHONES = frozenset(identity.phone for identity in DEMO_IDENTITIES)

# Scenario share of the random shipments; "delivered" takes whatever is left.
SCENARIO_SHARES: dict[str, float] = {
    "in_transit": 0.16,
    "awaiting_pickup": 0.02,
    "out_for_delivery": 0.06,
    "in_locker": 0.04,
    "at_station": 0.04,
    "urge": 0.025,
    "lost_at_outlet": 0.012,
    "weather_backlog": 0.012,
    "damaged": 0.012,
    "signed_not_received": 0.02,
    "fresh_delayed": 0.012,
    "customs_pending": 0.008,
    "customs_processing": 0.008,
    "customs_cleared": 0.008,
    "customs_exception": 0.008,
    "returned": 0.012,
    "refused": 0.012,
    "delivery_failed": 0.015,
}
SCENARIOS: tuple[str, ...] = ("delivered", *SCENARIO_SHARES)
MIN_PER_SCENARIO = 15


@dataclass
class SeedReport:
    skipped: bool = False
    existing_shipments: int = 0
    customers: int = 0
    facilities: int = 0
    incidents: int = 0
    active_incidents: int = 0
    shipments: int = 0
    active_shipments: int = 0
    events: int = 0
    per_carrier: dict[str, int] = field(default_factory=dict)
    per_scenario: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    demo: list[dict] = field(default_factory=list)

    def describe(self) -> str:
        """A few console lines, ending with the demo identities table."""
        if self.skipped:
            lines = [f"Seed skipped: the database already holds {self.existing_shipments} shipments."]
        else:
            lines = [
                f"Seeded {self.shipments} shipments ({self.active_shipments} active) with {self.events} "
                f"tracking events in {self.seconds:.1f} s.",
                f"Network: {self.facilities} facilities, {self.incidents} incidents "
                f"({self.active_incidents} active); {self.customers} demo customers.",
                "Carriers: " + ", ".join(f"{c} {n}" for c, n in self.per_carrier.items()),
                "Scenarios: " + ", ".join(f"{s} {n}" for s, n in self.per_scenario.items()),
            ]
        lines.append("Demo identities (external id bound on channels rest and socketio):")
        for entry in self.demo:
            external = entry["bindings"][0]["external_id"] if entry["bindings"] else "(unbound)"
            numbers = " ".join(entry["tracking_numbers"])
            lines.append(f"  {entry['phone']}  {entry['name']}  {external:<10}  {numbers}")
            lines.append(f"      {entry['scenario']}: {entry['story']}")
        return "\n".join(lines)


def is_empty(session: Session) -> bool:
    """True when the database holds no shipment at all."""
    return session.execute(select(Shipment.id).limit(1)).first() is None


def seed(
    session_factory: sessionmaker,
    *,
    shipments: int = 2400,
    random_seed: int = 20261125,
    if_empty: bool = False,
    progress: bool = True,
    now: datetime | None = None,
) -> SeedReport:
    """Replace the network and shipments with generated demo data (demo customers are upserted).

    Deterministic for a given random_seed and now; every time is relative to now and stored as naive UTC.
    """
    started = time.perf_counter()
    now = _as_naive_utc(now or utcnow()).replace(microsecond=0)
    session: Session = session_factory()
    try:
        with session.begin():
            if if_empty and not is_empty(session):
                existing = session.execute(select(func.count()).select_from(Shipment)).scalar_one()
                report = SeedReport(skipped=True, existing_shipments=existing,
                                    demo=[i.as_dict() for i in DEMO_IDENTITIES])
            else:
                report = _Seeder(session, random.Random(random_seed), now, max(0, shipments), progress).run()
    finally:
        session.close()
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _as_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


# --- static data: cities, goods, names ---

# name|code|address prefix|area code|lat|lon|weight|district:road,road;district:road...
_CITY_DATA = """
北京|BJ|北京市|010|39.90|116.41|10|朝阳区:建国路,望京街,酒仙桥路;海淀区:中关村大街,知春路,学院路;东城区:东直门内大街;西城区:西单北大街;丰台区:丰台北路;通州区:新华大街
上海|SH|上海市|021|31.23|121.47|10|浦东新区:张江路,世纪大道,碧波路;徐汇区:漕溪北路,虹桥路;静安区:南京西路;闵行区:沪闵路;杨浦区:国定路;长宁区:天山路
广州|GZ|广东省广州市|020|23.13|113.26|9|天河区:天河路,体育西路,华夏路;越秀区:环市东路,北京路;海珠区:江南大道中;白云区:白云大道北;番禺区:大北路
深圳|SZ|广东省深圳市|0755|22.54|114.06|9|南山区:科苑路,深南大道,南海大道;福田区:华强北路,福华路;宝安区:宝安大道;龙岗区:龙岗大道;龙华区:民治大道
杭州|HZ|浙江省杭州市|0571|30.27|120.16|8|西湖区:文三路,学院路,古墩路;拱墅区:莫干山路,湖墅南路;滨江区:江南大道;上城区:解放路;余杭区:文一西路;萧山区:市心路
成都|CD|四川省成都市|028|30.57|104.07|7|武侯区:科华北路,人民南路;锦江区:春熙路,东大街;高新区:天府大道;青羊区:长顺街;金牛区:营门口路;成华区:建设路
武汉|WH|湖北省武汉市|027|30.59|114.31|6|洪山区:珞喻路,光谷大道;江汉区:解放大道,建设大道;武昌区:中南路,中北路;江岸区:沿江大道
西安|XA|陕西省西安市|029|34.34|108.94|5|雁塔区:小寨东路,科技路,电子正街;碑林区:长安北路;未央区:凤城八路;莲湖区:劳动南路
南京|NJ|江苏省南京市|025|32.06|118.80|6|鼓楼区:中山北路,汉中路;玄武区:珠江路;秦淮区:中华路;建邺区:江东中路;江宁区:双龙大道
重庆|CQ|重庆市|023|29.56|106.55|6|渝中区:民族路,中山三路;江北区:建新北路;渝北区:金开大道;沙坪坝区:小龙坎正街;南岸区:南坪西路
天津|TJ|天津市|022|39.34|117.36|5|和平区:南京路;河西区:友谊路;南开区:鞍山西道,卫津路;滨海新区:第二大街
苏州|SUZ|江苏省苏州市|0512|31.30|120.59|6|姑苏区:观前街,人民路;工业园区:星湖街,金鸡湖大道;吴中区:东吴北路;相城区:相城大道
郑州|ZZ|河南省郑州市|0371|34.75|113.63|5|金水区:花园路,农业路;二七区:大学路;中原区:建设西路;郑东新区:商务外环路
长沙|CS|湖南省长沙市|0731|28.23|112.94|5|岳麓区:麓山南路,枫林一路;芙蓉区:五一大道;天心区:芙蓉中路;雨花区:韶山中路;开福区:湘江中路
东莞|DG|广东省东莞市|0769|23.02|113.75|5|南城街道:鸿福路;东城街道:东纵大道;长安镇:长安中路;虎门镇:虎门大道;松山湖:工业北路
沈阳|SY|辽宁省沈阳市|024|41.81|123.43|4|和平区:中华路;沈河区:青年大街,北站路;浑南区:浑南中路;铁西区:兴华北街
青岛|QD|山东省青岛市|0532|36.07|120.38|4|市南区:香港中路,中山路;崂山区:海尔路;黄岛区:长江中路;李沧区:京口路
合肥|HF|安徽省合肥市|0551|31.82|117.23|4|蜀山区:长江西路,潜山路;庐阳区:阜南路;包河区:马鞍山路;瑶海区:胜利路
佛山|FS|广东省佛山市|0757|23.02|113.12|4|禅城区:祖庙路,季华路;南海区:南海大道;顺德区:容桂大道
宁波|NB|浙江省宁波市|0574|29.87|121.55|4|海曙区:中山西路;鄞州区:天童南路,四明中路;江北区:人民路;北仑区:明州路
昆明|KM|云南省昆明市|0871|25.04|102.71|3|五华区:东风西路,人民中路;盘龙区:北京路;官渡区:春城路;西山区:滇池路
福州|FZ|福建省福州市|0591|26.07|119.30|3|鼓楼区:五四路,杨桥中路;台江区:工业路;仓山区:首山路;晋安区:福新中路
厦门|XM|福建省厦门市|0592|24.48|118.09|4|思明区:中山路,湖滨南路;湖里区:湖里大道;集美区:集美大道;海沧区:海沧大道
济南|JN|山东省济南市|0531|36.65|117.12|3|历下区:泉城路,经十路;市中区:经四路;槐荫区:经七路;天桥区:北园大街
哈尔滨|HRB|黑龙江省哈尔滨市|0451|45.80|126.53|3|道里区:中央大街;南岗区:西大直街,红军街;香坊区:香坊大街;道外区:靖宇街
长春|CC|吉林省长春市|0431|43.82|125.32|3|朝阳区:西安大路;南关区:亚泰大街;宽城区:人民大街;二道区:东盛大街
南昌|NC|江西省南昌市|0791|28.68|115.86|3|东湖区:八一大道,象山北路;西湖区:象山南路;红谷滩区:红谷中大道;青山湖区:北京东路
贵阳|GY|贵州省贵阳市|0851|26.65|106.63|3|云岩区:中华北路;南明区:花果园大街;观山湖区:林城西路;花溪区:花溪大道
南宁|NN|广西壮族自治区南宁市|0771|22.82|108.37|3|青秀区:民族大道;兴宁区:朝阳路;西乡塘区:大学东路;良庆区:五象大道
义乌|YW|浙江省金华市义乌市|0579|29.31|120.08|6|稠城街道:工人北路,宾王路;福田街道:福田路,城中北路;江东街道:江东中路;北苑街道:春晗路;稠江街道:杨村路
石家庄|SJZ|河北省石家庄市|0311|38.04|114.51|3|长安区:中山东路;桥西区:自强路;裕华区:槐安东路;新华区:友谊北大街
太原|TY|山西省太原市|0351|37.87|112.55|3|小店区:长治路;迎泽区:迎泽大街,柳巷;杏花岭区:府西街;万柏林区:千峰南路
乌鲁木齐|URC|新疆维吾尔自治区乌鲁木齐市|0991|43.83|87.62|2|天山区:解放南路;沙依巴克区:友好北路;新市区:北京南路;水磨沟区:南湖路
兰州|LZ|甘肃省兰州市|0931|36.06|103.83|2|城关区:东岗西路,庆阳路;七里河区:西津西路;安宁区:安宁西路
海口|HK|海南省海口市|0898|20.04|110.34|2|龙华区:滨海大道,国贸路;美兰区:海府路;秀英区:长滨路
无锡|WX|江苏省无锡市|0510|31.49|120.31|3|梁溪区:中山路,人民中路;滨湖区:蠡湖大道;新吴区:长江路;锡山区:锡沪路
温州|WZ|浙江省温州市|0577|28.00|120.70|3|鹿城区:人民路,五马街;瓯海区:瓯海大道;龙湾区:永定路
大连|DL|辽宁省大连市|0411|38.91|121.61|3|中山区:人民路,港湾街;沙河口区:西安路;甘井子区:华北路;西岗区:八一路
"""

# Road names found in most Chinese cities; they pad each city to enough distinct outlet addresses.
_COMMON_ROADS = tuple(
    "人民路 解放路 中山路 建设路 文化路 新华路 和平路 胜利路 幸福路 光明路 学府路 科技路 创业路 工业路 "
    "民主路 青年路 长江路 黄河路 东风路 朝阳路 花园路 滨河路 环城北路 体育路 建国路 迎宾大道 振兴路 复兴路 "
    "友谊路 新村路".split()
)
_ROADS_PER_CITY = 22

# Hub names where a real network has a well-known one; other cities get "<city>转运中心".
# (name, carrier or None for the hub every other carrier shares, district)
_HUBS: dict[str, tuple[tuple[str, Optional[str], str], ...]] = {
    "北京": (("北京顺义转运中心", None, "顺义区"), ("北京首都机场中转场", "sf", "顺义区"),
             ("北京亦庄亚洲一号分拣中心", "jd", "大兴区")),
    "上海": (("上海浦东转运中心", None, "浦东新区"), ("上海青浦中转场", "sf", "青浦区"),
             ("上海嘉定亚洲一号分拣中心", "jd", "嘉定区")),
    "广州": (("广州白云分拨中心", None, "白云区"), ("广州花都中转场", "sf", "花都区"),
             ("广州萝岗亚洲一号分拣中心", "jd", "黄埔区")),
    "深圳": (("深圳宝安转运中心", None, "宝安区"), ("深圳机场中转场", "sf", "宝安区")),
    "杭州": (("杭州转运中心", None, "余杭区"), ("杭州萧山中转场", "sf", "萧山区")),
    "成都": (("成都双流转运中心", None, "双流区"), ("成都青白江亚洲一号分拣中心", "jd", "青白江区")),
    "武汉": (("武汉转运中心", None, "东西湖区"), ("武汉东西湖中转场", "sf", "东西湖区")),
    "南京": (("南京江宁转运中心", None, "江宁区"),),
    "苏州": (("苏州吴中转运中心", None, "吴中区"),),
    "郑州": (("郑州航空港转运中心", None, "航空港区"),),
    "义乌": (("义乌分拨中心", None, "稠江街道"),),
    "东莞": (("东莞虎门分拨中心", None, "虎门镇"),),
}
_NATIONAL_HUB_CITIES = ("郑州", "武汉", "西安", "长沙")

# Import gateways: (city, facility name, district, weight of the inbound volume they clear)
_CUSTOMS = (
    ("上海", "上海浦东国际机场海关监管仓", "浦东新区", 4),
    ("广州", "广州白云机场海关", "白云区", 3),
    ("深圳", "深圳前海保税区", "南山区", 2),
    ("北京", "北京首都国际机场海关监管仓", "顺义区", 2),
    ("郑州", "郑州新郑综合保税区", "航空港区", 1),
)

# ISO country code: (origin shown on the waybill, city, outbound exchange office)
_ABROAD = {
    "AU": ("澳大利亚悉尼", "悉尼", "悉尼国际邮件处理中心"),
    "NZ": ("新西兰奥克兰", "奥克兰", "奥克兰国际邮件中心"),
    "US": ("美国洛杉矶", "洛杉矶", "洛杉矶国际邮件互换局"),
    "JP": ("日本东京", "东京", "东京国际邮件局"),
    "KR": ("韩国首尔", "首尔", "仁川国际邮件中心"),
    "DE": ("德国法兰克福", "法兰克福", "法兰克福国际邮件处理中心"),
    "NL": ("荷兰阿姆斯特丹", "阿姆斯特丹", "阿姆斯特丹国际邮件中心"),
    "FR": ("法国巴黎", "巴黎", "巴黎戴高乐国际邮件中心"),
    "GB": ("英国伦敦", "伦敦", "伦敦希思罗国际邮件中心"),
}
_ABROAD_PHONE_PREFIX = {"AU": "+612", "NZ": "+649", "US": "+1213", "JP": "+813", "KR": "+822", "DE": "+4969",
                        "NL": "+3120", "FR": "+331", "GB": "+4420"}

_OUTLET_SUFFIX = {"sf": "营业部", "zto": "网点", "yto": "分部", "sto": "营业部", "yunda": "网点",
                  "jd": "营业部", "jt": "网点", "ems": "揽投部"}
_CARRIER_WEIGHTS = {"sf": 14, "zto": 15, "yto": 14, "sto": 11, "yunda": 13, "jd": 12, "jt": 12, "ems": 9}


@dataclass(frozen=True)
class _Goods:
    kind: str
    description: str
    origins: tuple[str, ...] = ()  # cities (or country codes for imports) the goods typically ship from
    shop: Optional[str] = None  # merchant sender name when the goods come from a shop


_GOODS: dict[str, tuple[_Goods, ...]] = {
    "fresh": (
        _Goods("fresh", "阳澄湖大闸蟹礼盒", ("苏州", "上海"), "阳澄湖蟹业旗舰店"),
        _Goods("fresh", "大闸蟹(8只装)", ("苏州", "上海", "南京"), "湖鲜直供"),
        _Goods("fresh", "智利车厘子(JJ级 2.5kg)", ("上海", "广州", "深圳"), "鲜果时光水果店"),
        _Goods("fresh", "增城荔枝(5斤装)", ("广州", "东莞"), "岭南鲜果铺"),
        _Goods("fresh", "冰鲜三文鱼(1kg)", ("青岛", "大连", "上海"), "海之味生鲜"),
        _Goods("fresh", "海鲜礼盒(帝王蟹)", ("大连", "青岛"), "大连海鲜码头直发"),
        _Goods("fresh", "舟山带鱼(冷冻)", ("宁波",), "舟山渔港生鲜"),
        _Goods("fresh", "奉化水蜜桃(6个装)", ("宁波",)),
        _Goods("fresh", "仙居杨梅(2kg)", ("杭州", "温州")),
        _Goods("fresh", "冷冻牛排(10片装)", ("青岛", "上海"), "优选牛排专营店"),
        _Goods("fresh", "斗南鲜切玫瑰(20枝)", ("昆明",), "斗南花卉直发"),
        _Goods("fresh", "海南椰青(9个装)", ("海口",), "椰乡果园"),
    ),
    "fragile": (
        _Goods("fragile", "陶瓷花瓶", ("南昌", "佛山"), "瓷韵工作室"),
        _Goods("fragile", "玻璃茶具套装", ("义乌", "杭州"), "茶器小铺"),
        _Goods("fragile", "27英寸显示器", ("深圳", "苏州"), "数码专营店"),
        _Goods("fragile", "紫砂壶", ("无锡",), "宜兴紫砂坊"),
        _Goods("fragile", "红酒(2瓶装)", ("上海", "天津")),
        _Goods("fragile", "单反相机镜头", ("深圳", "上海")),
        _Goods("fragile", "景泰蓝摆件", ("北京",)),
        _Goods("fragile", "钢化玻璃鱼缸", ("佛山",), "水族用品店"),
    ),
    "document": (
        _Goods("document", "合同文件"),
        _Goods("document", "发票"),
        _Goods("document", "投标文件"),
        _Goods("document", "签证材料"),
        _Goods("document", "毕业证书(原件)"),
        _Goods("document", "房产证复印件"),
    ),
    "general": (
        _Goods("general", "手机壳", ("深圳", "东莞", "广州", "义乌"), "数码配件专营店"),
        _Goods("general", "运动鞋", ("厦门", "福州"), "运动潮鞋店"),
        _Goods("general", "羽绒服", ("杭州", "苏州"), "轻暖服饰旗舰店"),
        _Goods("general", "数据线", ("深圳", "东莞"), "数码配件专营店"),
        _Goods("general", "图书", ("北京", "南京"), "博文书店"),
        _Goods("general", "蓝牙耳机", ("深圳",), "声悦数码旗舰店"),
        _Goods("general", "电饭煲", ("佛山",), "美家电器旗舰店"),
        _Goods("general", "床上四件套", ("苏州", "南通")),
        _Goods("general", "猫粮(10kg)", ("上海", "天津"), "萌宠生活馆"),
        _Goods("general", "积木玩具", ("义乌", "广州"), "童趣玩具城"),
        _Goods("general", "保温杯", ("义乌", "杭州"), "义乌百货批发"),
        _Goods("general", "连衣裙", ("广州", "杭州"), "衣橱女装店"),
        _Goods("general", "儿童书包", ("义乌",), "义乌百货批发"),
        _Goods("general", "空气炸锅", ("佛山", "宁波"), "美家电器旗舰店"),
        _Goods("general", "西湖龙井(250g)", ("杭州",), "龙井茶庄"),
        _Goods("general", "零食大礼包", ("长沙", "杭州"), "吃货零食铺"),
        _Goods("general", "化妆品", ("上海", "广州")),
        _Goods("general", "办公椅", ("佛山", "杭州"), "舒适家具旗舰店"),
    ),
    "international": (
        _Goods("international", "奶粉(海外直邮)", ("AU", "NZ", "DE", "NL"), "海外直邮仓"),
        _Goods("international", "保健品(鱼油)", ("AU", "US"), "海外直邮仓"),
        _Goods("international", "化妆品套装", ("JP", "KR", "FR"), "海外直邮仓"),
        _Goods("international", "手表", ("DE", "GB"), "海外直邮仓"),
        _Goods("international", "相机镜头", ("JP",), "海外直邮仓"),
        _Goods("international", "红酒(海外直邮)", ("FR",), "海外直邮仓"),
        _Goods("international", "儿童维生素", ("US", "AU"), "海外直邮仓"),
        _Goods("international", "婴儿纸尿裤", ("JP",), "海外直邮仓"),
    ),
}
_GOODS_MIX = {"general": 64, "document": 10, "fragile": 12, "fresh": 14}

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史"
    "陶黎贺顾毛郝龚邵钱严武戴莫孔汤"
)
_GIVEN = tuple(
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 婷 浩然 子涵 欣怡 梓轩 "
    "雨桐 宇航 思远 佳怡 一诺 俊杰 晓东 海燕 建华 志强 文博 雅琪 建国 丹 鑫 斌 琳 颖 晨 昊 慧敏 振华 "
    "红梅 国庆 立新 嘉怡 天宇 梦瑶 子墨 若汐 浩宇 美玲".split()
)
_COURIER_GIVEN = tuple("建军 志刚 海涛 永强 国华 小龙 德明 建平 春生 宏伟 文亮 卫东".split())
_COMMUNITIES = tuple(
    "翠苑小区 阳光花园 锦绣家园 幸福里 金色家园 碧桂园 万科城 桂花园 世纪花园 香樟苑 紫金苑 和平新村 "
    "滨江花园 春江郦城 香槟国际 御园 国际社区 名都 二十四城 格林小镇 雍景湾 新城花园 丽水嘉园 望江苑 "
    "枫林绿洲 长岛花园 天鹅湾 紫薇花园 东方花城 时代公寓 江南水岸 书香门第 阳光城 湖畔佳苑 梧桐苑 "
    "春天花园 明珠小区 学苑新村 康乐新村 海棠湾 华府名邸 玉兰苑 桃源居 锦江花园 诚园 金域蓝湾 翡翠城 "
    "云顶华庭".split()
)
_BUILDINGS = tuple("创新大厦 科技大厦 财富广场 世贸中心 数码大厦 商务大厦 国际金融中心 中心大厦".split())
_STATION_BRANDS = ("菜鸟驿站", "兔喜生活", "妈妈驿站")


@dataclass(frozen=True)
class _City:
    name: str
    code: str
    prefix: str
    area: str
    lat: float
    lon: float
    weight: int
    signature: tuple[tuple[str, str], ...]

    @property
    def full(self) -> str:
        return self.name + "市"

    @property
    def districts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for d, _ in self.signature))


def _parse_cities() -> tuple[_City, ...]:
    cities = []
    for line in _CITY_DATA.strip().splitlines():
        name, code, prefix, area, lat, lon, weight, roads = line.split("|")
        pairs = tuple((district, road) for part in roads.split(";")
                      for district, names in [part.split(":")] for road in names.split(","))
        cities.append(_City(name, code, prefix, area, float(lat), float(lon), int(weight), pairs))
    return tuple(cities)


CITIES: tuple[_City, ...] = _parse_cities()
_CITY = {c.name: c for c in CITIES}


def _km(a: _City, b: _City) -> float:
    """Great-circle distance; road distance is about a fifth longer, which the trunk hours absorb."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


# --- the network ---


@dataclass
class _Fac:
    code: str
    kind: str
    name: str
    city: _City
    district: str
    address: str
    phone: str
    carrier: Optional[str] = None
    hours: int = 12

    @property
    def location(self) -> str:
        return self.city.full if self.kind == "hub" else f"{self.city.full}{self.district}"

    def row(self) -> dict:
        return {"code": self.code, "kind": self.kind, "name": self.name, "city": self.city.name,
                "address": self.address, "phone": self.phone, "carrier": self.carrier,
                "promised_dispatch_hours": self.hours}


class _Network:
    """Hubs, outlets, lockers, stations and customs gateways for every city."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.facilities: list[_Fac] = []
        self.hubs: dict[str, list[_Fac]] = {}
        self.outlets: dict[tuple[str, str], list[_Fac]] = {}
        self.lockers: dict[str, list[_Fac]] = {}
        self.stations: dict[str, list[_Fac]] = {}
        self.customs: list[tuple[_Fac, int]] = []
        self.roads: dict[str, list[tuple[str, str]]] = {}
        for city in CITIES:
            self._city(city)
        for city_name, name, district, weight in _CUSTOMS:
            city = _CITY[city_name]
            fac = self._add("customs", f"CUS-{city.code}-01", name, city, district, self._landline(city))
            self.customs.append((fac, weight))

    def _add(self, kind: str, code: str, name: str, city: _City, district: str, phone: str, *,
             carrier: Optional[str] = None, hours: int = 12, road: Optional[str] = None) -> _Fac:
        road = road or self.rng.choice(self.roads_in(city, district))
        address = f"{city.prefix}{district}{road}{self.rng.randint(1, 999)}号"
        fac = _Fac(code, kind, name, city, district, address, phone, carrier, hours)
        self.facilities.append(fac)
        return fac

    def _city(self, city: _City) -> None:
        rng = self.rng
        roads = list(city.signature)
        known = {r for _, r in roads}
        for road in rng.sample(_COMMON_ROADS, len(_COMMON_ROADS)):
            if len(roads) >= _ROADS_PER_CITY:
                break
            if road not in known:
                roads.append((rng.choice(city.districts), road))
        self.roads[city.name] = roads

        hubs = _HUBS.get(city.name) or ((f"{city.name}转运中心", None, rng.choice(city.districts)),)
        self.hubs[city.name] = [
            self._add("hub", f"HUB-{city.code}-{i:02d}", name, city, district, self._landline(city),
                      carrier=carrier)
            for i, (name, carrier, district) in enumerate(hubs, start=1)
        ]
        # Signature roads go to the first outlets, so the well-known streets carry the big carriers' outlets.
        slots = iter(roads)
        for i in range(1, 3):
            for carrier in CARRIERS:
                district, road = next(slots)
                phone = self._landline(city) if rng.random() < 0.75 else self._mobile()
                name = f"{city.name}{district}{road}{_OUTLET_SUFFIX[carrier]}"
                fac = self._add("outlet", f"OUT-{city.code}-{carrier.upper()}-{i:02d}", name, city, district,
                                phone, carrier=carrier, hours=rng.choice((4, 6, 8, 8, 12, 12)), road=road)
                self.outlets.setdefault((city.name, carrier), []).append(fac)
        communities = rng.sample(_COMMUNITIES, 6)
        # Spread over the districts so most outlets have a locker and a station nearby.
        districts = rng.sample(city.districts, len(city.districts))
        self.lockers[city.name] = [
            self._add("locker", f"LCK-{city.code}-{i:02d}", f"丰巢智能柜({community}{rng.randint(1, 6)}号门)",
                      city, districts[i % len(districts)], self._mobile())
            for i, community in enumerate(communities[:3], start=1)
        ]
        self.stations[city.name] = [
            self._add("station", f"STN-{city.code}-{i:02d}", f"{_STATION_BRANDS[i - 1]}({community}店)",
                      city, districts[(i + 2) % len(districts)], self._mobile())
            for i, community in enumerate(communities[3:], start=1)
        ]

    def roads_in(self, city: _City, district: str) -> list[str]:
        roads = [r for d, r in self.roads[city.name] if d == district]
        return roads or [r for _, r in self.roads[city.name]]

    def hub(self, city: _City, carrier: str) -> _Fac:
        hubs = self.hubs[city.name]
        return next((h for h in hubs if h.carrier == carrier), hubs[0])

    def _landline(self, city: _City) -> str:
        return f"{city.area}-{self.rng.choice('5678')}{self.rng.randrange(10 ** 7):07d}"

    def _mobile(self) -> str:
        return _mobile(self.rng)


# Prefixes the three operators really issue to subscribers (no data-only or IoT ranges).
_MOBILE_PREFIXES = (
    *(f"13{d}" for d in range(10)), "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
    "173", "175", "176", "177", "178", *(f"18{d}" for d in range(10)), "191", "193", "195", "198", "199",
)


def _mobile(rng: random.Random) -> str:
    while True:
        phone = f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10 ** 8):08d}"
        if phone not in _RESERVED_PHONES:
            return phone


# --- incidents ---


@dataclass
class _Disruption:
    """How an incident bends the trajectories of parcels that stay at its facility while it lasts."""

    start: datetime
    end: Optional[datetime]  # None: still going on
    mode: str  # hold: nothing leaves; delay: departures slip by extra hours; until: nothing leaves before end


def _next_20h_cst(now: datetime) -> datetime:
    clear = now.replace(hour=12, minute=0, second=0, microsecond=0)  # 20:00 China time
    return clear if clear > now else clear + timedelta(days=1)


def _incidents(network: _Network, now: datetime) -> tuple[list[dict], dict[str, list[_Disruption]]]:
    hour = now.replace(minute=0, second=0, microsecond=0)
    clear = _next_20h_cst(now)
    clear_text = clear.replace(tzinfo=timezone.utc).astimezone(CST)
    weather_start = hour - timedelta(days=3)
    rows: list[dict] = []
    disruptions: dict[str, list[_Disruption]] = {}

    def add(code: str, kind: str, summary: str, start: datetime, expected: Optional[datetime],
            ended: Optional[datetime], mode: Optional[str]) -> None:
        rows.append({"code": code, "kind": kind, "summary": summary, "starts_at": start,
                     "expected_clear_at": expected, "ended_at": ended, "active": ended is None,
                     "created_at": start})
        if mode:
            disruptions.setdefault(code, []).append(_Disruption(start, ended, mode))

    for hub in network.hubs["杭州"]:
        add(hub.code, "weather",
            f"受台风及持续暴雨影响，{hub.name}进出港线路临时停发，中转场快件临时积压，"
            f"预计{clear_text.month}月{clear_text.day}日20:00前逐步恢复发运",
            weather_start, clear, None, "hold")
    guangzhou = network.hubs["广州"][0]
    add(guangzhou.code, "volume",
        f"促销季进港量激增，{guangzhou.name}处理量超出产能约40%，部分快件预计延误12-24小时",
        hour - timedelta(hours=30), hour + timedelta(hours=42), None, "delay")
    wuhan = network.hubs["武汉"][0]
    add(wuhan.code, "equipment",
        f"{wuhan.name}自动分拣线设备故障，部分快件改为人工分拣，处理时效延长约6-8小时",
        hour - timedelta(days=6), hour - timedelta(days=6) + timedelta(hours=8),
        hour - timedelta(days=6) + timedelta(hours=9), "until")
    beijing = network.hubs["北京"][0]
    add(beijing.code, "weather", "大雾天气导致京津冀多条高速公路临时封闭，干线车辆延误",
        hour - timedelta(days=9), hour - timedelta(days=9) + timedelta(hours=10),
        hour - timedelta(days=9) + timedelta(hours=12), "until")
    customs = network.customs[0][0]
    add(customs.code, "customs",
        f"进口跨境包裹查验量增加，{customs.name}清关积压，清关时效预计延长2-3个工作日",
        hour - timedelta(days=2), hour + timedelta(days=3), None, None)
    return rows, disruptions


# --- trajectories ---

S = Status
# Scans a person makes at the door, counter or locker: they happen in the daytime (China time).
_DAYTIME = frozenset(s.value for s in (S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.IN_LOCKER,
                                       S.AT_STATION, S.DELIVERY_FAILED, S.REFUSED, S.RETURNED))
_DAY_START, _DAY_END = 8.0, 20.0
_ATTEMPTS = frozenset(s.value for s in (S.DELIVERED, S.IN_LOCKER, S.AT_STATION, S.DELIVERY_FAILED, S.REFUSED))
_TRANSIT_CUTS = {S.PICKED_UP.value, S.IN_TRANSIT.value, S.ARRIVED_HUB.value, S.DEPARTED_HUB.value,
                 S.AT_OUTLET.value}


@dataclass
class _Step:
    status: str
    gap: float  # hours after the previous step
    location: str
    description: str
    facility: Optional[_Fac] = None
    hub_arrival: bool = False


@dataclass
class _Party:
    name: str
    phone: str
    address: str


@dataclass
class _Plan:
    number: str
    carrier: str
    goods: _Goods
    origin: Optional[_City]  # None for an import
    dest: _City
    sender: _Party
    recipient: _Party
    insured: int
    origin_outlet: Optional[_Fac]
    origin_hub: _Fac
    mid_hub: Optional[_Fac]
    dest_hub: _Fac
    dest_outlet: _Fac
    locker: _Fac
    station: _Fac
    courier: tuple[str, str]
    pickup_courier: tuple[str, str]
    abroad: Optional[str] = None  # country code of an import
    customs: Optional[_Fac] = None

    @property
    def origin_name(self) -> str:
        return _ABROAD[self.abroad][0] if self.abroad else self.origin.name


@dataclass
class _Built:
    plan: _Plan
    steps: list[_Step]
    times: list[datetime]
    scenario: str
    promised: datetime


def _offsets(steps: list[_Step]) -> list[float]:
    total, out = 0.0, []
    for step in steps:
        total += step.gap
        out.append(total)
    return out


def _index(steps: list[_Step], status: Status) -> int:
    return next(i for i, s in enumerate(steps) if s.status == status.value)


def _cst_hour(t: datetime) -> float:
    return (t.hour + 8) % 24 + t.minute / 60


def _courier_tag(courier: tuple[str, str]) -> str:
    return f"{courier[0][0]}师傅 {mask_phone(courier[1])}"


class _Generator:
    """Plans shipments and lays their trajectories on the time axis ending at `now`."""

    def __init__(self, rng: random.Random, now: datetime, network: _Network,
                 disruptions: dict[str, list[_Disruption]], weather_start: datetime) -> None:
        self.rng = rng
        self.now = now
        self.net = network
        self.disruptions = disruptions
        self.weather_start = weather_start
        self.used = set(DEMO_NUMBERS)
        self.couriers: dict[str, list[tuple[str, str]]] = {}
        self.city_weights = [c.weight for c in CITIES]

    # -- small helpers --

    def hours(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def ago(self, lo_hours: float, hi_hours: float) -> datetime:
        return self.now - timedelta(hours=self.rng.uniform(lo_hours, hi_hours))

    def between(self, lo: datetime, hi: datetime) -> datetime:
        if hi <= lo:
            return hi
        return lo + timedelta(seconds=self.rng.uniform(0, (hi - lo).total_seconds()))

    def person(self) -> str:
        return self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN)

    def address(self, city: _City, district: str, *, office: bool = False) -> str:
        """An address in the district an outlet serves, so the parcel's last mile stays local."""
        rng = self.rng
        road = rng.choice(self.net.roads_in(city, district))
        floor = rng.randint(2, 28)
        if office:
            return f"{city.prefix}{district}{road}{rng.randint(1, 999)}号{rng.choice(_BUILDINGS)}{floor}层" \
                   f"{floor}{rng.randint(1, 20):02d}室"
        return f"{city.prefix}{district}{road}{rng.randint(1, 999)}号{rng.choice(_COMMUNITIES)}" \
               f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{floor}{rng.randint(1, 4):02d}室"

    def courier(self, outlet: _Fac) -> tuple[str, str]:
        crew = self.couriers.get(outlet.code)
        if crew is None:
            crew = [(self.rng.choice(_SURNAMES) + self.rng.choice(_COURIER_GIVEN), _mobile(self.rng))
                    for _ in range(3)]
            self.couriers[outlet.code] = crew
        return self.rng.choice(crew)

    def number(self, carrier: str, country: Optional[str] = None) -> str:
        while True:
            number = self._format(carrier, country)
            if number not in self.used:
                self.used.add(number)
                return number

    def _format(self, carrier: str, country: Optional[str]) -> str:
        rng = self.rng

        def digits(n: int) -> str:
            return f"{rng.randrange(10 ** n):0{n}d}"

        if carrier == "ems" and country:
            serial = digits(8)
            return f"E{rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}{serial}{s10_check_digit(serial)}{country}"
        return {
            "sf": lambda: "SF1" + digits(12),
            "zto": lambda: rng.choice(("73", "75", "78")) + digits(10),
            "yto": lambda: "YT" + rng.choice("6789") + digits(12),
            "sto": lambda: "77" + digits(11),
            "yunda": lambda: rng.choice(("43", "46", "31")) + digits(11),
            "jd": lambda: "JD00" + digits(11),
            "jt": lambda: "JT" + digits(13),
            "ems": lambda: rng.choice(("11", "50")) + digits(11),
        }[carrier]()

    def promised(self, plan: _Plan, created: datetime) -> datetime:
        """The service promise, due 20:00: SF/JD next or second day, fresh two days, others 2-4 days."""
        if plan.abroad:
            days = 9
        else:
            km = _km(plan.origin, plan.dest)
            if plan.carrier in ("sf", "jd"):
                days = 1 if km < 1000 else 2
            elif plan.goods.kind == "fresh":
                days = 2
            else:
                days = 2 if km < 600 else 3 if km < 1500 else 4
        local = created.replace(tzinfo=timezone.utc).astimezone(CST)
        due = local.replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=days)
        return due.astimezone(timezone.utc).replace(tzinfo=None)

    # -- planning --

    def plan(self, *, kind: Optional[str] = None, goods: Optional[_Goods] = None,
             carrier: Optional[str] = None, origin: Optional[str] = None, dest: Optional[str] = None,
             number: Optional[str] = None, sender: Optional[_Party] = None,
             recipient: Optional[_Party] = None, insured: Optional[int] = None,
             customs: Optional[str] = None, avoid: tuple[str, ...] = ()) -> _Plan:
        rng = self.rng
        if goods is None:
            kind = kind or rng.choices(list(_GOODS_MIX), list(_GOODS_MIX.values()))[0]
            goods = rng.choice(_GOODS[kind])
        abroad = None
        if goods.kind == "international":
            abroad = rng.choice(goods.origins)
            carrier = "ems"
        if carrier is None:
            weights = dict(_CARRIER_WEIGHTS)
            if goods.kind == "fresh":
                weights.update(sf=weights["sf"] * 3, jd=weights["jd"] * 2, ems=2)
            elif goods.kind == "document":
                weights.update(sf=weights["sf"] * 2, ems=weights["ems"] * 2)
            carrier = rng.choices(list(weights), list(weights.values()))[0]

        dest_city = _CITY[dest] if dest else self._city(avoid)
        origin_city = None
        if abroad is None:
            if origin:
                origin_city = _CITY[origin]
            else:
                known = [c for c in goods.origins if c in _CITY and c not in avoid]
                origin_city = _CITY[rng.choice(known)] if known and rng.random() < 0.75 else self._city(avoid)
            if origin_city is dest_city and rng.random() < 0.9 and not dest:
                dest_city = self._city((*avoid, origin_city.name))

        if customs:
            gateway = next(f for f, _ in self.net.customs if f.city.name == customs)
        elif abroad:
            gateways = self.net.customs
            gateway = rng.choices([f for f, _ in gateways], [w for _, w in gateways])[0]
        else:
            gateway = None
        origin_hub = self.net.hub(gateway.city if gateway else origin_city, carrier)
        dest_hub = self.net.hub(dest_city, carrier)
        mid_hub = None
        if origin_hub is not dest_hub and carrier not in ("sf", "jd") and rng.random() < 0.5:
            a, b = origin_hub.city, dest_hub.city
            if _km(a, b) > 1500:
                options = [_CITY[n] for n in _NATIONAL_HUB_CITIES if n not in (a.name, b.name)]
                best = min(options, key=lambda c: _km(a, c) + _km(c, b))
                mid_hub = self.net.hub(best, carrier)

        origin_outlet = None
        if origin_city is not None:
            origin_outlet = self._near(self.net.outlets[(origin_city.name, carrier)], sender)
        dest_outlet = self._near(self.net.outlets[(dest_city.name, carrier)], recipient)
        if sender is None:
            if abroad:
                place, town, _ = _ABROAD[abroad]
                phone = f"{_ABROAD_PHONE_PREFIX[abroad]}{rng.randrange(10 ** 8):08d}"
                sender = _Party(f"{town}{goods.shop}", phone, f"{place}国际物流园{rng.randint(1, 99)}号仓")
            elif goods.shop and rng.random() < 0.7:
                sender = _Party(goods.shop, _mobile(rng), self.address(origin_city, origin_outlet.district,
                                                                       office=True))
            else:
                sender = _Party(self.person(), _mobile(rng), self.address(origin_city, origin_outlet.district,
                                                                          office=rng.random() < 0.3))
        if recipient is None:
            recipient = _Party(self.person(), _mobile(rng), self.address(dest_city, dest_outlet.district,
                                                                         office=rng.random() < 0.15))
        if insured is None:
            chances = {"fragile": 0.4, "international": 0.3, "fresh": 0.15, "document": 0.03}
            chance = chances.get(goods.kind, 0.08)
            insured = rng.randrange(200, 5001, 100) if rng.random() < chance else 0

        near = dest_outlet.district
        return _Plan(
            number=number or self.number(carrier, abroad),
            carrier=carrier, goods=goods, origin=origin_city, dest=dest_city, sender=sender,
            recipient=recipient, insured=insured, origin_outlet=origin_outlet, origin_hub=origin_hub,
            mid_hub=mid_hub, dest_hub=dest_hub, dest_outlet=dest_outlet,
            locker=self._near(self.net.lockers[dest_city.name], district=near),
            station=self._near(self.net.stations[dest_city.name], district=near),
            courier=self.courier(dest_outlet),
            pickup_courier=self.courier(origin_outlet) if origin_outlet else ("", ""),
            abroad=abroad, customs=gateway,
        )

    def _near(self, options: list[_Fac], party: Optional[_Party] = None,
              district: Optional[str] = None) -> _Fac:
        """A facility in the party's (or the given) district when there is one; parcels go to the nearest."""
        near = [f for f in options
                if (party is not None and f.district in party.address) or f.district == district]
        return self.rng.choice(near or options)

    def _city(self, avoid: tuple[str, ...] = ()) -> _City:
        while True:
            city = self.rng.choices(CITIES, self.city_weights)[0]
            if city.name not in avoid:
                return city

    def trunk_hours(self, a: _City, b: _City, carrier: str) -> float:
        km = _km(a, b)
        if carrier in ("sf", "jd") and km > 1000:
            return self.hours(6, 12)  # air freight
        return min(30.0, max(6.0, (5 + km / 70) * self.hours(0.85, 1.15)))

    # -- trajectory --

    def journey(self, p: _Plan, *, finish: str = "door", signer: str = "本人",
                customs_problem: Optional[str] = None, damage: Optional[str] = None,
                attempts: int = 1) -> list[_Step]:
        """The complete planned trajectory; scenarios cut it where the story ends."""
        h = self.hours
        steps: list[_Step] = []
        add = steps.append
        if p.abroad:
            place, _, office = _ABROAD[p.abroad]
            gate = p.customs
            add(_Step(S.CREATED.value, 0, place, "海外仓已接单，等待揽收"))
            add(_Step(S.PICKED_UP.value, h(2, 12), place, f"快件已在【{place}】收寄"))
            add(_Step(S.IN_TRANSIT.value, h(6, 24), place,
                      f"快件已从【{office}】发出，航班运输中，下一站【{gate.name}】"))
            add(_Step(S.CUSTOMS_PENDING.value, h(14, 30), gate.location,
                      f"快件已到达【{gate.name}】，等待海关查验放行", gate))
            add(_Step(S.CUSTOMS_PROCESSING.value, h(4, 30), gate.location,
                      f"快件正在【{gate.name}】办理清关手续，海关查验中", gate))
            if customs_problem:
                add(_Step(S.CUSTOMS_EXCEPTION.value, h(6, 30), gate.location, f"清关异常：{customs_problem}",
                          gate))
                return steps
            add(_Step(S.CUSTOMS_CLEARED.value, h(6, 40), gate.location, "清关完成，海关已放行", gate))
            add(_Step(S.IN_TRANSIT.value, h(1, 4), gate.location,
                      f"快件已从【{gate.name}】发出，下一站【{p.origin_hub.name}】", gate))
        else:
            outlet = p.origin_outlet
            by_shop = p.sender.name == p.goods.shop
            created = "商家已发货，等待快递员揽收" if by_shop else "寄件人已下单，等待快递员上门揽收"
            add(_Step(S.CREATED.value, 0, outlet.location, created))
            add(_Step(S.PICKED_UP.value, h(1, 8), outlet.location,
                      f"快件已由【{outlet.name}】揽收，揽收员：{_courier_tag(p.pickup_courier)}", outlet))
            add(_Step(S.IN_TRANSIT.value, h(1, 4), outlet.location,
                      f"快件已从【{outlet.name}】发出，下一站【{p.origin_hub.name}】", outlet))
        add(_Step(S.ARRIVED_HUB.value, h(1, 4), p.origin_hub.location, f"快件已到达【{p.origin_hub.name}】",
                  p.origin_hub, hub_arrival=True))
        legs = [p.origin_hub, *([p.mid_hub] if p.mid_hub else []), p.dest_hub]
        for a, b in zip(legs, legs[1:]):
            if a is b:
                continue
            add(_Step(S.DEPARTED_HUB.value, h(2, 10), a.location,
                      f"快件已从【{a.name}】发出，下一站【{b.name}】", a))
            add(_Step(S.IN_TRANSIT.value, h(0.3, 1.5), a.location, f"快件正在运输途中，已发往【{b.name}】"))
            add(_Step(S.ARRIVED_HUB.value, self.trunk_hours(a.city, b.city, p.carrier), b.location,
                      f"快件已到达【{b.name}】", b, hub_arrival=True))
        hub, outlet = p.dest_hub, p.dest_outlet
        if damage == "hub":
            add(_Step(S.EXCEPTION.value, h(0.5, 3), hub.location,
                      "快件外包装破损，已拍照留存，正在核实内件情况", hub))
        add(_Step(S.DEPARTED_HUB.value, h(2, 10), hub.location,
                  f"快件已从【{hub.name}】发出，下一站【{outlet.name}】", hub))
        add(_Step(S.AT_OUTLET.value, h(1.5, 5), outlet.location,
                  f"快件已到达【{outlet.name}】，网点电话：{outlet.phone}", outlet))
        if damage == "outlet":
            add(_Step(S.EXCEPTION.value, h(0.3, 2), outlet.location,
                      "快件外包装破损，已拍照留存，网点正在核实内件", outlet))
        self._last_mile(p, steps, finish=finish, signer=signer, attempts=attempts)
        return steps

    def _last_mile(self, p: _Plan, steps: list[_Step], *, finish: str, signer: str, attempts: int) -> None:
        h = self.hours
        add = steps.append
        outlet, tag = p.dest_outlet, _courier_tag(p.courier)
        thanks = f"感谢使用{carrier_name(p.carrier)}，期待再次为您服务"

        def out_for_delivery(gap: float) -> None:
            add(_Step(S.OUT_FOR_DELIVERY.value, gap, outlet.location,
                      f"快递员【{tag}】正在派件，请保持电话畅通", outlet))

        out_for_delivery(h(1, min(8, outlet.hours)))
        if finish == "door":
            add(_Step(S.DELIVERED.value, h(0.5, 5), outlet.location, f"已签收，签收人：{signer}。{thanks}"))
        elif finish == "locker":
            locker = p.locker
            add(_Step(S.IN_LOCKER.value, h(0.5, 3), locker.location,
                      f"快件已存放至【{locker.name}】，请凭取件码取件。如有疑问请联系快递员【{tag}】",
                      locker))
            add(_Step(S.DELIVERED.value, h(0.5, 30), locker.location,
                      f"快件已从【{locker.name}】取出，已签收。{thanks}", locker))
        elif finish == "station":
            station = p.station
            code = f"{self.rng.randint(1, 9)}-{self.rng.randint(1, 6)}-{self.rng.randint(1000, 9999)}"
            add(_Step(S.AT_STATION.value, h(0.5, 3), station.location,
                      f"快件已到达【{station.name}】，请凭取件码{code}及时取件，驿站电话：{station.phone}",
                      station))
            add(_Step(S.DELIVERED.value, h(1, 48), station.location,
                      f"快件已在【{station.name}】取件签收，签收人：本人。{thanks}", station))
        elif finish == "proxy":
            facility = {"快递柜": p.locker, "驿站": p.station}.get(signer)
            where = f"【{facility.name}】" if facility else ""
            add(_Step(S.DELIVERED.value, h(0.5, 5), facility.location if facility else outlet.location,
                      f"已签收，签收人：{signer}{where}。如有疑问请联系快递员【{tag}】", facility))
        elif finish == "fail":
            reasons = ("联系不上收件人，电话无人接听", "收件人电话关机，无法联系", "地址无人，联系不上收件人")
            add(_Step(S.DELIVERY_FAILED.value, h(1, 6), outlet.location,
                      f"派送不成功：{self.rng.choice(reasons)}，快件已返回网点，将再次派送", outlet))
            for _ in range(attempts - 1):
                out_for_delivery(h(14, 20))
                add(_Step(S.DELIVERY_FAILED.value, h(1, 6), outlet.location,
                          f"派送不成功：{self.rng.choice(reasons)}，快件暂存网点，请收件人联系网点", outlet))
        elif finish in ("refuse", "return"):
            add(_Step(S.REFUSED.value, h(0.5, 4), outlet.location,
                      f"快件被拒收，原因：收件人拒收，快件已返回【{outlet.name}】等待处理", outlet))
            if finish == "return":
                self._return_leg(p, steps)

    def _return_leg(self, p: _Plan, steps: list[_Step]) -> None:
        h = self.hours
        add = steps.append
        back = S.RETURNING.value
        outlet, hub, home_hub, home = p.dest_outlet, p.dest_hub, p.origin_hub, p.origin_outlet
        add(_Step(back, h(4, 20), outlet.location, "快件已安排退回寄件人，退回原因：收件人拒收", outlet))
        add(_Step(back, h(2, 6), hub.location, f"退回件已到达【{hub.name}】", hub, hub_arrival=True))
        if hub is not home_hub:
            add(_Step(back, h(2, 10), hub.location,
                      f"退回件已从【{hub.name}】发出，下一站【{home_hub.name}】", hub))
            add(_Step(back, self.trunk_hours(hub.city, home_hub.city, p.carrier), home_hub.location,
                      f"退回件已到达【{home_hub.name}】", home_hub, hub_arrival=True))
        add(_Step(back, h(3, 10), home.location, f"退回件已到达【{home.name}】，正在安排派送", home))
        add(_Step(S.RETURNED.value, h(2, 10), home.location, "退回件已签收，签收人：寄件人本人", home))

    # -- laying a trajectory on the time axis --

    def place(self, p: _Plan, steps: list[_Step], scenario: str, *, cut: int, anchor: int, at: datetime,
              normal: bool, promised: Optional[datetime] = None, on_time: bool = True) -> Optional[_Built]:
        """Fix step `anchor` at time `at`, keep steps up to `cut`, and apply the incidents.

        A normal flow bends to the incidents (and is relabelled); an anomaly that an incident would bend
        is rejected (None), so its story stays the one the scenario promises. With `on_time` the promise
        is extended to cover the planned first delivery attempt, so only incidents and stuck parcels are late.
        """
        offsets = _offsets(steps)
        times = self.daylight(steps, [at + timedelta(hours=o - offsets[anchor]) for o in offsets], anchor)
        if promised is None:
            promised = self.promised(p, times[0])
            done = next((i for i, s in enumerate(steps) if s.status in _ATTEMPTS), None)
            if on_time and done is not None:
                while promised < times[done]:
                    promised += timedelta(days=1)
        steps, times = steps[: cut + 1], times[: cut + 1]
        times, held, changed = self.disrupt(steps, times)
        if not normal and (changed or held is not None):
            return None
        if held is not None:
            steps, times = steps[: held + 1], times[: held + 1]
        keep = sum(1 for t in times if t <= self.now)
        if keep < len(times):
            if not normal or keep == 0:
                return None
            steps, times = steps[:keep], times[:keep]
            scenario = "in_transit"
        if held is not None and keep == held + 1:
            scenario = "weather_backlog"
        if times[0] < self.now - timedelta(days=14):
            return None
        return _Built(p, steps, times, scenario, promised)

    def daylight(self, steps: list[_Step], times: list[datetime], anchor: int) -> list[datetime]:
        """Move doorstep and counter scans into the working day, keeping the anchor where the scenario put it.

        Earlier scans move earlier (to the previous evening), later ones later (to the next morning), so the
        dwell times only grow; an anchor scan itself moves to the previous evening unless it must stay today.
        """
        times = list(times)

        def back(t: datetime) -> timedelta:
            h = _cst_hour(t)
            if _DAY_START <= h < _DAY_END:
                return timedelta(0)
            late = h - _DAY_END if h >= _DAY_END else h + 24 - _DAY_END
            return timedelta(hours=late + self.hours(0.1, 1.0))

        def shift(first: int, last: int, delta: timedelta) -> None:
            for j in range(first, last):
                times[j] += delta

        if steps[anchor].status in _DAYTIME and steps[anchor].status != S.OUT_FOR_DELIVERY.value:
            shift(0, len(times), -back(times[anchor]))
        for i in range(anchor - 1, -1, -1):
            if steps[i].status in _DAYTIME:
                shift(0, i + 1, -back(times[i]))
        for i in range(anchor + 1, len(times)):
            h = _cst_hour(times[i])
            if steps[i].status in _DAYTIME and not _DAY_START <= h < _DAY_END:
                wait = (_DAY_START - h) if h < _DAY_START else (24 - h + _DAY_START)
                shift(i, len(times), timedelta(hours=wait + self.hours(0.05, 1.0)))
        return [t.replace(microsecond=0) for t in times]

    def disrupt(self, steps: list[_Step],
                times: list[datetime]) -> tuple[list[datetime], Optional[int], bool]:
        """Bend times around incidents at hubs: the new times, the index held at (if any), whether bent."""
        times = list(times)
        changed = False
        for i, step in enumerate(steps[:-1]):
            if not step.hub_arrival:
                continue
            for d in self.disruptions.get(step.facility.code, ()):
                arrive, leave = times[i], times[i + 1]
                if leave <= d.start or (d.end is not None and arrive >= d.end):
                    continue
                if d.mode == "hold":
                    return times, i, True
                if d.mode == "delay":
                    shift = timedelta(hours=self.hours(6, 18))
                else:
                    shift = max(timedelta(0), d.end + timedelta(hours=self.hours(0.5, 3)) - leave)
                if shift:
                    times[i + 1:] = [(t + shift).replace(microsecond=0) for t in times[i + 1:]]
                    changed = True
        return times, None, changed

    def today(self) -> datetime:
        """A moment earlier today (China time) within the last six hours, in delivery hours when possible."""
        local = self.now.replace(tzinfo=timezone.utc).astimezone(CST)
        midnight = local.replace(hour=0, minute=0, second=0).astimezone(timezone.utc).replace(tzinfo=None)
        lo = max(midnight + timedelta(hours=_DAY_START), self.now - timedelta(hours=6))
        hi = min(midnight + timedelta(hours=_DAY_END), self.now - timedelta(minutes=3))
        if lo >= hi:
            lo, hi = max(midnight, self.now - timedelta(hours=6)), self.now - timedelta(minutes=3)
        return self.between(lo, hi) if lo < hi else self.now - timedelta(seconds=30)

    def fits_window(self, steps: list[_Step], end: datetime) -> datetime:
        """A time for the last step so the whole trip lies within the last 14 days and ends by `end`."""
        total = _offsets(steps)[-1]
        return self.between(self.now - timedelta(days=14) + timedelta(hours=total), end)

    # -- scenarios (random shipments) --

    def build(self, scenario: str) -> _Built:
        maker: Callable[[], Optional[_Built]] = getattr(self, f"make_{scenario}")
        for _ in range(60):
            built = maker()
            if built is not None:
                return built
        raise RuntimeError(f"could not lay out a {scenario} shipment")

    def make_delivered(self) -> Optional[_Built]:
        p = self.plan(goods=self.rng.choice(_GOODS["international"]) if self.rng.random() < 0.03 else None)
        finish = self.rng.choices(("door", "locker", "station"), (6, 2, 2))[0]
        signer = self.rng.choices(("本人", "家人", "同事", "前台"), (7, 2, 1, 1))[0]
        steps = self.journey(p, finish=finish, signer=signer)
        last = len(steps) - 1
        return self.place(p, steps, "delivered", cut=last, anchor=last,
                          at=self.fits_window(steps, self.now - timedelta(minutes=20)), normal=True)

    def make_in_transit(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish=self.rng.choice(("door", "locker", "station")))
        k = self.rng.choice([i for i, s in enumerate(steps[:-1]) if i > 0 and s.status in _TRANSIT_CUTS])
        at = self.now - timedelta(hours=steps[k + 1].gap * self.hours(0.05, 0.95))
        return self.place(p, steps, "in_transit", cut=k, anchor=k, at=at, normal=True)

    def make_awaiting_pickup(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p)
        return self.place(p, steps, "awaiting_pickup", cut=0, anchor=0, at=self.ago(0.3, 6), normal=True)

    def make_out_for_delivery(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p)
        k = _index(steps, S.OUT_FOR_DELIVERY)
        return self.place(p, steps, "out_for_delivery", cut=k, anchor=k, at=self.today(), normal=True)

    def make_in_locker(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish="locker")
        k = _index(steps, S.IN_LOCKER)
        return self.place(p, steps, "in_locker", cut=k, anchor=k, at=self.ago(1, 40), normal=True)

    def make_at_station(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish="station")
        k = _index(steps, S.AT_STATION)
        return self.place(p, steps, "at_station", cut=k, anchor=k, at=self.ago(1, 60), normal=True)

    def make_urge(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p)
        k = _index(steps, S.AT_OUTLET)
        at = self.ago(p.dest_outlet.hours + 2, 70)
        return self.place(p, steps, "urge", cut=k, anchor=k, at=at, normal=False, on_time=False)

    def make_lost_at_outlet(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p)
        k = _index(steps, S.AT_OUTLET)
        return self.place(p, steps, "lost_at_outlet", cut=k, anchor=k, at=self.ago(73, 150), normal=False,
                          on_time=False)

    def make_weather_backlog(self) -> Optional[_Built]:
        inbound = self.rng.random() < 0.7
        p = self.plan(dest="杭州") if inbound else self.plan(origin="杭州", avoid=("杭州",))
        steps = self.journey(p)
        hubs = [i for i, s in enumerate(steps) if s.hub_arrival]
        k = hubs[-1] if inbound else hubs[0]
        at = self.between(self.weather_start + timedelta(minutes=30), self.now - timedelta(hours=48))
        return self.place(p, steps, "weather_backlog", cut=k, anchor=k, at=at, normal=False, on_time=False)

    def make_damaged(self) -> Optional[_Built]:
        rng = self.rng
        p = self.plan(kind="fragile" if rng.random() < 0.7 else None)
        if rng.random() < 0.5:
            p.insured = rng.randrange(200, 5001, 100)
        held = rng.random() < 0.5
        signer = "本人（外包装破损，已与收件人当面确认）"
        steps = self.journey(p, damage=rng.choice(("hub", "outlet")), signer=signer)
        if held:
            k = _index(steps, S.EXCEPTION)
            return self.place(p, steps, "damaged", cut=k, anchor=k, at=self.ago(4, 60), normal=False,
                              on_time=False)
        k = len(steps) - 1
        at = self.between(self.now - timedelta(days=5), self.now - timedelta(hours=6))
        return self.place(p, steps, "damaged", cut=k, anchor=k, at=at, normal=False)

    def make_signed_not_received(self) -> Optional[_Built]:
        p = self.plan()
        signer = self.rng.choice(("门卫代签", "快递柜", "驿站", "他人代签（邻居）"))
        steps = self.journey(p, finish="proxy", signer=signer)
        k = len(steps) - 1
        return self.place(p, steps, "signed_not_received", cut=k, anchor=k, at=self.ago(3, 144), normal=False)

    def make_fresh_delayed(self) -> Optional[_Built]:
        p = self.plan(kind="fresh")
        steps = self.journey(p)
        offsets = _offsets(steps)
        moving = (S.IN_TRANSIT.value, S.ARRIVED_HUB.value, S.DEPARTED_HUB.value)
        stuck = [i for i, s in enumerate(steps)
                 if i >= 3 and s.status in moving and steps[i + 1].status != S.AT_OUTLET.value]
        k = self.rng.choice(stuck)
        created = self.now - timedelta(hours=offsets[k] + self.hours(8, 60))
        promised = self.promised(p, created)
        while promised > self.now - timedelta(hours=2):
            created -= timedelta(hours=12)
            promised = self.promised(p, created)
        return self.place(p, steps, "fresh_delayed", cut=k, anchor=0, at=created, normal=False,
                          promised=promised)

    def _customs(self, scenario: str, status: Status, lo: float, hi: float, problem: Optional[str] = None):
        p = self.plan(goods=self.rng.choice(_GOODS["international"]))
        steps = self.journey(p, customs_problem=problem)
        k = _index(steps, status)
        return self.place(p, steps, scenario, cut=k, anchor=k, at=self.ago(lo, hi), normal=False)

    def make_customs_pending(self) -> Optional[_Built]:
        return self._customs("customs_pending", S.CUSTOMS_PENDING, 2, 40)

    def make_customs_processing(self) -> Optional[_Built]:
        return self._customs("customs_processing", S.CUSTOMS_PROCESSING, 3, 60)

    def make_customs_exception(self) -> Optional[_Built]:
        problem = self.rng.choice((
            "需补充收件人身份证信息，请收件人按短信提示上传身份证正反面照片",
            "申报价值不符，需补缴税款，请留意短信缴税通知",
        ))
        return self._customs("customs_exception", S.CUSTOMS_EXCEPTION, 10, 96, problem)

    def make_customs_cleared(self) -> Optional[_Built]:
        p = self.plan(goods=self.rng.choice(_GOODS["international"]))
        steps = self.journey(p)
        first = _index(steps, S.CUSTOMS_CLEARED)
        k = self.rng.choice([i for i in range(first, _index(steps, S.AT_OUTLET) + 1)])
        at = self.now - timedelta(hours=steps[k + 1].gap * self.hours(0.05, 0.95))
        return self.place(p, steps, "customs_cleared", cut=k, anchor=k, at=at, normal=False)

    def make_returned(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish="return")
        k = len(steps) - 1
        return self.place(p, steps, "returned", cut=k, anchor=k,
                          at=self.fits_window(steps, self.now - timedelta(hours=1)), normal=False)

    def make_refused(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish="refuse")
        k = len(steps) - 1
        return self.place(p, steps, "refused", cut=k, anchor=k, at=self.ago(1, 36), normal=False)

    def make_delivery_failed(self) -> Optional[_Built]:
        p = self.plan()
        steps = self.journey(p, finish="fail", attempts=2 if self.rng.random() < 0.35 else 1)
        k = len(steps) - 1
        return self.place(p, steps, "delivery_failed", cut=k, anchor=k, at=self.ago(1, 40), normal=False)

    # -- the demo stories --

    def demo(self) -> list[_Built]:
        """The fixed stories of the demo identities, each laid out until no incident contradicts it."""
        people = {i.phone: i for i in DEMO_IDENTITIES}

        def party(phone: str, address: str) -> _Party:
            return _Party(people[phone].name, phone, address)

        zhang = party("13800000001", "浙江省杭州市西湖区文三路138号翠苑小区3幢2单元501室")
        li = party("13800000002", "北京市朝阳区望京街10号望京花园东区5号楼1单元1202室")
        wang = party("13800000003", "浙江省金华市义乌市福田街道城中北路188号国际商贸城五区3楼")
        zhao = party("13800000004", "江苏省南京市鼓楼区中山北路200号紫金苑6栋302室")
        chen = party("13800000005", "四川省成都市武侯区科华北路65号锦江花园2栋1单元803室")
        sun = party(DEMO_UNBOUND_PHONE, "上海市浦东新区张江路500号玉兰苑12号楼601室")
        goods = {g.description: g for kind in _GOODS.values() for g in kind}
        now = self.now

        def ago(hours: float) -> datetime:
            return now - timedelta(hours=hours)

        def plan(number: str, carrier: Optional[str], route: str, item: str, insured: int = 0,
                 **parties) -> _Plan:
            origin, dest = route.split(">")
            return self.plan(goods=goods[item], carrier=carrier, origin=origin or None, dest=dest,
                             number=number, insured=insured, **parties)

        def lay(p: _Plan, steps: list[_Step], scenario: str, k: int, at: datetime, **options):
            return self.place(p, steps, scenario, cut=k, anchor=options.pop("anchor", k), at=at, normal=False,
                              **options)

        def story(make: Callable[[], Optional[_Built]]) -> _Built:
            for _ in range(60):
                built = make()
                if built is not None:
                    return built
            raise RuntimeError("a demo story does not fit the incidents")

        def zhang_held() -> Optional[_Built]:
            p = plan(DEMO_ZHANG_HELD, "sf", "上海>杭州", "蓝牙耳机", recipient=zhang)
            steps = self.journey(p)
            k = [i for i, s in enumerate(steps) if s.hub_arrival][-1]
            # Arrived in the first hour of the typhoon backlog, i.e. a little under three days ago.
            at = self.weather_start + timedelta(minutes=70)
            return lay(p, steps, "weather_backlog", k, at, on_time=False)

        def delivered(number: str, carrier: str, route: str, item: str, finish: str, days: float):
            def make() -> Optional[_Built]:
                p = plan(number, carrier, route, item, recipient=zhang)
                steps = self.journey(p, finish=finish)
                return lay(p, steps, "delivered", len(steps) - 1, self.ago(days * 24, days * 24 + 3))
            return make

        def li_fresh() -> Optional[_Built]:
            p = plan(DEMO_LI_FRESH, "zto", "上海>北京", "大闸蟹(8只装)", recipient=li)
            p.mid_hub = None
            steps = self.journey(p)
            k = [i for i, s in enumerate(steps) if s.hub_arrival][-1]
            created = ago(84)
            promised = self.promised(p, created)
            if created + timedelta(hours=_offsets(steps)[k]) > ago(20) or promised >= now:
                return None
            return lay(p, steps, "fresh_delayed", k, created, anchor=0, promised=promised)

        def li_out() -> Optional[_Built]:
            p = plan(DEMO_LI_OUT_FOR_DELIVERY, "yto", "广州>北京", "连衣裙", recipient=li)
            steps = self.journey(p)
            return lay(p, steps, "out_for_delivery", _index(steps, S.OUT_FOR_DELIVERY), self.today())

        def li_customs() -> Optional[_Built]:
            p = plan(DEMO_LI_CUSTOMS, None, ">北京", "奶粉(海外直邮)", 800, recipient=li, customs="上海")
            p.abroad = "AU"
            p.sender = _Party("悉尼海外直邮仓", "+61280001234", "澳大利亚悉尼国际物流园12号仓")
            steps = self.journey(p)
            return lay(p, steps, "customs_processing", _index(steps, S.CUSTOMS_PROCESSING), ago(30))

        def li_locker() -> Optional[_Built]:
            p = plan(DEMO_LI_LOCKER, "jd", "深圳>北京", "蓝牙耳机", recipient=li)
            steps = self.journey(p, finish="locker")
            return lay(p, steps, "in_locker", _index(steps, S.IN_LOCKER), ago(5))

        def wang_sent() -> Optional[_Built]:
            p = plan(DEMO_WANG_SENT_PROXY_SIGNED, "sto", "义乌>成都", "儿童书包", sender=wang)
            steps = self.journey(p, finish="proxy", signer="门卫代签")
            return lay(p, steps, "signed_not_received", len(steps) - 1, ago(50))

        def wang_urge() -> Optional[_Built]:
            p = plan(DEMO_WANG_AT_OUTLET, "yunda", "深圳>义乌", "手机壳", recipient=wang)
            steps = self.journey(p)
            return lay(p, steps, "urge", _index(steps, S.AT_OUTLET), ago(30), on_time=False)

        def zhao_lost() -> Optional[_Built]:
            p = plan(DEMO_ZHAO_LOST, "jt", "厦门>南京", "运动鞋", recipient=zhao)
            steps = self.journey(p)
            return lay(p, steps, "lost_at_outlet", _index(steps, S.AT_OUTLET), ago(96), on_time=False)

        def zhao_damaged() -> Optional[_Built]:
            p = plan(DEMO_ZHAO_DAMAGED, "ems", "南昌>南京", "陶瓷花瓶", 2000, recipient=zhao)
            steps = self.journey(p, damage="hub")
            return lay(p, steps, "damaged", _index(steps, S.EXCEPTION), ago(20), on_time=False)

        def chen_fresh() -> Optional[_Built]:
            p = plan(DEMO_CHEN_FRESH, "sf", "大连>成都", "海鲜礼盒(帝王蟹)", recipient=chen)
            steps = self.journey(p)
            k = next(i for i, s in enumerate(steps) if i > 2 and s.status == S.IN_TRANSIT.value)
            promised = now.replace(minute=0, second=0) - timedelta(days=3)
            return lay(p, steps, "fresh_delayed", k, ago(122), anchor=0, promised=promised)

        def sun_station() -> Optional[_Built]:
            p = plan(DEMO_UNBOUND_STATION, "zto", "苏州>上海", "床上四件套", recipient=sun)
            steps = self.journey(p, finish="station")
            return lay(p, steps, "at_station", _index(steps, S.AT_STATION), ago(6))

        makers = [
            zhang_held,
            delivered(DEMO_ZHANG_DELIVERED_JD, "jd", "北京>杭州", "图书", "door", 9),
            delivered(DEMO_ZHANG_DELIVERED_YTO, "yto", "义乌>杭州", "保温杯", "station", 6),
            li_fresh, li_out, li_customs, li_locker, wang_sent, wang_urge, zhao_lost, zhao_damaged,
            chen_fresh, sun_station,
        ]
        return [story(make) for make in makers]


# --- writing ---


def _allocate(total: int) -> list[str]:
    """Scenario of every random shipment: the shares, at least MIN_PER_SCENARIO each when there is room."""
    floor = min(MIN_PER_SCENARIO, max(1, total // 40))
    labels: list[str] = []
    for scenario, share in SCENARIO_SHARES.items():
        count = min(max(floor, round(share * total)), total - len(labels))
        labels.extend([scenario] * count)
    labels.extend(["delivered"] * (total - len(labels)))
    return labels


class _Seeder:
    def __init__(self, session: Session, rng: random.Random, now: datetime, shipments: int, progress: bool):
        self.session = session
        self.rng = rng
        self.now = now
        self.total = shipments
        self.progress = progress
        self.report = SeedReport(demo=[i.as_dict() for i in DEMO_IDENTITIES])
        self.facility_ids: dict[str, int] = {}

    def run(self) -> SeedReport:
        session, report = self.session, self.report
        # Seeding replaces the generated world; tickets survive with their shipment and facility links nulled.
        for table in (TrackingEvent.__table__, Shipment.__table__, Incident.__table__, Facility.__table__):
            session.execute(delete(table))

        network = _Network(self.rng)
        session.execute(insert(Facility.__table__), [f.row() for f in network.facilities])
        self.facility_ids = dict(session.execute(select(Facility.code, Facility.id)).all())
        report.facilities = len(network.facilities)

        incident_rows, disruptions = _incidents(network, self.now)
        session.execute(insert(Incident.__table__), [
            {**{k: v for k, v in row.items() if k != "code"}, "facility_id": self.facility_ids[row["code"]]}
            for row in incident_rows
        ])
        report.incidents = len(incident_rows)
        report.active_incidents = sum(1 for row in incident_rows if row["active"])

        report.customers = self._demo_customers()

        weather_start = min(row["starts_at"] for row in incident_rows if row["kind"] == "weather"
                            and row["active"])
        generator = _Generator(self.rng, self.now, network, disruptions, weather_start)
        demo = generator.demo()
        labels = _allocate(max(0, self.total - len(demo)))
        self.rng.shuffle(labels)
        report.per_carrier = dict.fromkeys(CARRIERS, 0)
        report.per_scenario = dict.fromkeys(SCENARIOS, 0)

        bar = tqdm(total=len(demo) + len(labels), desc="Seeding shipments", unit="shipment",
                   disable=not self.progress)
        try:
            batch = list(demo)
            bar.update(len(batch))
            for label in labels:
                batch.append(generator.build(label))
                bar.update(1)
                if len(batch) >= BATCH_SIZE:
                    self._write(batch)
                    batch = []
            if batch:
                self._write(batch)
        finally:
            bar.close()
        return report

    def _demo_customers(self) -> int:
        session, count = self.session, 0
        since = self.now - timedelta(days=30)
        for identity in DEMO_IDENTITIES:
            if identity.external_id is None:
                continue
            query = select(Customer).where(Customer.phone == identity.phone)
            customer = session.execute(query).scalar_one_or_none()
            if customer is None:
                customer = Customer(phone=identity.phone, name=identity.name, created_at=since)
                session.add(customer)
                session.flush()
            else:
                customer.name = identity.name
            for channel in DEMO_CHANNELS:
                binding = session.execute(select(ChannelBinding).where(
                    ChannelBinding.channel == channel, ChannelBinding.external_id == identity.external_id,
                )).scalar_one_or_none()
                if binding is None:
                    session.add(ChannelBinding(customer_id=customer.id, channel=channel,
                                               external_id=identity.external_id, created_at=since))
                else:
                    binding.customer_id = customer.id
            count += 1
        session.flush()
        return count

    def _write(self, batch: list[_Built]) -> None:
        session, report, rng = self.session, self.report, self.rng
        rows = []
        for b in batch:
            p = b.plan
            dispatched = any(s.status == S.OUT_FOR_DELIVERY.value for s in b.steps)
            rows.append({
                "tracking_number": p.number,
                "carrier": p.carrier,
                "sender_name": p.sender.name,
                "sender_phone": p.sender.phone,
                "sender_address": p.sender.address,
                "recipient_name": p.recipient.name,
                "recipient_phone": p.recipient.phone,
                "recipient_address": p.recipient.address,
                "goods_type": p.goods.kind,
                "goods_description": p.goods.description,
                "insured_value": Decimal(p.insured).quantize(Decimal("0.01")),
                "origin": p.origin_name,
                "destination": p.dest.name,
                "status": b.steps[-1].status,
                "courier_name": p.courier[0] if dispatched else None,
                "courier_phone": p.courier[1] if dispatched else None,
                "promised_delivery_at": b.promised,
                "created_at": b.times[0],
                "updated_at": b.times[-1],
            })
            report.per_carrier[p.carrier] += 1
            report.per_scenario[b.scenario] = report.per_scenario.get(b.scenario, 0) + 1
            report.active_shipments += is_active(b.steps[-1].status)
        session.execute(insert(Shipment.__table__), rows)
        numbers = [b.plan.number for b in batch]
        ids = dict(session.execute(
            select(Shipment.tracking_number, Shipment.id).where(Shipment.tracking_number.in_(numbers))
        ).all())
        events = []
        for b in batch:
            shipment_id = ids[b.plan.number]
            for step, at in zip(b.steps, b.times):
                events.append({
                    "shipment_id": shipment_id,
                    "time": at,
                    "status": step.status,
                    "location": step.location,
                    "description": step.description,
                    "facility_id": self.facility_ids[step.facility.code] if step.facility else None,
                    # Scans reach the system a little after they happen, never after `now`.
                    "received_at": min(at + timedelta(seconds=rng.randint(5, 240)), self.now),
                })
        session.execute(insert(TrackingEvent.__table__), events)
        report.shipments += len(batch)
        report.events += len(events)
