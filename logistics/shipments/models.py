"""Shipment and tracking-event tables and the request schemas of the shipment API."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from pydantic import BaseModel, Field, condecimal, validator
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from logistics.db import Base
from logistics.phones import normalize_phone
from logistics.shipments.statuses import Status
from logistics.shipments.tracking_numbers import CARRIER_CODES, normalize
from logistics.timeutil import parse_iso, utcnow

GOODS_TYPES = ("fresh", "fragile", "international", "document", "general")


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    tracking_number = Column(String(40), nullable=False, unique=True)
    carrier = Column(String(16), nullable=False, index=True)
    sender_name = Column(String(60))
    sender_phone = Column(String(20), nullable=False, index=True)
    sender_address = Column(String(255))
    recipient_name = Column(String(60))
    recipient_phone = Column(String(20), nullable=False, index=True)
    recipient_address = Column(String(255))
    goods_type = Column(String(16), nullable=False, default="general")
    goods_description = Column(String(120))
    insured_value = Column(Numeric(12, 2), nullable=False, default=0)
    origin = Column(String(40), nullable=False)
    destination = Column(String(40), nullable=False)
    status = Column(String(24), nullable=False, default=Status.CREATED.value, index=True)
    courier_name = Column(String(60))
    courier_phone = Column(String(20))
    promised_delivery_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    events = relationship(
        "TrackingEvent",
        back_populates="shipment",
        cascade="all, delete-orphan",
        order_by="TrackingEvent.time",
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    __table_args__ = (Index("ix_tracking_events_shipment_time", "shipment_id", "time"),)

    id = Column(Integer, primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id", ondelete="CASCADE"), nullable=False)
    time = Column(DateTime, nullable=False)
    status = Column(String(24), nullable=False)
    location = Column(String(120), nullable=False)
    description = Column(Text)
    facility_id = Column(Integer, ForeignKey("facilities.id", ondelete="SET NULL"), index=True)
    received_at = Column(DateTime, nullable=False, default=utcnow)

    shipment = relationship("Shipment", back_populates="events")
    facility = relationship("Facility")


class TailAttempt(Base):
    """A wrong phone tail given for a shipment: three in ten minutes lock the number in that conversation, ten in
    an hour lock it for every anonymous caller, twenty from one client address lock that address."""

    __tablename__ = "tail_attempts"
    __table_args__ = (Index("ix_tail_attempts_lookup", "tracking_number", "conversation_id", "failed_at"),
                      Index("ix_tail_attempts_address", "client_address", "failed_at"))

    id = Column(Integer, primary_key=True)
    tracking_number = Column(String(40), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    failed_at = Column(DateTime, nullable=False, default=utcnow)
    client_address = Column(String(64), nullable=True)


class ConversationProof(Base):
    """A conversation proved its link to a shipment with a matching phone tail: later reads in that
    conversation need no tail again, and no other conversation gains anything from it."""

    __tablename__ = "conversation_proofs"
    __table_args__ = (UniqueConstraint("conversation_id", "tracking_number", name="uq_conversation_proofs"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False)
    tracking_number = Column(String(40), nullable=False, index=True)
    role = Column(String(16), nullable=False)
    proven_at = Column(DateTime, nullable=False, default=utcnow)


class ArrivalWatch(Base):
    """A conversation asked to be told when this parcel reaches its delivery outlet (or goes out for delivery)."""

    __tablename__ = "arrival_watches"
    __table_args__ = (Index("ux_arrival_watches_conversation", "tracking_number", "conversation_id", unique=True),)

    id = Column(Integer, primary_key=True)
    tracking_number = Column(String(40), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(16), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    notified_at = Column(DateTime)


class WatchIn(BaseModel):
    conversation_id: str = Field(..., min_length=1, max_length=128)
    channel: str = Field("rest", regex=r"^(rest|socketio|wechat)$")


class PartyIn(BaseModel):
    name: Optional[str] = Field(None, max_length=60)
    phone: str
    address: Optional[str] = Field(None, max_length=255)

    _phone = validator("phone", allow_reuse=True)(normalize_phone)


class ShipmentIn(BaseModel):
    tracking_number: str = Field(..., min_length=6, max_length=40)
    carrier: str
    sender: PartyIn
    recipient: PartyIn
    goods_type: str = "general"
    goods_description: Optional[str] = Field(None, max_length=120)
    insured_value: condecimal(ge=Decimal(0), le=Decimal(1_000_000), max_digits=12, decimal_places=2) = Decimal(0)
    origin: str = Field(..., min_length=1, max_length=40)
    destination: str = Field(..., min_length=1, max_length=40)
    promised_delivery_at: Optional[datetime] = None

    @validator("tracking_number")
    def clean_number(cls, value: str) -> str:
        cleaned = normalize(value)
        if not cleaned.isalnum():
            raise ValueError("tracking_number may contain only letters and digits")
        return cleaned

    @validator("carrier")
    def known_carrier(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in CARRIER_CODES:
            raise ValueError(f"carrier must be one of {', '.join(sorted(CARRIER_CODES))}")
        return value

    @validator("goods_type")
    def known_goods_type(cls, value: str) -> str:
        if value not in GOODS_TYPES:
            raise ValueError(f"goods_type must be one of {', '.join(GOODS_TYPES)}")
        return value

    @validator("promised_delivery_at", pre=True)
    def parse_promise(cls, value):
        return None if value is None else parse_iso(value)


class EventIn(BaseModel):
    time: datetime
    status: str
    location: str = Field(..., min_length=1, max_length=120)
    description: Optional[str] = Field(None, max_length=500)
    facility_code: Optional[str] = Field(None, max_length=32)

    @validator("time", pre=True)
    def parse_time(cls, value):
        return parse_iso(value)

    @validator("status")
    def known_status(cls, value: str) -> str:
        try:
            return Status(value).value
        except ValueError:
            raise ValueError(f"status must be one of {', '.join(s.value for s in Status)}") from None
