"""Handoff operations: the package completed from our data, an idempotent queue entry with its ticket, claiming,
agent replies and their delivery, closing, rating, and the agents who log in to the console."""
from __future__ import annotations

import logging
import math
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from logistics import db
from logistics.customers import service as customer_service
from logistics.customers.models import Customer
from logistics.errors import conflict, not_found
from logistics.handoffs.enums import (
    CHANNEL_LABEL,
    CLOSE_REASON_LABEL,
    EMOTION_LABEL,
    HANDLE_MINUTES,
    OPEN_STATUSES,
    PRIORITY_LABEL,
    REASON_LABEL,
    SCENE_LABEL,
    HandoffStatus,
)
from logistics.handoffs.models import ROLE_AGENT, ROLES, Agent, AgentSession, Handoff, HandoffIn, HandoffMessage
from logistics.phones import mask_name, mask_phone, mask_phones_in_text
from logistics.shipments import service as shipment_service
from logistics.shipments.carriers import carrier_name
from logistics.shipments.statuses import LABEL, Status, is_active
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import STATUS_LABEL, TYPE_LABEL, TicketStatus, TicketType
from logistics.tickets.models import Ticket, TicketIn, TicketPatch
from logistics.timeutil import to_iso, utcnow

log = logging.getLogger(__name__)

# How agents name each process in the package's 已触发 line.
PROCESS_NAME = {
    TicketType.URGE: "网点催派流程",
    TicketType.OUTLET_VERIFICATION: "网点核实流程",
    TicketType.LOST_INVESTIGATION: "丢件调查流程",
    TicketType.CLAIM: "理赔流程",
    TicketType.FRESH_PRIORITY_CLAIM: "生鲜优先理赔流程",
    TicketType.ADDRESS_CHANGE: "改址流程",
    TicketType.COMPLAINT: "投诉处理流程",
    TicketType.OPS_ALERT: "运营预警",
    TicketType.CALLBACK: "客服回电流程",
}
DISPUTES = frozenset({"claim_dispute", "delivery_dispute"})
MAX_TRIGGERED = 20
MAX_OWN_SHIPMENTS = 4
# A password check costs the same whether or not the username exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


# --- agents ---


