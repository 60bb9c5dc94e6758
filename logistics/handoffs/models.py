"""Handoff, agent reply and agent tables, and the request schemas of the handoff API."""
from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, Field, validator
from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from logistics.db import MAX_ID, Base
from logistics.handoffs.enums import HandoffStatus
from logistics.phones import normalize_tail
from logistics.shipments.tracking_numbers import normalize
from logistics.timeutil import utcnow

ROLE_AGENT = "agent"
# A supervisor reads every handoff (other agents' included); writing follows the same rules as for agents.
ROLE_SUPERVISOR = "supervisor"
# Operations staff: the operations dashboard (/agent/ops) only; in the console they count as agents.
ROLE_OPS = "ops"
ROLES = (ROLE_AGENT, ROLE_SUPERVISOR, ROLE_OPS)


class Agent(Base):
    """A human agent who logs in to the console; the password is stored as a werkzeug hash only."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(256), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    role = Column(String(16), nullable=False, default=ROLE_AGENT, server_default=ROLE_AGENT)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    password_changed_at = Column(DateTime)

    @property
    def is_supervisor(self) -> bool:
        return self.role == ROLE_SUPERVISOR


class AgentSession(Base):
    """A console login. The browser's cookie holds only a random token; the table keeps its SHA-256, so a leaked
    table gives no usable cookie. Refused once revoked (logout, password change), idle or past its expiry."""

    __tablename__ = "agent_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    # Must come back in X-CSRF-Token (or the csrf_token form field) on every POST of this session.
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    revoked_at = Column(DateTime)
    ip = Column(String(64))
    user_agent = Column(String(200))

    agent = relationship("Agent")


class LoginAttempt(Base):
    """One console login (or password confirmation): the throttle counts the failures of a user name and of an
    address over the last minutes."""

    __tablename__ = "agent_login_attempts"
    __table_args__ = (Index("ix_agent_login_attempts_username_created", "username", "created_at"),
                      Index("ix_agent_login_attempts_ip_created", "ip", "created_at"),
                      Index("ix_agent_login_attempts_created", "created_at"))

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False)
    ip = Column(String(64), nullable=False)
    success = Column(Boolean, nullable=False)
    created_at = Column(DateTime, nullable=False)


class LoginLock(Base):
    """A user name (scope "user") or a client address (scope "ip") refused until locked_until."""

    __tablename__ = "agent_login_locks"
    __table_args__ = (Index("ix_agent_login_locks_scope_key_until", "scope", "key", "locked_until"),)

    id = Column(Integer, primary_key=True)
    scope = Column(String(8), nullable=False)
    key = Column(String(64), nullable=False)
    failures = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False)
    locked_until = Column(DateTime, nullable=False)


class Handoff(Base):
    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    # The `handoff` ticket created with it: SLA, history (claimed, replies, closed) and the package.
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    contact = Column(String(64))  # masked
    status = Column(String(16), nullable=False, default=HandoffStatus.QUEUED.value, index=True)
    priority = Column(Integer, nullable=False, default=3)
    reason = Column(String(32), nullable=False)
    emotion = Column(String(16), nullable=False, default="calm")
    package = Column(JSON, nullable=False, default=dict)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    idempotency_key = Column(String(200), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_at = Column(DateTime)
    closed_at = Column(DateTime)
    # When the bot was given the conversation back (resume + rating question); null while that failed.
    resumed_at = Column(DateTime)
    rating = Column(Integer)
    rating_comment = Column(String(500))
    rated_at = Column(DateTime)
    # The transcript as it stood when the handoff was closed: {"complete", "taken_at", "lines", "warning"?}.
    # A closed handoff shows this, never the live conversation that goes on after it.
    closed_transcript = Column(JSON)
    # Why it ended (CLOSE_REASON_LABEL): agent (结束会话), cancelled (the user gave up waiting), restart (/restart
    # while waiting), expired (no agent within HANDOFF_MAX_WAIT_MINUTES).
    close_reason = Column(String(16))
    # What the user is told when the handoff side ended the wait: {"outcome", "response", "values"}.
    close_notice = Column(JSON)
    # The callback ticket opened when the wait expired.
    callback_ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"))
    # When the user was told that an agent has taken the conversation (their first message after the claim).
    agent_ack_at = Column(DateTime)

    agent = relationship("Agent")
    messages = relationship("HandoffMessage", back_populates="handoff", order_by="HandoffMessage.id",
                            cascade="all, delete-orphan")
    user_messages = relationship("HandoffUserMessage", back_populates="handoff", order_by="HandoffUserMessage.id",
                                 cascade="all, delete-orphan", lazy="select")


class HandoffMessage(Base):
    """An agent's reply; delivered_at is set by the action that put it on the user's channel."""

    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime)
    last_error = Column(String(300))

    handoff = relationship("Handoff", back_populates="messages")
    agent = relationship("Agent")


class HandoffUserMessage(Base):
    """A message the user wrote while waiting for (or talking to) an agent, and what the handoff side answered.
    The same message retried (same conversation, text and timestamp) is recorded once and answered the same."""

    __tablename__ = "handoff_user_messages"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    text = Column(Text, nullable=False)
    channel = Column(String(16), nullable=False)
    # When the user sent it (Rasa's event timestamp), naive UTC.
    sent_at = Column(DateTime, nullable=False)
    # SHA-256 of conversation, timestamp and text.
    dedupe_key = Column(String(64), nullable=False, unique=True)
    # The answer given: {"action", "outcome", "response", "values", "agent_messages", ...}.
    answer = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    handoff = relationship("Handoff", back_populates="user_messages")


class TranscriptLine(BaseModel):
    role: str = Field(..., regex="^(user|bot|agent)$")
    text: str = Field(..., max_length=4000)
    time: Optional[str] = Field(None, max_length=40)


class EmotionIn(BaseModel):
    level: str = Field("calm", regex="^(calm|upset|angry)$")
    urgent: bool = False
    scene: Optional[str] = Field(None, regex="^(fresh|medicine|gift|international)$")
    signals: List[str] = Field(default_factory=list, max_items=30)


class VerifiedTail(BaseModel):
    tracking_number: str = Field(..., min_length=6, max_length=40)
    phone_tail: str = Field(..., regex="^[0-9]{4}$")

    _tail = validator("phone_tail", pre=True, allow_reuse=True)(normalize_tail)


class HandoffIn(BaseModel):
    conversation_id: str = Field(..., min_length=1, max_length=128)
    channel: str = Field("rest", regex="^(rest|socketio|wechat|cmdline)$")
    reason: str = Field("request_human", min_length=1, max_length=32, regex="^[a-z_]+$")
    request: str = Field(..., min_length=1, max_length=300)
    tracking_numbers: List[str] = Field(default_factory=list, max_items=10)
    notes: List[str] = Field(default_factory=list, max_items=20)
    emotion: EmotionIn = Field(default_factory=EmotionIn)
    customer_id: Optional[int] = Field(None, ge=1, le=MAX_ID)
    verified_tail: Optional[VerifiedTail] = None
    transcript: List[TranscriptLine] = Field(default_factory=list, max_items=300)
    idempotency_key: str = Field(..., min_length=1, max_length=200)

    class Config:
        extra = "forbid"

    @validator("tracking_numbers", each_item=True)
    def clean_number(cls, value: str) -> str:
        if not isinstance(value, str) or not 6 <= len(value.strip()) <= 40:
            raise ValueError("a tracking number has 6 to 40 characters")
        return normalize(value)

    @validator("notes", each_item=True)
    def short_note(cls, value: str) -> str:
        if not value.strip() or len(value) > 300:
            raise ValueError("a note has 1 to 300 characters")
        return value.strip()


class WaitingIn(BaseModel):
    """A user's message that Rasa received while the conversation was paused for a human (addons/handoff_wait.py)."""

    conversation_id: str = Field(..., min_length=1, max_length=128)
    channel: str = Field("rest", regex="^(rest|socketio|wechat|cmdline)$")
    text: str = Field(..., min_length=1, max_length=4000)
    # Rasa's timestamp of the message (seconds since the epoch); with the text, what makes a retry the same message.
    timestamp: float = Field(..., gt=946684800, lt=4102444800)
    # /restart: the user starts over, so the handoff ends.
    restart: bool = False

    class Config:
        extra = "forbid"

    @validator("text")
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value.strip()


class RatingIn(BaseModel):
    rating: int = Field(..., ge=1, le=5)
    comment: Optional[str] = Field(None, max_length=500)

    class Config:
        extra = "forbid"


class ReplyIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000)

    @validator("text")
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value.strip()


class PasswordChangeIn(BaseModel):
    current_password: str = Field(..., min_length=1, max_length=200)
    new_password: str = Field(..., min_length=8, max_length=200)

    class Config:
        extra = "forbid"

    @validator("new_password")
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the new password must not be blank")
        return value
