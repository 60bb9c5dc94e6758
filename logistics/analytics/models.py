"""Tables of operations analytics: one tagged row per ticket or handled conversation, and the alerts."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Index, Integer, String

from logistics.db import Base
from logistics.timeutil import utcnow


class AnalyticsEvent(Base):
    """A ticket or a handled conversation with every tag analysis groups by (ANALYTICS.md says where each comes
    from). Denormalised on purpose: the detectors and reports read this one table by time range."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        Index("ix_analytics_events_time", "occurred_at"),
        Index("ix_analytics_events_category_time", "category", "occurred_at"),
        Index("ix_analytics_events_area_time", "community", "occurred_at"),
        Index("ix_analytics_events_outlet_time", "outlet_code", "occurred_at"),
        Index("ix_analytics_events_route_time", "route", "occurred_at"),
    )

    id = Column(Integer, primary_key=True)
    # ticket:<id>, handoff:<id>, conversation:<sender>:<session start>, demo:<n>: one row per source record.
    source_key = Column(String(200), nullable=False, unique=True)
    source = Column(String(16), nullable=False)  # ticket, conversation, demo, synthetic
    occurred_at = Column(DateTime, nullable=False)
    # complaint (a delivery-service complaint), problem (urge, lost, delay...), inquiry (a question answered)
    kind = Column(String(16), nullable=False)
    # The complaint category (DESIGN codes) or the problem (urge, lost, fresh_delay, damaged...) or the intent.
    category = Column(String(32), nullable=False)
    intent = Column(String(40))
    ticket_type = Column(String(32))
    ticket_id = Column(Integer)
    conversation_id = Column(String(128))
    tracking_number = Column(String(40))
    carrier = Column(String(16))
    province = Column(String(40))
    city = Column(String(40))
    district = Column(String(40))
    # The 小区 (residential estate or office building) of the delivery address; area = city + district + 小区.
    community = Column(String(60))
    outlet_code = Column(String(32))
    outlet_name = Column(String(120))
    hub_code = Column(String(32))
    hub_name = Column(String(120))
    # Origin hub -> destination hub, codes ("HUB-SH-01>HUB-HZ-01") and names ("上海转运中心→杭州萧山中转场").
    route = Column(String(80))
    route_name = Column(String(250))
    goods_type = Column(String(16))
    channel = Column(String(16))
    # bot_resolved, ticket_opened, handed_off, abandoned
    outcome = Column(String(16))
    rating = Column(Integer)
    # The user's words (masked), shown as example conversations in an alert's evidence.
    example = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Alert(Base):
    """A spike or a concentration the detectors found. One per signal while it lasts: later runs update its figures;
    it resolves when the signal is gone. Its ops_alert ticket goes to the responsible outlet or route owner."""

    __tablename__ = "analytics_alerts"
    __table_args__ = (Index("ix_analytics_alerts_key_status", "key", "status"),
                      Index("ix_analytics_alerts_opened", "opened_at"))

    id = Column(Integer, primary_key=True)
    # kind:category:scope_type:scope_key: the same signal in a later run finds its open alert by it.
    key = Column(String(300), nullable=False)
    kind = Column(String(16), nullable=False)  # spike, concentration
    category = Column(String(32), nullable=False, index=True)
    scope_type = Column(String(16), nullable=False)  # area, outlet, route, hub
    scope_key = Column(String(200), nullable=False)
    scope_name = Column(String(250), nullable=False)
    count = Column(Integer, nullable=False)
    baseline = Column(Float, nullable=False)
    p_value = Column(Float, nullable=False)
    evidence = Column(JSON, nullable=False, default=dict)
    suggested_action = Column(String(500), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    status = Column(String(16), nullable=False, default="open", index=True)  # open, resolved
    opened_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)
    resolved_at = Column(DateTime)


class ImportState(Base):
    """How far an importer has read its source: for the conversation importer (`conversations.py`) the id of the last
    tracker-store event it has taken in. One row per source."""

    __tablename__ = "analytics_import_state"

    source = Column(String(32), primary_key=True)
    last_event_id = Column(Integer, nullable=False, default=0)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
