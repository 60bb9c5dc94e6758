"""Carrier registry: the normalised codes and the names customers know them by."""
from __future__ import annotations

# Display names are carrier data (as Kuaidi100 returns them), not assistant phrasing.
CARRIER_NAMES = {
    "sf": "顺丰速运",
    "zto": "中通快递",
    "yto": "圆通速递",
    "sto": "申通快递",
    "yunda": "韵达快递",
    "jd": "京东快递",
    "jt": "极兔速递",
    "ems": "EMS",
    "postb": "邮政快递包裹",
}


def carrier_name(code: str | None) -> str | None:
    """The customer-facing name of a carrier code."""
    return CARRIER_NAMES.get(code or "", code)
