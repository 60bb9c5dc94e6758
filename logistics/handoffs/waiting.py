"""While a conversation waits for a human, every message the user writes is answered by the handoff side, never by
the bot's NLU.

Rasa (addons/handoff_wait.py) posts each message it logs on a paused conversation to POST /api/v1/handoffs/waiting;
the answer says what to tell the user (a response of domain/handoff_wait.yml and its values) and whether the bot
takes the conversation back (`action`: wait | resume):

- queued: the place in the queue and a rough wait (outcome queued, or next when nobody is ahead). 「算了」「不用了」
  「不转了」「机器人就行」「取消」 end the wait (cancelled), so does /restart (restarted); a wait past
  HANDOFF_MAX_WAIT_MINUTES ends as expired, with a callback ticket when the user's contact is known
  (expired_callback). The handoff and its ticket are closed; the bot takes over.
- active (an agent has it): the first message is acknowledged with the agent's name (agent_joined), later ones go
  to the agent without an answer (with_agent). Replies of the agent that never reached the user (Rasa was down at
  the relay) are marked delivered and handed over for Rasa to deliver now.
- no open handoff (it ended meanwhile, or the bot's resume failed): the bot takes the conversation back, with the
  notice not given yet (an expiry the sweeper could not announce), else saying so (closed).

A retried message (same conversation, timestamp and text) is recorded once and gets the same answer.

Waits that expire while the user is silent are ended by `expire_overdue` (every HANDOFF_SWEEP_SECONDS in `serve`,
or POST /api/v1/handoffs/expire); flows.tell_ended gives those conversations back to the bot, whose
action_handoff_wait tells the user the stored notice.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from logistics import db
from logistics.handoffs import service
from logistics.handoffs.enums import HandoffStatus
from logistics.handoffs.models import Handoff, HandoffUserMessage, WaitingIn
from logistics.phones import mask_phones_in_text
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import TicketStatus, TicketType
from logistics.tickets.models import TicketIn
from logistics.timeutil import CST, utcnow

log = logging.getLogger(__name__)

WAIT, RESUME = "wait", "resume"
RESPONSE_PREFIX = "utter_handoff_wait_"
# Outcomes told with a response of their own, utter_handoff_wait_<outcome> (domain/handoff_wait.yml); with_agent
# (the agent answers) has none.
NOTICES = ("queued", "next", "agent_joined", "cancelled", "restarted", "expired", "expired_callback", "closed")
QUEUED, ACTIVE, CLOSED = HandoffStatus.QUEUED.value, HandoffStatus.ACTIVE.value, HandoffStatus.CLOSED.value

# "Never mind, the bot will do": a whole short message (fillers before, particles after), or an explicit phrase in
# a short one. 「取消寄件」, 「这个快递我不要了」 or 「算了，你们到底什么时候送」 stay messages for the agent.
_NOISE = re.compile(r"[\s，。！？!?,.、~～…；;：:「」\"'“”‘’（）()【】\[\]]+")
_LEAD = r"(?:那|那就|那我|还是|我还是|我|嗯|哦|噢|好吧|好|行吧|行|唉|哎|算了)?"
_TAIL = r"(?:吧|啊|呀|哈|啦|呢|嘛|哦|了)*"
CANCEL_WHOLE = re.compile(
    _LEAD + r"(?:算了(?:算了)*|不用了?|不要了?|不转了?|不用转了?|不转人工了?|不用转人工了?|不要人工了?|不要转人工了?"
    r"|不需要了?|不需要人工了?|(?:用|找|还是用)?机器人(?:就行|就好|就可以|也行)?|取消(?:转人工|人工|排队|等待)?"
    r"|不等了?|不想等了?|等不了了?|cancel|nevermind|never mind)" + _TAIL)
CANCEL_ANYWHERE = re.compile(r"取消转人工|取消人工|不转人工|不用转人工|不要转人工|不要人工|不需要人工|不用人工"
                             r"|机器人就(?:行|好|可以)|不等了|不想等了|等不了了")
MAX_CANCEL_CHARS = 30
# A masked mobile number in a handoff's contact line (王* 138****0003（已绑定）).
MASKED_PHONE = re.compile(r"1[3-9][0-9]\*{4}[0-9]{4}")
VERIFIED_CONTACT = "（尾号已核验）"


def is_cancel(text: str) -> bool:
    """Whether a message during the wait means the user no longer wants a human (算了, 不用了, 不转了, 机器人就行,
    取消…)."""
    cleaned = _NOISE.sub("", text or "").lower()
    if not cleaned or len(cleaned) > MAX_CANCEL_CHARS:
        return False
    return CANCEL_WHOLE.fullmatch(cleaned) is not None or CANCEL_ANYWHERE.search(cleaned) is not None


def dedupe_key(data: WaitingIn) -> str:
    raw = f"{data.conversation_id}\n{data.timestamp:.6f}\n{data.text}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def china_time(moment: datetime, now: datetime) -> str:
    """'今天 16:30' / '明天 09:10' / '12月8日 09:10' in China time (Asia/Shanghai, UTC+8) from naive UTC."""
    local = moment.replace(tzinfo=timezone.utc).astimezone(CST)
    today = now.replace(tzinfo=timezone.utc).astimezone(CST).date()
    day = {0: "今天", 1: "明天"}.get((local.date() - today).days, f"{local.month}月{local.day}日")
    return f"{day} {local:%H:%M}"


def minutes_waited(handoff: Handoff, now: datetime) -> int:
    return max(int((now - handoff.created_at).total_seconds() // 60), 0)


def overdue(handoff: Handoff, now: datetime, max_wait_minutes: int) -> bool:
    """Still waiting for an agent, and for longer than the limit."""
    return handoff.status == QUEUED and now - handoff.created_at >= timedelta(minutes=max_wait_minutes)


def _answer(handoff: Handoff | None, action: str, outcome: str, values: dict | None = None,
            agent_messages: list | None = None) -> dict:
    return {
        "handoff_id": handoff.id if handoff is not None else None,
        "status": handoff.status if handoff is not None else None,
        "action": action,
        "outcome": outcome,
        "response": RESPONSE_PREFIX + outcome if outcome in NOTICES else None,
        "values": {key: str(value) for key, value in (values or {}).items()},
        "agent_messages": agent_messages or [],
    }


def _notice(answer: dict) -> dict:
    return {"outcome": answer["outcome"], "response": answer["response"], "values": answer["values"]}


def _end(session: Session, handoff: Handoff, *, reason: str, outcome: str, values: dict, now: datetime,
         actor: str, note: str, told: bool) -> dict:
    """Close a handoff no agent finished (cancelled, restart, expired): its ticket is closed with the note, the
    notice kept for whoever tells the user; told=True when the answer being built tells them."""
    handoff.status = CLOSED
    handoff.closed_at = now
    handoff.close_reason = reason
    answer = _answer(handoff, RESUME, outcome, values)
    handoff.close_notice = _notice(answer)
    if told:
        handoff.resumed_at = now
    service._move_ticket(session, handoff, TicketStatus.CLOSED, actor, note)
    ticket = service._ticket(session, handoff)
    if ticket is not None:
        ticket_service.log_event(session=session, ticket=ticket, kind="handoff_ended", actor=actor, reason=reason,
                                 handoff_id=handoff.id, callback_ticket_id=handoff.callback_ticket_id)
    session.flush()
    return answer


def end_wait(session: Session, handoff: Handoff, *, reason: str, now: datetime) -> dict:
    """The user ended the wait: 算了 and the like (cancelled), or /restart (restart)."""
    if reason == "restart":
        return _end(session, handoff, reason="restart", outcome="restarted", values={}, now=now, actor="customer",
                    note="用户发送 /restart 重新开始，转人工已取消", told=True)
    return _end(session, handoff, reason="cancelled", outcome="cancelled", values={}, now=now, actor="customer",
                note=f"用户等待 {minutes_waited(handoff, now)} 分钟后取消转人工，机器人继续服务", told=True)


def callback_possible(handoff: Handoff) -> bool:
    """Whether somebody can call the user back: a bound customer, or a phone tail verified on a parcel."""
    return handoff.customer_id is not None or (handoff.contact or "").endswith(VERIFIED_CONTACT)


def expire(session: Session, handoff: Handoff, *, now: datetime, last_text: str | None, told: bool) -> dict:
    """No agent in time: close the handoff; a callback ticket (SLA of TicketType.CALLBACK) when the contact is
    known, with what the agent would have read."""
    waited = minutes_waited(handoff, now)
    values: dict = {"handoff_waited": waited}
    if not callback_possible(handoff):
        return _end(session, handoff, reason="expired", outcome="expired", values=values, now=now, actor="system",
                    note=f"排队 {waited} 分钟无客服接入；用户联系方式未知，未登记回电", told=told)
    package = handoff.package or {}
    shipments = package.get("shipments") or []
    details = {"handoff_id": handoff.id, "reason": "handoff_expired", "request": package.get("request"),
               "summary": package.get("summary"), "contact": handoff.contact, "waited_minutes": waited}
    if last_text:
        details["last_message"] = mask_phones_in_text(last_text)[:300]
    ticket, _ = ticket_service.create(session=session, actor="system", data=TicketIn(
        type=TicketType.CALLBACK, tracking_number=shipments[0]["tracking_number"] if shipments else None,
        conversation_id=handoff.conversation_id, details=details, idempotency_key=f"callback:handoff:{handoff.id}"))
    handoff.callback_ticket_id = ticket.id
    phone = MASKED_PHONE.search(handoff.contact or "")
    values.update(callback_ref=f"T{ticket.id}",
                  callback_hours=max(1, math.ceil((ticket.sla_due_at - ticket.created_at).total_seconds() / 3600)),
                  callback_due=china_time(ticket.sla_due_at, now))
    if phone:
        values["callback_phone"] = phone.group(0)
    return _end(session, handoff, reason="expired", outcome="expired_callback", values=values, now=now,
                actor="system", note=f"排队 {waited} 分钟无客服接入，已登记客服回电 T{ticket.id}", told=told)


def _queued(session: Session, handoff: Handoff, now: datetime) -> dict:
    position = service.queue_position(session, handoff)
    values = {"handoff_position": position, "handoff_ahead": position - 1,
              "handoff_wait": service.estimated_wait_minutes(session, position),
              "handoff_waited": minutes_waited(handoff, now)}
    return _answer(handoff, WAIT, "queued" if position > 1 else "next", values)


def _with_agent(session: Session, handoff: Handoff, now: datetime) -> dict:
    delivered = []
    for message in service.outbox(session=session, handoff=handoff):
        # Marked delivered before Rasa utters it, as the relay does: a retry never sends one twice.
        service.mark_delivered(session=session, handoff=handoff, message_id=message.id)
        delivered.append(service.message_dict(message))
    if handoff.agent_ack_at is None:
        handoff.agent_ack_at = now
        name = handoff.agent.display_name if handoff.agent is not None else "人工客服"
        return _answer(handoff, WAIT, "agent_joined", {"agent_name": name}, delivered)
    return _answer(handoff, WAIT, "with_agent", None, delivered)


def _after_end(session: Session, conversation_id: str, now: datetime) -> dict:
    """No open handoff, but Rasa still holds the conversation paused: the bot takes it back, with the notice the
    user has not been given yet."""
    handoffs = service.list_for_conversation(session=session, conversation_id=conversation_id)
    latest = handoffs[0] if handoffs else None
    if latest is None or latest.resumed_at is not None:
        return _answer(latest, RESUME, "closed")
    latest.resumed_at = now
    session.flush()
    notice = latest.close_notice or {}
    if notice.get("response"):
        return {**_answer(latest, RESUME, notice["outcome"]), "values": dict(notice.get("values") or {})}
    return _answer(latest, RESUME, "closed")


def _recorded(session: Session, key: str) -> HandoffUserMessage | None:
    return session.execute(select(HandoffUserMessage).where(HandoffUserMessage.dedupe_key == key)).scalar_one_or_none()


def on_message(*, session: Session, data: WaitingIn, max_wait_minutes: int,
               now: datetime | None = None) -> tuple[dict, bool]:
    """Record a message written while the conversation is paused for a human and decide the answer; (answer, True)
    when it was recorded now, (the first answer, False) for a retry, (answer, False) when no handoff is open."""
    now = now or utcnow()
    key = dedupe_key(data)
    recorded = _recorded(session, key)
    if recorded is not None:
        return recorded.answer, False
    handoff = service.open_for_conversation(session=session, conversation_id=data.conversation_id)
    if handoff is not None:
        # One message of a conversation at a time (a row lock on PostgreSQL), then look for the retry again.
        session.refresh(handoff, with_for_update=True)
        recorded = _recorded(session, key)
        if recorded is not None:
            return recorded.answer, False
    if handoff is None or handoff.status == CLOSED:
        return _after_end(session, data.conversation_id, now), False
    if data.restart:
        answer = end_wait(session, handoff, reason="restart", now=now)
    elif overdue(handoff, now, max_wait_minutes):
        answer = expire(session, handoff, now=now, last_text=data.text, told=True)
    elif handoff.status == QUEUED and is_cancel(data.text):
        answer = end_wait(session, handoff, reason="cancelled", now=now)
    elif handoff.status == QUEUED:
        answer = _queued(session, handoff, now)
    else:
        answer = _with_agent(session, handoff, now)
    sent_at = datetime.fromtimestamp(data.timestamp, tz=timezone.utc).replace(tzinfo=None)
    message = HandoffUserMessage(handoff_id=handoff.id, text=data.text, channel=data.channel, sent_at=sent_at,
                                 dedupe_key=key, answer=answer, created_at=now)
    message, created = db.add_once(session, message, lambda: _recorded(session, key))
    return message.answer, created


def expire_overdue(*, session: Session, max_wait_minutes: int, now: datetime | None = None,
                   limit: int = 100) -> list[int]:
    """End every wait older than the limit (callback tickets opened); the ids of the handoffs ended. The users are
    told by flows.tell_ended, or when they next write."""
    now = now or utcnow()
    oldest = now - timedelta(minutes=max_wait_minutes)
    ids = session.execute(select(Handoff.id).where(Handoff.status == QUEUED, Handoff.created_at <= oldest)
                          .order_by(Handoff.id).limit(limit)).scalars().all()
    ended = []
    for handoff_id in ids:
        handoff = session.get(Handoff, handoff_id)
        session.refresh(handoff, with_for_update=True)
        if overdue(handoff, now, max_wait_minutes):
            expire(session, handoff, now=now, last_text=None, told=False)
            ended.append(handoff.id)
    return ended


def sweep(app) -> tuple[list[int], list[int]]:
    """One pass of the sweeper in the app's context: (handoffs expired, conversations the bot told)."""
    from logistics.handoffs import flows

    settings = app.extensions["settings"]
    session = app.extensions["session_factory"]()
    try:
        with app.app_context():
            ended = expire_overdue(session=session, max_wait_minutes=settings.handoff_max_wait_minutes)
            told = flows.tell_ended(session=session, handoff_ids=ended) if ended else []
            session.commit()
            return ended, told
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def start_sweeper(app, interval_seconds: int) -> threading.Thread | None:
    """Run `sweep` every interval in a daemon thread of this process (none when the interval is 0). Several
    processes may each run one: a handoff is ended once (row lock, status check) and told once (resumed_at)."""
    if interval_seconds <= 0:
        return None

    def loop() -> None:
        while True:
            time.sleep(interval_seconds)
            try:
                ended, told = sweep(app)
                if ended:
                    log.info("handoff waits expired: %s; users told: %s", ended, told)
            except Exception:
                log.exception("handoff sweeper failed; trying again in %s s", interval_seconds)

    thread = threading.Thread(target=loop, name="handoff-sweeper", daemon=True)
    thread.start()
    return thread