def create_agent(*, session: Session, username: str, password: str, display_name: str | None = None,
                 role: str | None = None) -> Agent:
    """Create an agent (or set a new password for an existing one, which logs it out everywhere); only the hash
    is stored. role: agent (the default) or supervisor."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    agent = get_agent_by_username(session=session, username=username)
    if agent is None:
        agent = Agent(username=username, display_name=display_name or username, active=True,
                      password_hash=generate_password_hash(password), role=role or ROLE_AGENT)
        session.add(agent)
    else:
        set_password(session=session, agent=agent, password=password)
        agent.active = True
        if display_name:
            agent.display_name = display_name
        if role:
            agent.role = role
    session.flush()
    return agent


def set_password(*, session: Session, agent: Agent, password: str) -> int:
    """Store a new password hash and revoke every console session of the agent; returns how many were open."""
    now = utcnow()
    agent.password_hash = generate_password_hash(password)
    agent.password_changed_at = now
    revoked = revoke_sessions(session=session, agent_id=agent.id, now=now) if agent.id is not None else 0
    session.flush()
    return revoked


def revoke_sessions(*, session: Session, agent_id: int, now: datetime | None = None) -> int:
    """Revoke every session of an agent that is not revoked yet (password change, deactivation)."""
    result = session.execute(update(AgentSession).where(AgentSession.agent_id == agent_id,
                                                        AgentSession.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def ensure_demo_agent(*, session: Session, password: str) -> Agent:
    """The demo agent `agent` (小林), created once; its password is AGENT_DEMO_PASSWORD."""
    agent = get_agent_by_username(session=session, username="agent")
    if agent is not None:
        return agent
    return create_agent(session=session, username="agent", password=password, display_name="客服小林")


def get_agent_by_username(*, session: Session, username: str) -> Agent | None:
    """Return an agent by username."""
    return session.execute(select(Agent).where(Agent.username == username)).scalar_one_or_none()


def authenticate(*, session: Session, username: str, password: str) -> Agent | None:
    """The active agent with this username and password, or None."""
    agent = get_agent_by_username(session=session, username=username or "")
    if agent is None or not agent.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return agent if check_password_hash(agent.password_hash, password or "") else None


def agents_on_duty(session: Session) -> int:
    """Active agents; the waiting-time estimate divides the queue among them."""
    return session.execute(select(func.count()).select_from(Agent).where(Agent.active.is_(True))).scalar_one()


# --- the package ---


def age_phrase(then: datetime, now: datetime) -> str:
    """"15 分钟前" as agents read it."""
    minutes = int(max((now - then).total_seconds(), 0) // 60)
    if minutes < 1:
        return "刚刚"
    if minutes < 60:
        return f"{minutes} 分钟前"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时前"
    return f"{minutes // (24 * 60)} 天前"


def _shipment_line(shipment) -> dict:
    last = shipment_service.latest_event(shipment)
    return {
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "carrier_name": carrier_name(shipment.carrier),
        "status": shipment.status,
        "status_label": LABEL[Status(shipment.status)],
        "goods_type": shipment.goods_type,
        "goods_description": shipment.goods_description,
        "origin": shipment.origin,
        "destination": shipment.destination,
        "recipient": {"name": mask_name(shipment.recipient_name), "phone": mask_phone(shipment.recipient_phone),
                      "address": shipment.recipient_address},
        "promised_delivery_at": to_iso(shipment.promised_delivery_at),
        "last_scan": {
            "time": to_iso(last.time),
            "place": (last.facility.name if last.facility is not None else None) or last.location,
            "location": last.location,
            "status_label": LABEL[Status(last.status)],
            "description": mask_phones_in_text(last.description),
        } if last is not None else None,
    }


def _customer(session: Session, data: HandoffIn) -> Customer | None:
    """The customer bound to the conversation; a customer id the conversation is not bound to counts for
    nothing (the action's slot is not proof)."""
    if data.customer_id is not None and customer_service.get(session=session, customer_id=data.customer_id) is None:
        raise not_found("customer", data.customer_id)
    channel = "rest" if data.channel == "cmdline" else data.channel
    bound = customer_service.get_by_binding(session=session, channel=channel, external_id=data.conversation_id)
    if data.customer_id is not None and (bound is None or bound.id != data.customer_id):
        log.warning("handoff for %s names customer %s, who is not bound to it; ignored", data.conversation_id,
                    data.customer_id)
        return None
    return bound


def _contact(customer: Customer | None, data: HandoffIn, shipments: list) -> str:
    if customer is not None:
        return f"{mask_name(customer.name) or '用户'} {mask_phone(customer.phone)}（已绑定）"
    tail = data.verified_tail
    if tail is not None:
        for shipment in shipments:
            if shipment.tracking_number == shipment_service.tracking_numbers.normalize(tail.tracking_number):
                if shipment.recipient_phone.endswith(tail.phone_tail):
                    return f"收件人 {mask_phone(shipment.recipient_phone)}（尾号已核验）"
                if shipment.sender_phone.endswith(tail.phone_tail):
                    return f"寄件人 {mask_phone(shipment.sender_phone)}（尾号已核验）"
    return "未绑定、未核验（请先核对手机尾号）"


def _triggered(session: Session, data: HandoffIn, customer: Customer | None, numbers: list[str], now) -> list:
    # Only this conversation's processes (its own and those it shares) and the bound customer's: a number typed
    # without proof must not reveal that somebody else opened a claim on it.
    conditions = [ticket_service.of_conversation(data.conversation_id)]
    if customer is not None:
        conditions.append(ticket_service._of_customer(session, customer.id))
    query = (select(Ticket).where(or_(*conditions), Ticket.type != TicketType.HANDOFF.value)
             .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_TRIGGERED))
    lines = []
    for ticket in session.execute(query).scalars():
        kind = TicketType(ticket.type)
        lines.append({
            "ticket_id": ticket.id,
            "ref": f"T{ticket.id}",
            "type": ticket.type,
            "type_label": TYPE_LABEL.get(kind, ticket.type),
            "process": PROCESS_NAME.get(kind, f"{TYPE_LABEL.get(kind, ticket.type)}流程"),
            "status": ticket.status,
            "status_label": STATUS_LABEL.get(TicketStatus(ticket.status), ticket.status),
            "tracking_number": ticket.tracking_number,
            "created_at": to_iso(ticket.created_at),
            "age": age_phrase(ticket.created_at, now),
            "sla_due_at": to_iso(ticket.sla_due_at),
        })
    return lines


