"""Tables for facilities (hubs, outlets, lockers, stations, customs) and their incident notices."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from logistics.db import Base
from logistics.timeutil import utcnow

FACILITY_KINDS = ("hub", "outlet", "locker", "station", "customs")


class Facility(Base):
    __tablename__ = "facilities"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    kind = Column(String(16), nullable=False)
    name = Column(String(120), nullable=False, index=True)
    city = Column(String(40), nullable=False, index=True)
    address = Column(String(255))
    phone = Column(String(20))
    carrier = Column(String(16))
    # Promised hours between arrival at an outlet and out-for-delivery; urge tickets key off it.
    promised_dispatch_hours = Column(Integer, nullable=False, default=12)

    incidents = relationship("Incident", back_populates="facility", order_by="Incident.starts_at")


class Incident(Base):
    __tablename__ = "incidents"

    id = Column(Integer, primary_key=True)
    facility_id = Column(Integer, ForeignKey("facilities.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # weather, volume, equipment, staffing, epidemic, customs
    summary = Column(Text, nullable=False)
    starts_at = Column(DateTime, nullable=False)
    expected_clear_at = Column(DateTime)
    ended_at = Column(DateTime)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    facility = relationship("Facility", back_populates="incidents")
