"""Tags of a ticket for analysis, written as an analytics_events row in the ticket's own transaction.

Where each tag comes from (ANALYTICS.md has the whole table):
- category: the complaint's category (details.category, DESIGN codes) or the process (urge, lost, fresh_delay...);
- carrier, goods_type: the shipment; province/city/district/小区: the recipient's address (where it is delivered);
- outlet: the last delivery-side facility scanned (outlet, station, locker); hub: the last hub scanned;
  route: the first hub -> the last hub of the trajectory;
- channel: the channel the conversation is bound on, else details.channel (the action server sends it);
- time: the ticket's creation; outcome: ticket_opened, handed_off for a handoff (rating filled in later by the
  analytics run from the handoff's rating).
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics.analytics import address
from logistics.analytics.models import AnalyticsEvent
from logistics.customers.models import ChannelBinding
from logistics.phones import mask_phones_in_text
from logistics.shipments.models import Shipment
from logistics.tickets.complaints import canonical
from logistics.tickets.models import Ticket

DELIVERY_SIDE = ("outlet", "station", "locker")
# Tickets that are not a customer's problem are not counted.
NOT_COUNTED = frozenset({"ops_alert"})
CHANNELS = ("rest", "socketio", "wechat", "cmdline")


def category_of(ticket_type: str, details: dict, goods_type: Optional[str]) -> tuple[str, str]:
    """(kind, category) of a ticket: complaints by their category; other processes by the problem they handle."""
    if ticket_type == "complaint":
        return "complaint", canonical(details.get("category")) or "other"
    reason = details.get("reason")
    if ticket_type == "fresh_priority_claim":
        return "problem", "fresh_delay"
    if ticket_type == "lost_investigation":
        return "problem", "lost"
    if ticket_type == "outlet_verification":
        return "problem", "signed_not_received" if reason == "signed_not_received" else "outlet_verification"
    if ticket_type == "claim":
        return "problem", "damaged" if reason == "damaged" else "claim"
    if ticket_type == "handoff":
        return "problem", "handoff"
    return "problem", ticket_type  # urge, address_change, callback


def shipment_tags(shipment: Optional[Shipment]) -> dict:
    """Carrier, goods, the delivery address's place, the outlet, the last hub and the route of a shipment."""
    if shipment is None:
        return {}
    place = address.parse(shipment.recipient_address)
    tags = {"carrier": shipment.carrier, "goods_type": shipment.goods_type, "province": place.province,
            "city": place.city or (shipment.destination + "市" if shipment.destination else None),
            "district": place.district, "community": place.community}
    facilities = [e.facility for e in shipment.events if e.facility is not None]
    hubs = [f for f in facilities if f.kind == "hub"]
    outlets = [f for f in facilities if f.kind in DELIVERY_SIDE]
    if outlets:
        tags.update(outlet_code=outlets[-1].code, outlet_name=outlets[-1].name)
    if hubs:
        tags.update(hub_code=hubs[-1].code, hub_name=hubs[-1].name)
        first, last = hubs[0], hubs[-1]
        tags.update(route=f"{first.code}>{last.code}"[:80], route_name=f"{first.name}→{last.name}"[:250])
    return tags


def _channel(session: Session, ticket: Ticket, details: dict) -> Optional[str]:
    if ticket.conversation_id:
        bound = session.execute(select(ChannelBinding.channel).where(
            ChannelBinding.external_id == ticket.conversation_id).limit(1)).scalar_one_or_none()
        if bound:
            return bound
    channel = details.get("channel")
    return channel if channel in CHANNELS else None


def record_ticket(*, session: Session, ticket: Ticket, shipment: Optional[Shipment]) -> Optional[AnalyticsEvent]:
    """The ticket's analytics row (once: the source key is unique)."""
    if ticket.type in NOT_COUNTED:
        return None
    details = ticket.details or {}
    tags = shipment_tags(shipment)
    kind, category = category_of(ticket.type, details, tags.get("goods_type"))
    said = details.get("user_said")
    row = AnalyticsEvent(
        source_key=f"ticket:{ticket.id}", source="ticket", occurred_at=ticket.created_at, kind=kind,
        category=category, intent=details.get("intent") if isinstance(details.get("intent"), str) else None,
        ticket_type=ticket.type, ticket_id=ticket.id, conversation_id=ticket.conversation_id,
        tracking_number=ticket.tracking_number, channel=_channel(session, ticket, details),
        outcome="handed_off" if ticket.type == "handoff" else "ticket_opened",
        example=(mask_phones_in_text(said) or "")[:200] if isinstance(said, str) else None,
        **tags)
    if row.intent:
        row.intent = row.intent[:40]
    session.add(row)
    session.flush()
    return row