def priority_of(data: HandoffIn) -> int:
    """1 first: anger, urgency, medicine, disputes; 2: upset, misunderstood, fresh food; 3: the rest."""
    emotion = data.emotion
    if emotion.level == "angry" or emotion.urgent or emotion.scene == "medicine" or data.reason in DISPUTES \
            or data.reason == "anger":
        return 1
    if emotion.level == "upset" or data.reason == "misunderstood" or emotion.scene == "fresh":
        return 2
    return 3


def build_package(*, session: Session, data: HandoffIn, now: datetime | None = None) -> tuple[dict, Customer | None]:
    """The action's package completed from our data: each parcel's status and last scan, the processes already
    triggered with their age, the masked contact, and the one-line summary agents read first."""
    now = now or utcnow()
    customer = _customer(session, data)
    shipments, unknown = [], []
    for number in dict.fromkeys(data.tracking_numbers):
        shipment = shipment_service.get_by_number(session=session, tracking_number=number)
        (shipments.append(shipment) if shipment is not None else unknown.append(number))
    from_customer = False
    if not shipments and customer is not None:
        # A bound user who never typed a number: their active parcels, so nobody asks for one.
        own = [s for s in shipment_service.list_for_phone(session=session, phone=customer.phone)
               if is_active(Status(s.status))]
        shipments, from_customer = own[:MAX_OWN_SHIPMENTS], bool(own)
    numbers = [s.tracking_number for s in shipments]
    triggered = _triggered(session, data, customer, numbers, now)
    emotion = data.emotion.dict()
    emotion_label = EMOTION_LABEL[data.emotion.level] + ("，着急" if data.emotion.urgent else "") + (
        f"，{SCENE_LABEL[data.emotion.scene]}" if data.emotion.scene else "")
    triggered_line = "；".join(f"{t['process']}（{t['age']}，{t['status_label']}）" for t in triggered) or "无"
    notes_line = "；".join(data.notes) or "无"
    package = {
        "request": data.request,
        "reason": data.reason,
        "reason_label": REASON_LABEL.get(data.reason, data.reason),
        "summary": f"用户诉求：{data.request}；已触发：{triggered_line}；补充信息：{notes_line}",
        "tracking_numbers": numbers + unknown,
        "shipments": [_shipment_line(s) for s in shipments],
        "shipments_from_customer": from_customer,
        "unknown_numbers": unknown,
        "triggered": triggered,
        "notes": list(data.notes),
        "emotion": emotion,
        "emotion_label": emotion_label,
        "channel": data.channel,
        "channel_label": CHANNEL_LABEL.get(data.channel, data.channel),
        "customer": {"id": customer.id, "name": mask_name(customer.name)} if customer is not None else None,
        "contact": _contact(customer, data, shipments),
        "transcript": [line.dict() for line in data.transcript],
        "built_at": to_iso(now),
    }
    return package, customer


# --- the queue ---


def get(*, session: Session, handoff_id: int) -> Handoff | None:
    """Return a handoff by id."""
    return session.get(Handoff, handoff_id)


def require(*, session: Session, handoff_id: int) -> Handoff:
    """Return a handoff or raise a 404."""
    handoff = get(session=session, handoff_id=handoff_id)
    if handoff is None:
        raise not_found("handoff", handoff_id)
    return handoff


def get_by_key(*, session: Session, idempotency_key: str) -> Handoff | None:
    """Return the handoff an idempotency key created."""
    return session.execute(select(Handoff).where(Handoff.idempotency_key == idempotency_key)).scalar_one_or_none()


def open_for_conversation(*, session: Session, conversation_id: str) -> Handoff | None:
    """The conversation's queued or active handoff, if any."""
    query = (select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES))
             .order_by(Handoff.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def list_for_conversation(*, session: Session, conversation_id: str) -> list[Handoff]:
    """A conversation's handoffs, newest first."""
    query = select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc())
    return list(session.execute(query.limit(50)).scalars())


def queue(*, session: Session, agent: Agent | None = None) -> list[Handoff]:
    """Open handoffs by priority and waiting time; for an agent (not a supervisor) only the waiting ones and
    their own."""
    query = select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
    if agent is not None and not agent.is_supervisor:
        query = query.where(or_(Handoff.agent_id == agent.id,
                                and_(Handoff.status == HandoffStatus.QUEUED.value, Handoff.agent_id.is_(None))))
    query = query.order_by(Handoff.priority, Handoff.created_at, Handoff.id)
    return list(session.execute(query.limit(200)).scalars())


