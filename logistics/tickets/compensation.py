"""Compensation terms per carrier: the liability cap of a parcel, fresh-goods remedies and claim timelines.

The table is carrier data, like the terms a carrier publishes on its waybill. Where a value could not be checked
against the carrier's current published terms it is marked as a demo assumption in `source`; operations replace
the table with the contracted terms. Money is in yuan (CNY).

Rules applied:
- Insured parcel (insured_value > 0): actual loss, capped at the insured value (basis "insured_value").
- Uninsured parcel: actual loss, capped at `fee_multiple` times the freight (basis "carrier_terms"). Shipments do
  not record the freight they paid, so the cap uses `freight_estimate`, a typical first-kilogram inter-province
  price of the carrier; the answer says so (`freight_is_estimate`).
- Fresh goods: a late delivery refunds the freight; spoilage goes through the priority claim (callback within
  1 hour, review within 24 hours).
- Timelines: review within `review_days` working days of a complete claim (Monday to Friday, China time; public
  holidays are not modelled), payment within `payout_days` calendar days of approval.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Optional

from logistics.shipments.carriers import carrier_name
from logistics.shipments.models import Shipment
from logistics.tickets.enums import TicketType
from logistics.timeutil import CST, to_iso


@dataclass(frozen=True)
class CarrierTerms:
    fee_multiple: int  # uninsured liability: actual loss up to this many times the freight
    freight_estimate: Decimal  # typical first-kg inter-province freight, since shipments hold no freight
    review_days: int  # working days to review a complete claim
    payout_days: int  # calendar days from approval to payment
    terms_summary: str  # the carrier's terms in the words customers see on the waybill
    source: str


_ASSUMED = "assumption: commonly cited e-waybill terms, not verified against the carrier's current terms"
_POSTAL = ("邮政法 第四十七条: uninsured registered items, actual loss up to 3x the postage "
           "(freight estimate and timelines: assumption)")
_TONGDA = ("{} 未保价快件按实际损失赔偿，最高不超过运费的 3 倍；保价快件按实际损失赔偿，最高不超过保价金额。"
           "资料齐全后 3 个工作日内审核，审核通过后 7 日内赔付。")

TERMS: dict[str, CarrierTerms] = {
    "sf": CarrierTerms(
        7, Decimal("23"), 2, 5,
        "顺丰速运 未保价快件按实际损失赔偿，最高不超过运费的 7 倍；保价快件按实际损失赔偿，最高不超过保价金额。"
        "资料齐全后 2 个工作日内审核，审核通过后 5 日内赔付。", _ASSUMED),
    "jd": CarrierTerms(
        5, Decimal("22"), 2, 5,
        "京东快递 未保价快件按实际损失赔偿，最高不超过运费的 5 倍；保价快件按实际损失赔偿，最高不超过保价金额。"
        "资料齐全后 2 个工作日内审核，审核通过后 5 日内赔付。", _ASSUMED),
    "ems": CarrierTerms(
        3, Decimal("20"), 3, 7,
        "EMS 未保价邮件按实际损失赔偿，最高不超过所收资费的 3 倍；保价邮件按实际损失赔偿，最高不超过保价金额。"
        "资料齐全后 3 个工作日内审核，审核通过后 7 日内赔付。", _POSTAL),
    "postb": CarrierTerms(
        3, Decimal("12"), 3, 7,
        "邮政快递包裹 未保价邮件按实际损失赔偿，最高不超过所收资费的 3 倍；保价邮件按实际损失赔偿，最高不超过保价金额。"
        "资料齐全后 3 个工作日内审核，审核通过后 7 日内赔付。", _POSTAL),
    **{code: CarrierTerms(3, Decimal("12"), 3, 7, _TONGDA.format(carrier_name(code)), _ASSUMED)
       for code in ("zto", "yto", "sto", "yunda", "jt")},
}
# A carrier missing from the table (a new code) gets the most common terms rather than an error.
DEFAULT_TERMS = CarrierTerms(
    3, Decimal("12"), 3, 7,
    "未保价快件按实际损失赔偿，最高不超过运费的 3 倍；保价快件按实际损失赔偿，最高不超过保价金额。"
    "资料齐全后 3 个工作日内审核，审核通过后 7 日内赔付。", _ASSUMED)

# Fresh goods: the remedy for a late delivery and the priority claim's promises (the ticket's 1 h SLA is the
# callback); the assistant reads these out, so they must match the priority-claim process.
FRESH_CALLBACK_HOURS = 1
FRESH_REVIEW_HOURS = 24
FRESH_TERMS = "生鲜件时效延误：退还运费；生鲜腐损：优先理赔，1 小时内回电，24 小时内完成审核。"


def terms_for(carrier: str | None) -> CarrierTerms:
    """The carrier's terms, or the default terms for a carrier the table does not know."""
    return TERMS.get(carrier or "", DEFAULT_TERMS)


