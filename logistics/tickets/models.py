"""Ticket, ticket history and evidence tables, and the request schema of the ticket API."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Dict, Optional

from pydantic import BaseModel, Field, condecimal, root_validator, validator
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, LargeBinary, Numeric, String, UniqueConstraint
from sqlalchemy.orm import deferred, relationship

from logistics.db import Base
from logistics.shipments.tracking_numbers import normalize
from logistics.tickets.enums import TicketStatus, TicketType
from logistics.timeutil import parse_iso, utcnow


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    type = Column(String(32), nullable=False, index=True)
    status = Column(String(24), nullable=False, default=TicketStatus.OPEN.value, index=True)
    tracking_number = Column(String(40), index=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id", ondelete="SET NULL"), index=True)
    facility_id = Column(Integer, ForeignKey("facilities.id", ondelete="SET NULL"), index=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    conversation_id = Column(String(128), index=True)
    details = Column(JSON, nullable=False, default=dict)
    sla_due_at = Column(DateTime, nullable=False)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    # What an agent approved for a claim; null until set (PATCH payout_amount).
    payout_amount = Column(Numeric(12, 2))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    history = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id",
                           cascade="all, delete-orphan")
    evidence = relationship("Evidence", back_populates="ticket", order_by="Evidence.id",
                            cascade="all, delete-orphan")
    facility = relationship("Facility")


class TicketConversation(Base):
    """Another conversation that proved its link to the parcel and asked for the same process: it shares the
    ticket (sees it, adds photos to it) instead of being told of a ticket it cannot reach."""

    __tablename__ = "ticket_conversations"
    __table_args__ = (UniqueConstraint("ticket_id", "conversation_id", name="uq_ticket_conversations"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    linked_at = Column(DateTime, nullable=False, default=utcnow)


class TicketEvent(Base):
    """One line of a ticket's audit history; agents and analytics read it."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    # created, status_changed, note, evidence_added, due_changed, payout_set
    kind = Column(String(32), nullable=False)
    actor = Column(String(64), nullable=False, default="system")
    data = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="history")


class Evidence(Base):
    # One row per distinct photo of a ticket: a retried upload of the same bytes finds the existing row.
    __tablename__ = "ticket_evidence"
    __table_args__ = (UniqueConstraint("ticket_id", "sha256", name="uq_ticket_evidence_sha256"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    filename = Column(String(200), nullable=False)
    content_type = Column(String(80), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    # Deferred: ticket details list evidence metadata and must not load megabytes of photos.
    content = deferred(Column(LargeBinary, nullable=False))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="evidence")


class TicketIn(BaseModel):
    type: TicketType
    tracking_number: Optional[str] = Field(None, min_length=6, max_length=40)
    conversation_id: Optional[str] = Field(None, min_length=1, max_length=128)
    details: Dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field(..., min_length=1, max_length=200)

    @validator("tracking_number")
    def clean_number(cls, value: Optional[str]) -> Optional[str]:
        return None if value is None else normalize(value)

    @validator("details")
    def small_details(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        if len(value) > 50:
            raise ValueError("details may hold at most 50 keys")
        return value


class TicketPatch(BaseModel):
    """An agent's or outlet's update; every given field is a change logged in the history with the actor."""

    status: Optional[TicketStatus] = None
    note: Optional[str] = Field(None, max_length=2000)
    sla_due_at: Optional[datetime] = None
    actor: str = Field("agent", min_length=1, max_length=64)
    payout_amount: Optional[condecimal(ge=Decimal(0), le=Decimal(1_000_000), max_digits=12, decimal_places=2)] = None

    class Config:
        # A misspelt field ("stauts") must fail loudly, not be dropped while the client believes it was applied.
        extra = "forbid"

    @validator("sla_due_at", pre=True)
    def parse_due(cls, value):
        return None if value is None else parse_iso(value)

    @validator("note")
    def non_blank_note(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.strip():
            raise ValueError("note must not be blank")
        return None if value is None else value.strip()

    @root_validator(skip_on_failure=True)
    def something_to_change(cls, values):
        if all(values.get(k) is None for k in ("status", "note", "sla_due_at", "payout_amount")):
            raise ValueError("give at least one of status, note, sla_due_at, payout_amount")
        return values


class EvidenceIn(BaseModel):
    """A photo sent as JSON (for clients that cannot send multipart); data_base64 may be a data: URL."""

    filename: str = Field(..., min_length=1, max_length=200)
    content_type: Optional[str] = Field(None, max_length=80)
    data_base64: str
    actor: str = Field("customer", min_length=1, max_length=64)