def recently_closed(*, session: Session, limit: int = 10, agent: Agent | None = None) -> list[Handoff]:
    """The latest closed handoffs, for the console's history column; an agent's own only, unless a supervisor."""
    query = select(Handoff).where(Handoff.status == HandoffStatus.CLOSED.value)
    if agent is not None and not agent.is_supervisor:
        query = query.where(Handoff.agent_id == agent.id)
    query = query.order_by(Handoff.closed_at.desc(), Handoff.id.desc())
    return list(session.execute(query.limit(limit)).scalars())


# --- who may see and work a handoff ---


def may_work(agent: Agent, handoff: Handoff) -> bool:
    """Reply, retry, close: the handoff is assigned to the agent, or is waiting in the queue unassigned (there is
    one queue and every agent serves it; answering or closing a waiting one assigns it)."""
    if handoff.agent_id is not None:
        return handoff.agent_id == agent.id
    return handoff.status == HandoffStatus.QUEUED.value


def may_read(agent: Agent, handoff: Handoff) -> bool:
    """Package, transcript, tickets: whoever may work it, and supervisors every handoff."""
    return agent.is_supervisor or may_work(agent, handoff)


def queue_position(session: Session, handoff: Handoff) -> int:
    """1 for the next to be served; 0 once an agent has it."""
    if handoff.status != HandoffStatus.QUEUED.value:
        return 0
    ahead = session.execute(select(func.count()).select_from(Handoff).where(
        Handoff.status == HandoffStatus.QUEUED.value,
        or_(Handoff.priority < handoff.priority,
            and_(Handoff.priority == handoff.priority,
                 or_(Handoff.created_at < handoff.created_at,
                     and_(Handoff.created_at == handoff.created_at, Handoff.id < handoff.id)))))).scalar_one()
    return ahead + 1


def estimated_wait_minutes(session: Session, position: int) -> int:
    """A rough wait: the conversations ahead times the average handling time, shared among agents on duty."""
    if position <= 0:
        return 0
    return max(1, math.ceil(position * HANDLE_MINUTES / max(agents_on_duty(session), 1)))


def create(*, session: Session, data: HandoffIn) -> tuple[Handoff, bool]:
    """Queue a conversation with its package and a `handoff` ticket; the same key, or an open handoff of the
    same conversation, returns the existing one."""
    existing = get_by_key(session=session, idempotency_key=data.idempotency_key) or open_for_conversation(
        session=session, conversation_id=data.conversation_id)
    if existing is not None:
        return existing, False
    now = utcnow()
    package, customer = build_package(session=session, data=data, now=now)
    first = package["shipments"][0]["tracking_number"] if package["shipments"] else None
    ticket, _ = ticket_service.create(session=session, data=TicketIn(
        type=TicketType.HANDOFF, tracking_number=first, conversation_id=data.conversation_id,
        details={"reason": data.reason, "request": data.request, "package": package},
        idempotency_key=f"{data.idempotency_key}:ticket"))
    handoff = Handoff(
        ticket_id=ticket.id, conversation_id=data.conversation_id, channel=data.channel,
        customer_id=customer.id if customer is not None else None, contact=package["contact"],
        status=HandoffStatus.QUEUED.value, priority=priority_of(data), reason=data.reason,
        emotion=data.emotion.level, package=package, idempotency_key=data.idempotency_key, created_at=now)
    handoff, created = db.add_once(
        session, handoff, lambda: get_by_key(session=session, idempotency_key=data.idempotency_key))
    if not created:
        return handoff, False
    ticket.details = {**ticket.details, "handoff_id": handoff.id}
    ticket_service.log_event(session=session, ticket=ticket, kind="handoff_queued", actor="assistant",
                             handoff_id=handoff.id, priority=handoff.priority, reason=data.reason)
    session.flush()
    return handoff, True


def _ticket(session: Session, handoff: Handoff) -> Ticket | None:
    return session.get(Ticket, handoff.ticket_id) if handoff.ticket_id is not None else None


