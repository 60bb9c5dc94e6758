"""Internal shipment status model and the tables mapping Kuaidi100, 17TRACK and AfterShip codes onto it."""
from __future__ import annotations

import enum


class Status(str, enum.Enum):
    CREATED = "created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    ARRIVED_HUB = "arrived_hub"
    DEPARTED_HUB = "departed_hub"
    AT_OUTLET = "at_outlet"
    OUT_FOR_DELIVERY = "out_for_delivery"
    IN_LOCKER = "in_locker"
    AT_STATION = "at_station"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    REFUSED = "refused"
    RETURNING = "returning"
    RETURNED = "returned"
    CUSTOMS_PENDING = "customs_pending"
    CUSTOMS_PROCESSING = "customs_processing"
    CUSTOMS_CLEARED = "customs_cleared"
    CUSTOMS_EXCEPTION = "customs_exception"
    EXCEPTION = "exception"
    LOST = "lost"


FAMILIES = ("pre_transit", "in_transit", "last_mile", "pickup", "delivered", "problem", "return", "customs")

FAMILY: dict[Status, str] = {
    Status.CREATED: "pre_transit",
    # Once the courier has scanned the parcel it is physically in the network, as AfterShip also counts it.
    Status.PICKED_UP: "in_transit",
    Status.IN_TRANSIT: "in_transit",
    Status.ARRIVED_HUB: "in_transit",
    Status.DEPARTED_HUB: "in_transit",
    Status.AT_OUTLET: "last_mile",
    Status.OUT_FOR_DELIVERY: "last_mile",
    Status.IN_LOCKER: "pickup",
    Status.AT_STATION: "pickup",
    Status.DELIVERED: "delivered",
    Status.DELIVERY_FAILED: "problem",
    Status.EXCEPTION: "problem",
    Status.LOST: "problem",
    # A refusal always ends with the parcel going back to the sender, so it is answered as a return.
    Status.REFUSED: "return",
    Status.RETURNING: "return",
    Status.RETURNED: "return",
    Status.CUSTOMS_PENDING: "customs",
    Status.CUSTOMS_PROCESSING: "customs",
    Status.CUSTOMS_CLEARED: "customs",
    Status.CUSTOMS_EXCEPTION: "customs",
}

# The short names carriers show on their own tracking pages (Kuaidi100's wording); data, not assistant phrasing.
LABEL: dict[Status, str] = {
    Status.CREATED: "已下单",
    Status.PICKED_UP: "已揽收",
    Status.IN_TRANSIT: "运输中",
    Status.ARRIVED_HUB: "到达转运中心",
    Status.DEPARTED_HUB: "离开转运中心",
    Status.AT_OUTLET: "到达网点",
    Status.OUT_FOR_DELIVERY: "派送中",
    Status.IN_LOCKER: "已入柜",
    Status.AT_STATION: "待取件",
    Status.DELIVERED: "已签收",
    Status.DELIVERY_FAILED: "派送失败",
    Status.REFUSED: "拒收",
    Status.RETURNING: "退回中",
    Status.RETURNED: "已退回",
    Status.CUSTOMS_PENDING: "待清关",
    Status.CUSTOMS_PROCESSING: "清关中",
    Status.CUSTOMS_CLEARED: "已清关",
    Status.CUSTOMS_EXCEPTION: "清关异常",
    Status.EXCEPTION: "异常",
    Status.LOST: "丢失",
}

TERMINAL: frozenset[Status] = frozenset({Status.DELIVERED, Status.RETURNED, Status.LOST})


def is_active(status: Status | str) -> bool:
    """True while the shipment can still change; accepts a Status or its string value."""
    return Status(status) not in TERMINAL


class UnknownStatusCode(ValueError):
    """A provider sent a main status code this module has no row for."""

    def __init__(self, provider: str, code: object) -> None:
        super().__init__(f"unknown {provider} status code: {code!r}")
        self.provider = provider
        self.code = code


