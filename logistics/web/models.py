"""One-time login codes of the website chat (stored hashed) and the request schemas of /web/api."""
from __future__ import annotations

import re

from pydantic import BaseModel, Field, validator
from sqlalchemy import Column, DateTime, Index, Integer, String

from logistics.db import Base
from logistics.phones import normalize_phone
from logistics.textnorm import ascii_code

# socket.io session ids as Rasa makes them (uuid4 hex) or as a browser makes them (a UUID with dashes).
SESSION_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def check_session_id(value: object) -> str:
    """A session id that looks like a UUID or a 32-digit hex token; ValueError otherwise."""
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value.strip()):
        raise ValueError("session_id must be a UUID or a 32-character hex token")
    return value.strip().lower()


class OtpCode(Base):
    __tablename__ = "web_otp_codes"
    # The rate limits count a phone's and an address's codes of the last hour.
    __table_args__ = (Index("ix_web_otp_phone_created", "phone", "created_at"),
                      Index("ix_web_otp_ip_created", "ip", "created_at"))

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False)
    session_id = Column(String(64), nullable=False)
    ip = Column(String(64), nullable=False)
    # HMAC-SHA256 of phone and code keyed by a server secret: a leaked table does not give usable codes away.
    code_hash = Column(String(64), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)


class OtpRequest(BaseModel):
    phone: str
    session_id: str

    _phone = validator("phone", allow_reuse=True)(normalize_phone)
    _session = validator("session_id", allow_reuse=True)(check_session_id)


class OtpVerify(BaseModel):
    phone: str
    code: str = Field(..., min_length=1, max_length=12)
    session_id: str

    _phone = validator("phone", allow_reuse=True)(normalize_phone)
    _session = validator("session_id", allow_reuse=True)(check_session_id)

    _code = validator("code", allow_reuse=True)(ascii_code)