def _move_ticket(session: Session, handoff: Handoff, status: TicketStatus, actor: str, note: str) -> None:
    ticket = _ticket(session, handoff)
    if ticket is None:
        return
    change = status if ticket.status != status.value and ticket_service.can_transition(
        TicketStatus(ticket.status), status) else None
    ticket_service.update(session=session, ticket_id=ticket.id, data=TicketPatch(status=change, note=note,
                                                                                 actor=actor))


def claim(*, session: Session, handoff: Handoff, agent: Agent) -> Handoff:
    """The agent takes the conversation; another agent's or a closed one is a conflict."""
    if handoff.status == HandoffStatus.CLOSED.value:
        raise conflict(f"handoff {handoff.id} is closed")
    if handoff.status == HandoffStatus.ACTIVE.value:
        if handoff.agent_id != agent.id:
            name = handoff.agent.display_name if handoff.agent is not None else "another agent"
            raise conflict(f"handoff {handoff.id} is already handled by {name}")
        return handoff
    # The row lock (PostgreSQL) lets only one of two agents clicking at once take it.
    session.refresh(handoff, with_for_update=True)
    if handoff.status != HandoffStatus.QUEUED.value:
        return claim(session=session, handoff=handoff, agent=agent)
    handoff.status = HandoffStatus.ACTIVE.value
    handoff.agent_id = agent.id
    handoff.claimed_at = utcnow()
    _move_ticket(session, handoff, TicketStatus.IN_PROGRESS, f"agent:{agent.username}",
                 f"{agent.display_name} 接入会话")
    session.flush()
    return handoff


def add_message(*, session: Session, handoff: Handoff, agent: Agent, text: str) -> HandoffMessage:
    """Store an agent's reply for delivery; a queued handoff is claimed by the agent who answers it."""
    if handoff.status == HandoffStatus.CLOSED.value:
        raise conflict(f"handoff {handoff.id} is closed; the bot has the conversation again")
    claim(session=session, handoff=handoff, agent=agent)
    message = HandoffMessage(handoff_id=handoff.id, agent_id=agent.id, text=text, created_at=utcnow())
    session.add(message)
    session.flush()
    return message


def outbox(*, session: Session, handoff: Handoff) -> list[HandoffMessage]:
    """Replies not yet delivered, oldest first."""
    query = select(HandoffMessage).where(HandoffMessage.handoff_id == handoff.id,
                                         HandoffMessage.delivered_at.is_(None)).order_by(HandoffMessage.id)
    return list(session.execute(query).scalars())


def mark_delivered(*, session: Session, handoff: Handoff, message_id: int) -> HandoffMessage:
    """Record that a reply reached the user's channel; marking it again changes nothing."""
    message = session.get(HandoffMessage, message_id)
    if message is None or message.handoff_id != handoff.id:
        raise not_found("message", message_id)
    if message.delivered_at is None:
        message.delivered_at = utcnow()
        message.last_error = None
        session.flush()
    return message


def mark_undelivered(*, session: Session, handoff: Handoff, message_id: int, error: str) -> HandoffMessage:
    """A reply the user's channel refused after it was marked delivered (WeChat outside its 48-hour window, say):
    back into the outbox with the reason, so the console shows it as not delivered and the agent can send it
    again."""
    message = session.get(HandoffMessage, message_id)
    if message is None or message.handoff_id != handoff.id:
        raise not_found("message", message_id)
    message.delivered_at = None
    message.last_error = error[:300]
    session.flush()
    return message


def record_delivery_failure(*, session: Session, handoff: Handoff, error: str) -> None:
    """Note on each undelivered reply why it is still waiting (the console shows it)."""
    for message in outbox(session=session, handoff=handoff):
        message.last_error = error[:300]
    session.flush()


def freeze_transcript(*, session: Session, handoff: Handoff, lines: list[dict], complete: bool,
                      warning: str | None = None) -> None:
    """Keep the closed handoff's transcript as it stood at the close: the console shows this, not the live
    conversation, from then on. An incomplete one (Rasa was unreachable) is replaced by the first complete one,
    a complete one never."""
    if handoff.closed_transcript and (handoff.closed_transcript.get("complete") or not complete):
        return
    handoff.closed_transcript = {"complete": complete, "taken_at": to_iso(utcnow()), "lines": lines[-200:],
                                 **({"warning": warning} if warning else {})}
    session.flush()