# --- Kuaidi100 ---
# Source: Kuaidi100 实时快递查询接口, table "运单快递状态(state)说明". Without resultv2 `state`
# carries one of the main codes; with resultv2=4 (高级物流状态) Kuaidi100 reports the advanced code,
# which is keyed here under its main code. 10-13 appear twice on purpose: older documentation lists
# them as main states, newer as sub-states of 8 (清关); 14 is both a main state and a sub-state of 4 (退签).
# Codes such as 211 (已放入快递柜或驿站) or 311 that circulate in blog posts belong to Kdniao (快递鸟), not to
# Kuaidi100, whose 2xx codes are the 疑难 family; Kuaidi100's locker/station code is 501.
KUAIDI100_STATES: dict[tuple[int, int | None], Status] = {
    (0, None): Status.IN_TRANSIT,  # 在途
    (0, 1001): Status.ARRIVED_HUB,  # 到达派件城市: reached the recipient's city
    (0, 1002): Status.IN_TRANSIT,  # 干线
    (0, 1003): Status.IN_TRANSIT,  # 转递: forwarded to a new address
    (1, None): Status.PICKED_UP,  # 揽收
    (1, 101): Status.CREATED,  # 已下单
    (1, 102): Status.CREATED,  # 待揽收
    (1, 103): Status.PICKED_UP,  # 已揽收
    (2, None): Status.EXCEPTION,  # 疑难
    (2, 201): Status.DELIVERY_FAILED,  # 超时未签收: out for delivery long ago, never signed
    (2, 202): Status.EXCEPTION,  # 超时未更新: stalled; not declared lost until the carrier says so
    (2, 203): Status.REFUSED,  # 拒收: recipient refused, awaiting the sender's confirmation
    (2, 204): Status.DELIVERY_FAILED,  # 派件异常
    # 205 柜或驿站超时未取: the parcel still waits to be collected, which is what the customer must act on.
    (2, 205): Status.IN_LOCKER,
    (2, 206): Status.DELIVERY_FAILED,  # 无法联系
    (2, 207): Status.EXCEPTION,  # 超区: outside the carrier's delivery area
    (2, 208): Status.EXCEPTION,  # 滞留
    (2, 209): Status.EXCEPTION,  # 破损
    (2, 210): Status.EXCEPTION,  # 销单: sender asked to cancel; not final until confirmed
    (3, None): Status.DELIVERED,  # 签收
    (3, 301): Status.DELIVERED,  # 本人签收
    (3, 302): Status.DELIVERED,  # 派件异常后签收
    (3, 303): Status.DELIVERED,  # 代签
    (3, 304): Status.DELIVERED,  # 投柜或站签收: collected from the locker or station, so it is done
    (4, None): Status.RETURNED,  # 退签
    # 401 已销单 (waybill cancelled) has no own status; Kuaidi100 files it under 退签, and like a
    # return it is final.
    (4, 401): Status.RETURNED,
    (4, 14): Status.REFUSED,  # 拒签
    (5, None): Status.OUT_FOR_DELIVERY,  # 派件
    # 501 投柜或驿站 does not say which of the two; the locker is chosen, both belong to the "pickup" family.
    (5, 501): Status.IN_LOCKER,
    (6, None): Status.RETURNING,  # 退回
    (7, None): Status.IN_TRANSIT,  # 转投: handed to another carrier, still moving
    (8, None): Status.CUSTOMS_PROCESSING,  # 清关
    (8, 10): Status.CUSTOMS_PENDING,  # 待清关
    (8, 11): Status.CUSTOMS_PROCESSING,  # 清关中
    (8, 12): Status.CUSTOMS_CLEARED,  # 已清关
    (8, 13): Status.CUSTOMS_EXCEPTION,  # 清关异常
    (10, None): Status.CUSTOMS_PENDING,
    (11, None): Status.CUSTOMS_PROCESSING,
    (12, None): Status.CUSTOMS_CLEARED,
    (13, None): Status.CUSTOMS_EXCEPTION,
    (14, None): Status.REFUSED,  # 拒签
}

# Advanced codes reported in `state` itself (resultv2=4) are resolved through their main code.
_KUAIDI100_PARENT: dict[int, int] = {
    sub: main for (main, sub) in KUAIDI100_STATES if sub is not None and (sub, None) not in KUAIDI100_STATES
}


def _numeric_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


def from_kuaidi100(state: int | str, sub_state: int | str | None = None) -> Status:
    """Map a Kuaidi100 `state` (int or numeric string) and optional advanced code to a Status.

    An unknown or malformed sub-state falls back to the main state; an unknown main state raises
    UnknownStatusCode. An advanced code passed as `state` (as resultv2=4 reports it) is accepted too.
    """
    main = _numeric_code(state)
    if main is None:
        raise UnknownStatusCode("kuaidi100", state)
    if (main, None) not in KUAIDI100_STATES:
        parent = _KUAIDI100_PARENT.get(main)
        if parent is None:
            raise UnknownStatusCode("kuaidi100", state)
        return KUAIDI100_STATES[(parent, main)]
    sub = _numeric_code(sub_state)
    return KUAIDI100_STATES.get((main, sub), KUAIDI100_STATES[(main, None)])


