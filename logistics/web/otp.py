"""One-time login codes: issue with rate limits, verify with a bounded number of attempts, bind the browser."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from logistics.customers import service as customers
from logistics.customers.models import Customer, CustomerIn
from logistics.errors import ApiError
from logistics.web.models import OtpCode

log = logging.getLogger(__name__)

CODE_DIGITS = 6
TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
PER_PHONE_PER_HOUR = 5
PER_IP_PER_HOUR = 20
MAX_ATTEMPTS = 5
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Issued:
    code: str
    expires_in: int


def _hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _too_many(message: str, retry_after: float) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(429, "rate_limited", message, {"retry_after": seconds})


def issue(*, session: Session, phone: str, session_id: str, ip: str, secret: str, now: datetime) -> Issued:
    """A new code for a phone, unless the phone or the address asked too often (429 with retry_after)."""
    since = now - HOUR
    recent = list(session.execute(
        select(OtpCode.created_at).where(OtpCode.phone == phone, OtpCode.created_at > since)
        .order_by(OtpCode.created_at.desc())).scalars())
    if recent and now - recent[0] < RESEND_AFTER:
        raise _too_many("验证码已发送，请稍后再试", (recent[0] + RESEND_AFTER - now).total_seconds())
    if len(recent) >= PER_PHONE_PER_HOUR:
        raise _too_many("该手机号获取验证码太频繁，请一小时后再试", (recent[-1] + HOUR - now).total_seconds())
    from_ip = session.execute(
        select(func.count(OtpCode.id), func.min(OtpCode.created_at))
        .where(OtpCode.ip == ip, OtpCode.created_at > since)).one()
    if from_ip[0] >= PER_IP_PER_HOUR:
        raise _too_many("请求太频繁，请稍后再试", (from_ip[1] + HOUR - now).total_seconds())
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    session.add(OtpCode(phone=phone, session_id=session_id, ip=ip[:64], code_hash=_hash(secret, phone, code),
                        attempts=0, created_at=now, expires_at=now + TTL))
    session.flush()
    # No SMS gateway in the demo: the log (and, in demo mode, the page) is where the code goes.
    log.info("one-time code for %s****%s: %s", phone[:3], phone[-4:], code)
    return Issued(code=code, expires_in=int(TTL.total_seconds()))


def verify(*, session: Session, phone: str, code: str, session_id: str, secret: str,
           now: datetime, channel: str = "socketio") -> Customer:
    """Check the phone's newest code; on success bind channel:session_id (the browser's socket.io session, or a
    chat channel's user id such as a WeChat openid) to the phone's customer."""
    record = session.execute(
        select(OtpCode).where(OtpCode.phone == phone, OtpCode.used_at.is_(None))
        .order_by(OtpCode.created_at.desc(), OtpCode.id.desc()).limit(1)).scalar_one_or_none()
    if record is None or record.expires_at <= now:
        raise ApiError(400, "code_expired", "验证码已过期或不存在，请重新获取")
    if record.attempts >= MAX_ATTEMPTS:
        raise ApiError(403, "too_many_attempts", "验证码输错次数太多，请重新获取")
    if not hmac.compare_digest(record.code_hash, _hash(secret, phone, code)):
        record.attempts += 1
        left = MAX_ATTEMPTS - record.attempts
        # The failed attempt must count even though the request answers with an error (which rolls back).
        session.commit()
        if left <= 0:
            raise ApiError(403, "too_many_attempts", "验证码输错次数太多，请重新获取")
        raise ApiError(400, "wrong_code", f"验证码不正确，还可以再试 {left} 次", {"attempts_left": left})
    record.used_at = now
    customer, _ = customers.create_or_merge(session=session, data=CustomerIn(phone=phone))
    customers.bind(session=session, customer=customer, channel=channel, external_id=session_id)
    return customer