def close(*, session: Session, handoff: Handoff, agent: Agent | None) -> Handoff:
    """End the human part; closing again changes nothing (the bot's resume is retried by the flow)."""
    if handoff.status == HandoffStatus.CLOSED.value:
        return handoff
    actor = f"agent:{agent.username}" if agent is not None else "system"
    if agent is not None and handoff.agent_id is None:
        handoff.agent_id = agent.id
    handoff.status = HandoffStatus.CLOSED.value
    handoff.closed_at = utcnow()
    handoff.close_reason = "agent"
    _move_ticket(session, handoff, TicketStatus.RESOLVED, actor, "人工会话结束，机器人恢复服务")
    session.flush()
    return handoff


def mark_resumed(*, session: Session, handoff: Handoff) -> None:
    handoff.resumed_at = utcnow()
    session.flush()


def rate(*, session: Session, handoff: Handoff, rating: int, comment: str | None) -> Handoff:
    """Store the user's 1-5 rating of a closed handoff; a later rating replaces it."""
    if handoff.status != HandoffStatus.CLOSED.value:
        raise conflict(f"handoff {handoff.id} is still {handoff.status}; rate it once it is closed")
    handoff.rating = rating
    handoff.rating_comment = comment
    handoff.rated_at = utcnow()
    ticket = _ticket(session, handoff)
    if ticket is not None:
        ticket_service.log_event(session=session, ticket=ticket, kind="rated", actor="customer", rating=rating,
                                 comment=comment)
    session.flush()
    return handoff


# --- rendering ---


def message_dict(message: HandoffMessage) -> dict:
    return {
        "id": message.id,
        "handoff_id": message.handoff_id,
        "agent": message.agent.username if message.agent is not None else None,
        "agent_name": message.agent.display_name if message.agent is not None else "人工客服",
        "text": message.text,
        "created_at": to_iso(message.created_at),
        "delivered_at": to_iso(message.delivered_at),
        "delivered": message.delivered_at is not None,
        "last_error": message.last_error,
    }


def to_dict(session: Session, handoff: Handoff, *, package: bool = True, now: datetime | None = None) -> dict:
    """The handoff as the API and the console show it."""
    now = now or utcnow()
    position = queue_position(session, handoff)
    end = handoff.claimed_at or (handoff.closed_at if handoff.status == HandoffStatus.CLOSED.value else None) or now
    body = {
        "id": handoff.id,
        "ticket_id": handoff.ticket_id,
        "ticket_ref": f"T{handoff.ticket_id}" if handoff.ticket_id else None,
        "conversation_id": handoff.conversation_id,
        "channel": handoff.channel,
        "channel_label": CHANNEL_LABEL.get(handoff.channel, handoff.channel),
        "customer_id": handoff.customer_id,
        "contact": handoff.contact,
        "status": handoff.status,
        "priority": handoff.priority,
        "priority_label": PRIORITY_LABEL.get(handoff.priority, str(handoff.priority)),
        "reason": handoff.reason,
        "reason_label": REASON_LABEL.get(handoff.reason, handoff.reason),
        "emotion": handoff.emotion,
        "emotion_label": EMOTION_LABEL.get(handoff.emotion, handoff.emotion),
        "request": (handoff.package or {}).get("request"),
        "agent": {"username": handoff.agent.username, "display_name": handoff.agent.display_name}
        if handoff.agent is not None else None,
        "created_at": to_iso(handoff.created_at),
        "claimed_at": to_iso(handoff.claimed_at),
        "closed_at": to_iso(handoff.closed_at),
        "resumed_at": to_iso(handoff.resumed_at),
        "waited_seconds": int(max((end - handoff.created_at).total_seconds(), 0)),
        "queue_position": position,
        "estimated_wait_minutes": estimated_wait_minutes(session, position),
        "close_reason": handoff.close_reason,
        "close_reason_label": CLOSE_REASON_LABEL.get(handoff.close_reason) if handoff.close_reason else None,
        "close_notice": handoff.close_notice,
        "callback_ticket_id": handoff.callback_ticket_id,
        "callback_ticket_ref": f"T{handoff.callback_ticket_id}" if handoff.callback_ticket_id else None,
        "rating": handoff.rating,
        "rating_comment": handoff.rating_comment,
        "undelivered": sum(1 for m in handoff.messages if m.delivered_at is None),
    }
    if package:
        body["package"] = handoff.package
        body["messages"] = [message_dict(m) for m in handoff.messages]
    return body
