"""Customer tables and the request schemas of the customer API."""
from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, Field, validator
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from logistics.db import Base
from logistics.phones import normalize_phone
from logistics.textnorm import ascii_code
from logistics.timeutil import utcnow

CHANNELS = ("rest", "socketio", "wechat")


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, unique=True)
    name = Column(String(60))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    bindings = relationship("ChannelBinding", back_populates="customer", cascade="all, delete-orphan")


class ChannelBinding(Base):
    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_binding_channel_external"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    external_id = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    customer = relationship("Customer", back_populates="bindings")


class BindingIn(BaseModel):
    channel: str
    external_id: str = Field(..., min_length=1, max_length=128)

    @validator("channel")
    def known_channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        return value


class CustomerIn(BaseModel):
    phone: str
    name: Optional[str] = Field(None, max_length=60)
    bindings: List[BindingIn] = Field(default_factory=list, max_items=20)

    _phone = validator("phone", allow_reuse=True)(normalize_phone)


class BindingCodeIn(BaseModel):
    """A one-time code asked for in a chat (the bot on the user's behalf) to bind that chat to a phone."""

    phone: str
    channel: str
    external_id: str = Field(..., min_length=1, max_length=64)

    _phone = validator("phone", allow_reuse=True)(normalize_phone)
    @validator("channel")
    def known_channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        return value


class BindingVerifyIn(BindingCodeIn):
    """The code the user typed back in the chat."""

    code: str = Field(..., min_length=1, max_length=12)

    # The code as typed on any keyboard (１２３４５６, ١٢٣٤٥٦), compared in ASCII.
    _code = validator("code", allow_reuse=True)(ascii_code)
