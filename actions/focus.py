"""Which parcel a message is about: the one named (goods, carrier, place, status, last digits, ordinal), the one
the problem points at (a sender's 已签收 → the signed one, 丢了 → the longest silence, 碎了 → the delivered fragile
one), else the parcel already in focus. The chooser is the last resort, and only among what is still ambiguous."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk import Tracker

ORDINALS = {"第一": 0, "第1": 0, "头一": 0, "第二": 1, "第2": 1, "第三": 2, "第3": 2, "第四": 3, "第4": 3,
            "最后": -1}
SWITCH_WORDS = ("另一个", "另外一个", "另1个", "别的那个", "另一件", "另外那个", "另一单", "另外一单")
# Everyday names of goods categories (a user says 螃蟹 for 大闸蟹, 衣服 for 连衣裙).
GOODS_WORDS = {
    "fresh": ("生鲜", "海鲜", "水果", "冷链", "冻品", "螃蟹", "大闸蟹", "蟹", "车厘子", "肉", "虾", "鱼"),
    "fragile": ("易碎", "玻璃", "瓷", "花瓶", "杯子", "碗"),
    "international": ("国际", "海外", "进口", "清关", "直邮", "跨境", "海关"),
    "document": ("文件", "合同", "证件", "材料"),
}
ALIASES = {
    "蟹": ("蟹",), "螃蟹": ("蟹",), "衣服": ("裙", "衣", "裤", "衫", "外套"), "裙子": ("裙",), "鞋": ("鞋",),
    "耳机": ("耳机",), "手机": ("手机",), "奶粉": ("奶粉",), "花瓶": ("瓶",), "电脑": ("电脑", "笔记本"),
    "书": ("书",), "药": ("药",), "水果": ("果", "橙", "苹果", "车厘子", "樱桃"), "茶": ("茶",), "酒": ("酒",),
}
STATUS_WORDS = {
    "派送": {"out_for_delivery"}, "在派": {"out_for_delivery"}, "入柜": {"in_locker"}, "快递柜": {"in_locker"},
    "丰巢": {"in_locker"}, "柜子": {"in_locker"}, "驿站": {"at_station"}, "代收点": {"at_station"},
    "清关": {"customs_pending", "customs_processing", "customs_exception", "customs_cleared"},
    "海关": {"customs_pending", "customs_processing", "customs_exception"},
    "签收": {"delivered"}, "到网点": {"at_outlet"}, "营业部": {"at_outlet"}, "转运": {"arrived_hub", "departed_hub"},
    "中转": {"arrived_hub", "departed_hub", "in_transit"}, "退回": {"returning", "returned"},
}
SIGNED = {"delivered", "in_locker", "at_station"}
FOUR_DIGITS = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
_STOP = set("的了吗呢吧啊那个这一我是在")


def text_of(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def goods_word(shipment: Dict[str, Any]) -> str:
    """大闸蟹(8只装) → 大闸蟹: what a user would call the goods."""
    description = shipment.get("goods_description") or ""
    return re.split(r"[（(【\[，, ]", description, maxsplit=1)[0].strip()


def _bigrams(text: str) -> set:
    chars = [c for c in text if "\u4e00" <= c <= "\u9fff" and c not in _STOP]
    return {a + b for a, b in zip(chars, chars[1:])}


def _goods_score(text: str, shipment: Dict[str, Any]) -> int:
    description = goods_word(shipment)
    score = 0
    if description and (_bigrams(description) & _bigrams(text) or description in text):
        score += 3
    for word, parts in ALIASES.items():
        if word in text and any(p in description for p in parts):
            score += 3
            break
    for goods_type, words in GOODS_WORDS.items():
        if any(w in text for w in words) and (shipment.get("goods_type") == goods_type
                                              or any(w in description for w in words)):
            score += 1
            break
    return score


def pick_by_words(tracker: Tracker, shipments: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The shipments a message names; all of them when it names none."""
    text = text_of(tracker)
    if not shipments:
        return shipments
    for word, index in ORDINALS.items():
        if word in text:
            return [shipments[index if index < len(shipments) else -1]]
    digits = re.fullmatch(r"\s*([1-9])\s*", text)
    if digits and int(digits.group(1)) <= len(shipments):
        return [shipments[int(digits.group(1)) - 1]]
    tails = set(FOUR_DIGITS.findall(text))
    carrier = next(tracker.get_latest_entity_values("carrier"), None)
    places = list(tracker.get_latest_entity_values("location"))
    scored = []
    for shipment in shipments:
        score = _goods_score(text, shipment)
        number = shipment["tracking_number"]
        if any(number.endswith(t) for t in tails):
            score += 4
        if carrier and shipment.get("carrier") == carrier:
            score += 2
        name = shipment.get("carrier_name") or ""
        if name and name[:2] in text:
            score += 2
        for city in {shipment.get("origin"), shipment.get("destination")} - {None, ""}:
            if city in text or any(city in p or p in city for p in places if p):
                score += 2
        status = shipment.get("status")
        if any(word in text and status in statuses for word, statuses in STATUS_WORDS.items()):
            score += 1
        scored.append((score, shipment))
    best = max(score for score, _ in scored)
    if best == 0:
        return shipments
    return [shipment for score, shipment in scored if score == best]


def _silence_hours(shipment: Dict[str, Any]) -> float:
    last = (shipment.get("last_event") or {}).get("time")
    if not last:
        return 0.0
    return (datetime.now(timezone.utc) - datetime.fromisoformat(last)).total_seconds() / 3600


def pick_by_problem(problem: Optional[str], text: str, shipments: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The parcels the reported problem fits, best first; all of them when the problem says nothing."""
    if not shipments or not problem:
        return shipments
    sender_side = any(w in text for w in ("买家", "客户", "顾客", "收件人", "我寄的", "我发的", "发出去"))
    pool = [s for s in shipments if s.get("role") == "sender"] if sender_side else shipments
    pool = pool or shipments
    if problem == "signed_not_received" or "签收" in text and problem in ("report_lost", None):
        return [s for s in pool if s.get("status") in SIGNED] or pool
    if problem == "report_damaged":
        delivered = [s for s in pool if s.get("status") in SIGNED]
        fragile = [s for s in delivered if s.get("goods_type") == "fragile"]
        return fragile or delivered or pool
    if problem == "report_lost":
        active = [s for s in pool if s.get("active")] or pool
        longest = max(_silence_hours(s) for s in active)
        return [s for s in active if _silence_hours(s) == longest]
    if problem == "report_delay":
        active = [s for s in pool if s.get("active")] or pool
        return [s for s in active if s.get("goods_type") == "fresh"] or active
    if problem == "customs_inquiry":
        return [s for s in pool if (s.get("status") or "").startswith("customs")
                or s.get("goods_type") == "international"] or pool
    if problem == "urge_delivery":
        return [s for s in pool if s.get("active")] or pool
    return pool


def narrower(picked: List[Dict[str, Any]], pool: List[Dict[str, Any]]) -> bool:
    return 0 < len(picked) < len(pool)


def hint_slots(shown: Iterable[Dict[str, Any]]) -> Dict[str, str]:
    """Chooser hints taken from the user's own parcels: a goods word and an origin they could name."""
    shown = list(shown)
    goods = next((goods_word(s) for s in shown if goods_word(s)), "") or next(
        (s.get("carrier_name") or "" for s in shown if s.get("carrier_name")), "")
    places = [s.get("origin") for s in shown if s.get("origin")]
    place = next((p for p in places if places.count(p) == 1), places[0] if places else "")
    return {"choice_hint_goods": goods, "choice_hint_place": place}