# --- 17TRACK ---
# Source: 17TRACK API v2 `latest_status.status` / `sub_status`. Sub-status names carry their main
# status as prefix; InfoReceived is the one main status whose only sub-status repeats its own name.
TRACK17_STATUSES: dict[tuple[str, str | None], Status] = {
    ("NotFound", None): Status.CREATED,  # no scan yet: usually the label exists but nothing was handed over
    ("NotFound", "NotFound_Other"): Status.CREATED,
    # The carrier rejects the number outright; a person has to check it, so it is a problem, not "not yet".
    ("NotFound", "NotFound_InvalidCode"): Status.EXCEPTION,
    ("InfoReceived", None): Status.CREATED,
    ("InfoReceived", "InfoReceived"): Status.CREATED,
    ("InTransit", None): Status.IN_TRANSIT,
    ("InTransit", "InTransit_PickedUp"): Status.PICKED_UP,
    ("InTransit", "InTransit_Departure"): Status.DEPARTED_HUB,  # left the origin country's port
    ("InTransit", "InTransit_Arrival"): Status.ARRIVED_HUB,  # reached the destination country's port
    ("InTransit", "InTransit_CustomsProcessing"): Status.CUSTOMS_PROCESSING,
    ("InTransit", "InTransit_CustomsReleased"): Status.CUSTOMS_CLEARED,
    # Customs is blocked until someone supplies documents: that needs action, not waiting.
    ("InTransit", "InTransit_CustomsRequiringInformation"): Status.CUSTOMS_EXCEPTION,
    ("InTransit", "InTransit_Other"): Status.IN_TRANSIT,
    # Expired: no update for a long time; treated as a problem to chase, not yet as lost.
    ("Expired", None): Status.EXCEPTION,
    ("Expired", "Expired_Other"): Status.EXCEPTION,
    ("AvailableForPickup", None): Status.AT_STATION,
    ("AvailableForPickup", "AvailableForPickup_Other"): Status.AT_STATION,
    ("OutForDelivery", None): Status.OUT_FOR_DELIVERY,
    ("OutForDelivery", "OutForDelivery_Other"): Status.OUT_FOR_DELIVERY,
    ("DeliveryFailure", None): Status.DELIVERY_FAILED,
    ("DeliveryFailure", "DeliveryFailure_Other"): Status.DELIVERY_FAILED,
    ("DeliveryFailure", "DeliveryFailure_NoBody"): Status.DELIVERY_FAILED,
    ("DeliveryFailure", "DeliveryFailure_Security"): Status.DELIVERY_FAILED,
    ("DeliveryFailure", "DeliveryFailure_Rejected"): Status.REFUSED,
    ("DeliveryFailure", "DeliveryFailure_InvalidAddress"): Status.DELIVERY_FAILED,
    ("Delivered", None): Status.DELIVERED,
    ("Delivered", "Delivered_Other"): Status.DELIVERED,
    ("Exception", None): Status.EXCEPTION,
    ("Exception", "Exception_Other"): Status.EXCEPTION,
    ("Exception", "Exception_Returning"): Status.RETURNING,
    ("Exception", "Exception_Returned"): Status.RETURNED,
    ("Exception", "Exception_NoBody"): Status.EXCEPTION,  # recipient data found wrong before delivery
    ("Exception", "Exception_Security"): Status.EXCEPTION,
    ("Exception", "Exception_Damage"): Status.EXCEPTION,
    ("Exception", "Exception_Rejected"): Status.REFUSED,
    ("Exception", "Exception_Delayed"): Status.EXCEPTION,
    ("Exception", "Exception_Lost"): Status.LOST,
    # A destroyed parcel will never arrive either; for the customer it is handled like a lost one.
    ("Exception", "Exception_Destroyed"): Status.LOST,
    ("Exception", "Exception_Cancel"): Status.EXCEPTION,
}


