"""Agent console authentication: server-side sessions and the login throttle, both in the database so they hold
across the backend's threads and processes.

Sessions: the cookie holds a random token only; the table keeps its SHA-256 with the agent, the times and the
session's CSRF token. A session ends at logout (revoked), at a password change (all of the agent's), after
IDLE without a request and at the latest ABSOLUTE after login.

Throttle: every failed password (login, or the current password when changing it) is recorded with the user
name and the client address. USER_LIMIT failures of one user name within WINDOW (counted since its last success
or its last lock), or ADDRESS_LIMIT from one address, lock that name or address for LOCK_FOR: every attempt is
then refused with a retry time, the right password included, and each lock is logged as a warning.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from logistics.handoffs.models import Agent, AgentSession, LoginAttempt, LoginLock

log = logging.getLogger(__name__)

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
# last_seen_at is written at most this often (the console polls every 2 s).
TOUCH_EVERY = timedelta(seconds=60)

WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
USER_LIMIT = 5
ADDRESS_LIMIT = 20
KEEP_ATTEMPTS = timedelta(days=1)

# What secrets.token_urlsafe(32) makes; anything else (non-ASCII, oversized) is no session at all.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")


def valid_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN.fullmatch(value) is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# --- sessions ---


def start_session(*, session: Session, agent: Agent, now: datetime, ip: str = "",
                  user_agent: str = "") -> tuple[str, AgentSession]:
    """A new session for the agent: (the cookie's token, the row)."""
    token = secrets.token_urlsafe(32)
    row = AgentSession(token_hash=token_hash(token), agent_id=agent.id, csrf_token=secrets.token_urlsafe(32),
                       created_at=now, last_seen_at=now, expires_at=now + ABSOLUTE, ip=(ip or "")[:64],
                       user_agent=(user_agent or "")[:200])
    session.add(row)
    session.flush()
    return token, row


def find_session(*, session: Session, token: object, now: datetime) -> AgentSession | None:
    """The live session of a cookie token, its last_seen_at brought up to date; None when the token is malformed,
    unknown, revoked, idle too long, expired or its agent deactivated."""
    if not valid_token(token):
        return None
    row = session.execute(select(AgentSession).where(AgentSession.token_hash == token_hash(token))
                          ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + IDLE <= now:
        return None
    if row.agent is None or not row.agent.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row


def revoke(*, session: Session, row: AgentSession, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()


# --- the login throttle ---


@dataclass(frozen=True)
class Locked:
    retry_after_seconds: int
    until: datetime


def _locked(until: datetime, now: datetime) -> Locked:
    return Locked(retry_after_seconds=max(1, math.ceil((until - now).total_seconds())), until=until)


def lock_of(*, session: Session, username: str, ip: str, now: datetime) -> Locked | None:
    """The lock that refuses this user name or address now, if any (the one ending last)."""
    until = session.execute(select(func.max(LoginLock.locked_until)).where(
        or_(and_(LoginLock.scope == "user", LoginLock.key == username[:64]),
            and_(LoginLock.scope == "ip", LoginLock.key == ip[:64])),
        LoginLock.locked_until > now)).scalar_one_or_none()
    return _locked(until, now) if until is not None else None


def _last_lock_end(session: Session, scope: str, key: str) -> datetime | None:
    return session.execute(select(func.max(LoginLock.locked_until)).where(
        LoginLock.scope == scope, LoginLock.key == key)).scalar_one_or_none()


def _failures_since(session: Session, column, key: str, since: datetime) -> int:
    return session.execute(select(func.count(LoginAttempt.id)).where(
        column == key, LoginAttempt.success.is_(False), LoginAttempt.created_at > since)).scalar_one()


def _lock(session: Session, scope: str, key: str, failures: int, now: datetime) -> Locked:
    lock = LoginLock(scope=scope, key=key, failures=failures, created_at=now, locked_until=now + LOCK_FOR)
    session.add(lock)
    log.warning("agent console: %s %r locked until %s UTC after %d failed passwords in %d minutes",
                "user name" if scope == "user" else "client address", key, lock.locked_until.isoformat(
                    timespec="seconds"), failures, int(WINDOW.total_seconds() // 60))
    return _locked(lock.locked_until, now)


def record_failure(*, session: Session, username: str, ip: str, now: datetime) -> Locked | None:
    """Count a wrong password; returns the lock it set off, if it did. The caller commits (the request answers
    with an error, which would roll the count back)."""
    username, ip = username[:64], ip[:64]
    session.add(LoginAttempt(username=username, ip=ip, success=False, created_at=now))
    session.flush()
    start = now - WINDOW
    last_success = session.execute(select(func.max(LoginAttempt.created_at)).where(
        LoginAttempt.username == username, LoginAttempt.success.is_(True))).scalar_one_or_none()
    user_since = max(t for t in (start, last_success, _last_lock_end(session, "user", username)) if t is not None)
    ip_since = max(t for t in (start, _last_lock_end(session, "ip", ip)) if t is not None)
    locked = None
    failures = _failures_since(session, LoginAttempt.username, username, user_since)
    if failures >= USER_LIMIT:
        locked = _lock(session, "user", username, failures, now)
    failures = _failures_since(session, LoginAttempt.ip, ip, ip_since)
    if failures >= ADDRESS_LIMIT:
        locked = _lock(session, "ip", ip, failures, now)
    session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - KEEP_ATTEMPTS))
    session.execute(delete(LoginLock).where(LoginLock.locked_until < now - KEEP_ATTEMPTS))
    session.flush()
    return locked


def record_success(*, session: Session, username: str, ip: str, now: datetime) -> None:
    """A right password: the user name's failures before it no longer count (the address's still do)."""
    session.add(LoginAttempt(username=username[:64], ip=ip[:64], success=True, created_at=now))
    session.flush()
