"""Ticket, ticket history and evidence tables, and the request schema of the ticket API."""
from __future__ import annotations

from typing import Any, Dict, Optional

from pydantic import BaseModel, Field, validator
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import relationship

from logistics.db import Base
from logistics.shipments.tracking_numbers import normalize
from logistics.tickets.enums import TicketStatus, TicketType
from logistics.timeutil import utcnow


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    type = Column(String(32), nullable=False, index=True)
    status = Column(String(24), nullable=False, default=TicketStatus.OPEN.value, index=True)
    tracking_number = Column(String(40), index=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id", ondelete="SET NULL"))
    facility_id = Column(Integer, ForeignKey("facilities.id", ondelete="SET NULL"), index=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    conversation_id = Column(String(128), index=True)
    details = Column(JSON, nullable=False, default=dict)
    sla_due_at = Column(DateTime, nullable=False)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    history = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id",
                           cascade="all, delete-orphan")
    evidence = relationship("Evidence", back_populates="ticket", order_by="Evidence.id",
                            cascade="all, delete-orphan")


class TicketEvent(Base):
    """One line of a ticket's audit history; agents and analytics read it."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # created, status_changed, note, evidence_added, due_changed
    actor = Column(String(64), nullable=False, default="system")
    data = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="history")


class Evidence(Base):
    __tablename__ = "ticket_evidence"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    filename = Column(String(200), nullable=False)
    content_type = Column(String(80), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=False)
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
