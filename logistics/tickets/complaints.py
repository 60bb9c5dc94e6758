"""Complaint categories (codes fixed in DESIGN.md, Chinese labels ours): what a delivery-service complaint is about.

Operations count them by area, outlet and route (logistics/analytics). The assistant recognises them in the
user's words (actions/complaints.py holds the everyday phrasings; tests keep both lists in step). Codes used before
the DESIGN codes were fixed are still accepted from older action servers and stored under the new code.
"""
from __future__ import annotations

# code -> label, in the order the dashboard lists them.
COMPLAINT_LABEL = {
    "locker_no_notice": "放柜/驿站未通知",
    "no_door_delivery": "不送货上门",
    "fake_signature": "虚假签收",
    "courier_attitude": "快递员态度差",
    "rough_handling": "暴力分拣/野蛮投递",
    "delay": "派送延误",
    "lost": "丢件",
    "extra_fee": "额外收费",
    "no_call": "派送前不打电话",
    "left_unattended": "放门口被拿",
    "pickup_code_missing": "没收到取件码",
    "outlet_unreachable": "网点/驿站联系不上",
    "wrong_delivery": "送错地址",
    "fake_attempt": "谎报派送失败",
    "other": "其他服务问题",
}
COMPLAINT_CODES = tuple(COMPLAINT_LABEL)

# Codes of the first version (actions/problems.py before #17) -> DESIGN codes.
LEGACY_CODES = {
    "locker_without_notice": "locker_no_notice",
    "refused_door_delivery": "no_door_delivery",
    "attitude": "courier_attitude",
    "fees": "extra_fee",
}


def canonical(code: object) -> str | None:
    """The DESIGN code for a code or a legacy one; None when unknown."""
    if not isinstance(code, str):
        return None
    code = LEGACY_CODES.get(code, code)
    return code if code in COMPLAINT_LABEL else None