# --- AfterShip ---
# Source: AfterShip Tracking "Delivery Statuses" (tags) and "Delivery Sub-statuses" (subtags).
# Subtags added later (e.g. Exception_014 onwards) are left out on purpose and fall back to their tag.
AFTERSHIP_TAGS: dict[tuple[str, str | None], Status] = {
    ("Pending", None): Status.CREATED,
    ("Pending", "Pending_001"): Status.CREATED,
    ("Pending", "Pending_002"): Status.CREATED,
    ("Pending", "Pending_003"): Status.CREATED,
    ("Pending", "Pending_004"): Status.CREATED,
    ("Pending", "Pending_005"): Status.CREATED,
    ("Pending", "Pending_006"): Status.CREATED,
    ("InfoReceived", None): Status.CREATED,
    ("InfoReceived", "InfoReceived_001"): Status.CREATED,
    ("InTransit", None): Status.IN_TRANSIT,
    ("InTransit", "InTransit_001"): Status.IN_TRANSIT,  # on the way
    ("InTransit", "InTransit_002"): Status.PICKED_UP,  # acceptance scan
    ("InTransit", "InTransit_003"): Status.ARRIVED_HUB,  # arrival scan at a hub or sorting center
    ("InTransit", "InTransit_004"): Status.ARRIVED_HUB,  # arrived in the destination country
    ("InTransit", "InTransit_005"): Status.CUSTOMS_CLEARED,
    ("InTransit", "InTransit_006"): Status.CUSTOMS_PROCESSING,  # handed over to customs
    ("InTransit", "InTransit_007"): Status.DEPARTED_HUB,  # departure scan
    ("InTransit", "InTransit_008"): Status.IN_TRANSIT,  # problem resolved
    ("InTransit", "InTransit_009"): Status.IN_TRANSIT,  # forwarded to a different address
    ("OutForDelivery", None): Status.OUT_FOR_DELIVERY,
    ("OutForDelivery", "OutForDelivery_001"): Status.OUT_FOR_DELIVERY,
    ("OutForDelivery", "OutForDelivery_003"): Status.OUT_FOR_DELIVERY,  # customer contacted before delivery
    ("OutForDelivery", "OutForDelivery_004"): Status.OUT_FOR_DELIVERY,  # delivery appointment scheduled
    ("AttemptFail", None): Status.DELIVERY_FAILED,
    ("AttemptFail", "AttemptFail_001"): Status.DELIVERY_FAILED,
    ("AttemptFail", "AttemptFail_002"): Status.DELIVERY_FAILED,  # addressee not available
    ("AttemptFail", "AttemptFail_003"): Status.DELIVERY_FAILED,  # business closed
    ("Delivered", None): Status.DELIVERED,
    ("Delivered", "Delivered_001"): Status.DELIVERED,
    ("Delivered", "Delivered_002"): Status.DELIVERED,  # picked up by the customer
    ("Delivered", "Delivered_003"): Status.DELIVERED,  # signed by the customer
    ("Delivered", "Delivered_004"): Status.DELIVERED,  # cash on delivery collected
    ("Delivered", "Delivered_005"): Status.DELIVERED,  # delivered to a neighbour
    ("AvailableForPickup", None): Status.AT_STATION,
    ("AvailableForPickup", "AvailableForPickup_001"): Status.AT_STATION,
    ("Exception", None): Status.EXCEPTION,
    ("Exception", "Exception_001"): Status.EXCEPTION,
    ("Exception", "Exception_002"): Status.DELIVERY_FAILED,  # customer moved
    ("Exception", "Exception_003"): Status.REFUSED,
    ("Exception", "Exception_004"): Status.CUSTOMS_EXCEPTION,  # delayed in customs clearance
    ("Exception", "Exception_005"): Status.EXCEPTION,  # delayed by external factors
    ("Exception", "Exception_006"): Status.EXCEPTION,  # held for payment
    ("Exception", "Exception_007"): Status.DELIVERY_FAILED,  # incorrect address
    # Exception_008 "pick up missed": still waiting at the pickup point, same reasoning as Kuaidi100 205.
    ("Exception", "Exception_008"): Status.AT_STATION,
    ("Exception", "Exception_009"): Status.EXCEPTION,  # rejected by the carrier
    ("Exception", "Exception_010"): Status.RETURNING,
    ("Exception", "Exception_011"): Status.RETURNED,
    ("Exception", "Exception_012"): Status.EXCEPTION,  # damaged
    ("Exception", "Exception_013"): Status.LOST,
    ("Expired", None): Status.EXCEPTION,  # no tracking information for 30 days
    ("Expired", "Expired_001"): Status.EXCEPTION,
}


def _name_code(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _from_named_table(
    provider: str, table: dict[tuple[str, str | None], Status], status: object, sub_status: object
) -> Status:
    main = _name_code(status)
    if main is None or (main, None) not in table:
        raise UnknownStatusCode(provider, status)
    return table.get((main, _name_code(sub_status)), table[(main, None)])


def from_17track(status: str, sub_status: str | None = None) -> Status:
    """Map a 17TRACK status and optional sub-status; unknown sub-statuses fall back to the status."""
    return _from_named_table("17track", TRACK17_STATUSES, status, sub_status)


def from_aftership(tag: str, subtag: str | None = None) -> Status:
    """Map an AfterShip tag and optional subtag; unknown subtags fall back to the tag."""
    return _from_named_table("aftership", AFTERSHIP_TAGS, tag, subtag)