def add_working_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday to Friday, China time) after a naive-UTC time, at the same time of day."""
    offset = CST.utcoffset(None)
    local = start + offset
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local - offset


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def liability(shipment: Shipment) -> dict:
    """The most the carrier owes for this parcel, on which basis, and the claim timelines."""
    terms = terms_for(shipment.carrier)
    insured_value = Decimal(shipment.insured_value or 0)
    insured = insured_value > 0
    fresh = shipment.goods_type == "fresh"
    if insured:
        max_payout, basis = insured_value, "insured_value"
    else:
        max_payout, basis = terms.freight_estimate * terms.fee_multiple, "carrier_terms"
    return {
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrier_name": carrier_name(shipment.carrier),
        "goods_type": shipment.goods_type,
        "insured": insured,
        "insured_value": _money(insured_value),
        "max_payout": _money(max_payout),
        "basis": basis,
        "fee_multiple": None if insured else terms.fee_multiple,
        "freight_estimate": None if insured else _money(terms.freight_estimate),
        "freight_is_estimate": not insured,
        "terms_summary": terms.terms_summary + (FRESH_TERMS if fresh else ""),
        # A fresh claim is reviewed within a day, so it is reported as one day.
        "review_days": 1 if fresh else terms.review_days,
        "review_unit": "working_days",
        "payout_days": terms.payout_days,
        "fresh": {
            "delay_remedy": "refund_freight",
            "priority_claim": True,
            "callback_hours": FRESH_CALLBACK_HOURS,
            "review_hours": FRESH_REVIEW_HOURS,
        } if fresh else None,
        "source": terms.source,
    }


def review_due(ticket_type: TicketType, carrier: str | None, created_at: datetime,
               sla_due_at: datetime) -> datetime:
    """When the claim's review is due: 24 h for fresh priority claims; after the investigation for lost parcels."""
    terms = terms_for(carrier)
    if ticket_type == TicketType.FRESH_PRIORITY_CLAIM:
        return created_at + timedelta(hours=FRESH_REVIEW_HOURS)
    if ticket_type == TicketType.LOST_INVESTIGATION:
        # A parcel is declared lost only when the investigation (the ticket's SLA) ends; the review follows.
        return add_working_days(sla_due_at, terms.review_days)
    return add_working_days(created_at, terms.review_days)


def payout_due(carrier: str | None, approved_at: datetime) -> datetime:
    """When the money is due once a claim is approved (or expected to be)."""
    return approved_at + timedelta(days=terms_for(carrier).payout_days)


def claim_fields(shipment: Shipment, ticket_type: TicketType, created_at: datetime,
                 sla_due_at: datetime) -> dict:
    """The `claim` block stored in a claim ticket's details when it is created."""
    terms = liability(shipment)
    review = review_due(ticket_type, shipment.carrier, created_at, sla_due_at)
    return {
        "max_payout": terms["max_payout"],
        "basis": terms["basis"],
        "review_due_at": to_iso(review),
        "expected_payout_at": to_iso(payout_due(shipment.carrier, review)),
    }


def max_payout_of(details: Optional[dict]) -> Optional[float]:
    """The cap recorded on a claim ticket, if any."""
    claim = (details or {}).get("claim")
    return claim.get("max_payout") if isinstance(claim, dict) else None
