"""The agent console (/agent): login, the queue, one handoff with its package, timeline, transcript, replies,
the conversation's tickets and closing. Server-side sessions with a CSRF token on every POST.

Pages redirect to the login page without a session; /agent/api routes answer 401 JSON. The `agent_session` cookie
(HttpOnly, SameSite=Lax, Secure with AGENT_COOKIE_SECURE) holds only a random token; the session itself is a row of
agent_sessions (see auth.py): logout revokes it, a password change revokes all of the agent's, and it ends after
30 idle minutes or 12 hours. Nothing is signed with AGENT_SECRET_KEY, so a cookie forged with it is just an unknown
token. The session's CSRF token must come back in the X-CSRF-Token header (JavaScript) or the csrf_token form
field; before login the form's token is matched against the `agent_csrf` cookie. Logins are throttled per user name
and per client address (auth.py): 429 with Retry-After while locked.

An agent reads and works a handoff only while it waits in the queue or is assigned to them (403 otherwise); a
supervisor reads every handoff. A closed handoff shows the transcript frozen at its close.
"""
from __future__ import annotations

import functools
import hmac
import logging
import math
import secrets
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select
from werkzeug.security import check_password_hash

from logistics.errors import ApiError, bad_request, not_found
from logistics.handoffs import auth, flows, service
from logistics.handoffs.enums import HandoffStatus
from logistics.handoffs.models import Agent, Handoff, PasswordChangeIn, ReplyIn
from logistics.http import parse, session
from logistics.rasa_client import RasaUnavailable, messages
from logistics.shipments import service as shipment_service
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import TicketStatus, allowed_next
from logistics.tickets.models import Ticket, TicketPatch
from logistics.timeutil import CST, to_iso, utcnow

blueprint = Blueprint("agent", __name__, url_prefix="/agent", template_folder="templates", static_folder="static",
                      static_url_path="/static")
CSRF_KEY = "csrf_token"
SESSION_COOKIE = "agent_session"
LOGIN_CSRF_COOKIE = "agent_csrf"
COOKIE_PATH = "/agent"
# Longer tokens than any we issue are refused before they are compared.
MAX_TOKEN_LENGTH = 128
log = logging.getLogger(__name__)


# --- sessions, cookies, CSRF ---


def _client_ip() -> str:
    return (request.remote_addr or "unknown")[:64]


def _live_session():
    """The request's live session row (or None), looked up once."""
    if "agent_session_row" not in g:
        g.agent_session_row = auth.find_session(session=session(), token=request.cookies.get(SESSION_COOKIE),
                                                now=utcnow())
    return g.agent_session_row


def _login_csrf() -> str:
    """The login form's token: the agent_csrf cookie's, or a new one the response sets."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not auth.valid_token(token):
        token = g.get("new_login_csrf") or secrets.token_urlsafe(32)
        g.new_login_csrf = token
    return token


def _same_token(sent: object, expected: str) -> bool:
    """Constant-time comparison of ASCII tokens as bytes: a non-ASCII or oversized value is simply wrong."""
    if not isinstance(sent, str) or not sent or not expected or len(sent) > MAX_TOKEN_LENGTH or not sent.isascii():
        return False
    return hmac.compare_digest(sent.encode("ascii"), expected.encode("ascii"))


def _start(agent: Agent) -> str:
    """A new server-side session for the agent; the response carries its cookie. Returns its CSRF token."""
    token, row = auth.start_session(session=session(), agent=agent, now=utcnow(), ip=_client_ip(),
                                    user_agent=request.headers.get("User-Agent", ""))
    g.new_session_token = token
    g.agent_session_row = row
    return row.csrf_token


@blueprint.after_request
def set_cookies(response):
    settings = current_app.extensions["settings"]
    options = {"path": COOKIE_PATH, "httponly": True, "samesite": "Lax", "secure": settings.agent_cookie_secure}
    if g.get("new_session_token"):
        response.set_cookie(SESSION_COOKIE, g.new_session_token, **options)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    elif g.get("clear_session"):
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    if g.get("new_login_csrf") and not g.get("new_session_token"):
        response.set_cookie(LOGIN_CSRF_COOKIE, g.new_login_csrf, **options)
    if request.endpoint != "agent.static":
        # Pages and answers about conversations stay out of shared and browser caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.errorhandler(ApiError)
def api_error(exc: ApiError):
    response = jsonify(exc.body())
    if exc.status == 429 and isinstance(exc.details, dict) and exc.details.get("retry_after_seconds"):
        response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    return response, exc.status


@blueprint.before_request
def check_csrf():
    if request.method != "POST":
        return None
    if request.endpoint == "agent.login_submit":
        token = request.cookies.get(LOGIN_CSRF_COOKIE)
        expected = token if auth.valid_token(token) else ""
    else:
        row = _live_session()
        if row is None and request.endpoint == "agent.logout":
            return None  # nothing to protect: it only clears the cookie
        expected = row.csrf_token if row is not None else ""
    sent = request.headers.get("X-CSRF-Token") or request.form.get(CSRF_KEY) or ""
    if not _same_token(sent, expected):
        if request.path.startswith("/agent/api/") or request.is_json:
            return jsonify({"error": "csrf", "message": "missing or wrong CSRF token"}), 403
        return "missing or wrong CSRF token", 403
    return None


def current_agent() -> Agent | None:
    row = _live_session()
    return row.agent if row is not None else None


def csrf_token() -> str:
    """The logged-in session's CSRF token."""
    return _live_session().csrf_token


def login_required(api: bool):
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            agent = current_agent()
            if agent is None:
                if request.cookies.get(SESSION_COOKIE) is not None:
                    g.clear_session = True
                if api:
                    return jsonify({"error": "unauthorized", "message": "log in at /agent/login"}), 401
                return redirect(url_for("agent.login", next=request.path))
            g.agent = agent
            return view(*args, **kwargs)
        return inner
    return wrap


def _throttled(locked: auth.Locked) -> ApiError:
    minutes = max(1, math.ceil(locked.retry_after_seconds / 60))
    return ApiError(429, "throttled", f"密码错误次数太多，已暂时锁定，请 {minutes} 分钟后再试",
                    {"retry_after_seconds": locked.retry_after_seconds})


def _check_password(agent_or_name: Agent | str, password: str) -> Agent | None:
    """Check a password under the throttle: the agent when right; None (counted) when wrong; ApiError 429 while
    the user name or the address is locked, the right password included."""
    s, now, ip = session(), utcnow(), _client_ip()
    username = agent_or_name.username if isinstance(agent_or_name, Agent) else agent_or_name
    locked = auth.lock_of(session=s, username=username, ip=ip, now=now)
    if locked is not None:
        raise _throttled(locked)
    if isinstance(agent_or_name, Agent):
        agent = agent_or_name if check_password_hash(agent_or_name.password_hash, password) else None
    else:
        agent = service.authenticate(session=s, username=username, password=password)
    if agent is None:
        auth.record_failure(session=s, username=username, ip=ip, now=now)
        # The failure must count although the request answers with an error (which rolls back).
        s.commit()
        return None
    auth.record_success(session=s, username=username, ip=ip, now=now)
    return agent


# --- pages ---


@blueprint.get("/login")
def login():
    return render_template("agent_login.html", csrf_token=_login_csrf(), error=None,
                           next=request.args.get("next") or "")


def _field(data, name: str, limit: int) -> str:
    value = data.get(name) if hasattr(data, "get") else None
    return value[:limit] if isinstance(value, str) else ""


@blueprint.post("/login")
def login_submit():
    """The login form, or JSON {"username", "password"} (answered in JSON) with the token in X-CSRF-Token."""
    wants_json = request.is_json
    data = request.get_json(silent=True) if wants_json else request.form
    if wants_json and not isinstance(data, dict):
        raise bad_request("send a JSON object with username and password")
    username, target = _field(data, "username", 64), _field(data, "next", 300)
    try:
        agent = _check_password(username, _field(data, "password", 200))
    except ApiError as exc:
        if wants_json:
            raise
        page = render_template("agent_login.html", csrf_token=_login_csrf(), error=exc.message, next=target)
        return page, exc.status, {"Retry-After": str(exc.details["retry_after_seconds"])}
    if agent is None:
        if wants_json:
            raise ApiError(401, "invalid_credentials", "用户名或密码不对")
        return render_template("agent_login.html", csrf_token=_login_csrf(), error="用户名或密码不对",
                               next=target), 401
    # A fresh session (and CSRF token) at every login; the browser's previous session ends.
    previous = _live_session()
    if previous is not None:
        auth.revoke(session=session(), row=previous, now=utcnow())
    token = _start(agent)
    if wants_json:
        return {"agent": _agent_dict(agent), "csrf_token": token}
    return redirect(target if target.startswith("/agent") and not target.startswith("//") else url_for("agent.home"))


@blueprint.post("/logout")
def logout():
    row = _live_session()
    if row is not None:
        auth.revoke(session=session(), row=row, now=utcnow())
    g.clear_session = True
    return redirect(url_for("agent.login"))


def _change_password(current: str, new: str, confirm: str | None = None) -> str:
    """Check the current password (throttled like a login), store the new one, revoke every session of the agent
    and start a new one for this browser; returns its CSRF token."""
    try:
        data = PasswordChangeIn(current_password=current, new_password=new)
    except ValidationError:
        raise ApiError(422, "validation_error", "新密码至少 8 个字符") from None
    if confirm is not None and confirm != data.new_password:
        raise ApiError(422, "validation_error", "两次输入的新密码不一致")
    if _check_password(g.agent, data.current_password) is None:
        raise ApiError(403, "wrong_password", "当前密码不对")
    if data.new_password == data.current_password:
        raise ApiError(422, "validation_error", "新密码不能和当前密码相同")
    revoked = service.set_password(session=session(), agent=g.agent, password=data.new_password)
    log.info("agent %s changed the password; %d sessions revoked", g.agent.username, revoked)
    return _start(g.agent)


@blueprint.get("/password")
@login_required(api=False)
def password_page():
    return render_template("agent_password.html", agent=g.agent, csrf_token=csrf_token(), error=None, done=False)


@blueprint.post("/password")
@login_required(api=False)
def password_submit():
    form = request.form
    try:
        token = _change_password(_field(form, "current_password", 200), _field(form, "new_password", 200),
                                 _field(form, "confirm_password", 200))
    except ApiError as exc:
        headers = {"Retry-After": str(exc.details["retry_after_seconds"])} if exc.status == 429 else {}
        return render_template("agent_password.html", agent=g.agent, csrf_token=csrf_token(), error=exc.message,
                               done=False), exc.status, headers
    return render_template("agent_password.html", agent=g.agent, csrf_token=token, error=None, done=True)


@blueprint.get("/")
@login_required(api=False)
def home():
    return render_template("agent_console.html", agent=g.agent, csrf_token=csrf_token(), handoff_id="")


@blueprint.get("/handoffs/<int:handoff_id>")
@login_required(api=False)
def handoff_page(handoff_id: int):
    return render_template("agent_console.html", agent=g.agent, csrf_token=csrf_token(), handoff_id=handoff_id)


# --- JSON for the console's script ---


def _agent_dict(agent: Agent) -> dict:
    return {"username": agent.username, "display_name": agent.display_name, "role": agent.role}


@blueprint.get("/api/session")
@login_required(api=True)
def api_session():
    return {"agent": _agent_dict(g.agent), "csrf_token": csrf_token()}


@blueprint.post("/api/password")
@login_required(api=True)
def api_password():
    """{"current_password", "new_password"}: every session of the agent ends; this browser gets a new one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("send a JSON object with current_password and new_password")
    token = _change_password(_field(body, "current_password", 200), _field(body, "new_password", 200))
    return {"changed": True, "csrf_token": token}


def _handoff(handoff_id: int, *, work: bool = False) -> Handoff:
    """The handoff if this agent may read it (work=False) or work it (work=True); 404 or 403 otherwise."""
    handoff = service.require(session=session(), handoff_id=handoff_id)
    allowed = service.may_work(g.agent, handoff) if work else service.may_read(g.agent, handoff)
    if not allowed:
        raise ApiError(403, "forbidden", "这个会话由其他客服负责，您不能查看或操作")
    return handoff


@blueprint.get("/api/queue")
@login_required(api=True)
def api_queue():
    """Waiting handoffs, the agent's own active and recently closed ones (a supervisor's: everybody's)."""
    s = session()
    open_ = [service.to_dict(s, h, package=False) for h in service.queue(session=s, agent=g.agent)]
    return {
        "queued": [h for h in open_ if h["status"] == "queued"],
        "active": [h for h in open_ if h["status"] == "active"],
        "closed": [service.to_dict(s, h, package=False)
                   for h in service.recently_closed(session=s, agent=g.agent)],
        "agents_on_duty": service.agents_on_duty(s),
        "now": to_iso(utcnow()),
    }


def _tickets_of(handoff) -> list[dict]:
    s = session()
    found = {t.id: t for t in ticket_service.list_for(session=s, conversation_id=handoff.conversation_id)}
    for number in (handoff.package or {}).get("tracking_numbers") or []:
        found.update({t.id: t for t in ticket_service.list_for(session=s, tracking_number=number)})
    if handoff.customer_id is not None:
        found.update({t.id: t for t in ticket_service.list_for(session=s, customer_id=handoff.customer_id)})
    tickets = sorted(found.values(), key=lambda t: (t.created_at, t.id), reverse=True)
    out = []
    for ticket in tickets[:30]:
        line = ticket_service.summary(ticket)
        line["allowed_next"] = allowed_next(TicketStatus(ticket.status))
        line["notes"] = [{"actor": h.actor, "text": (h.data or {}).get("text"), "created_at": to_iso(h.created_at)}
                         for h in ticket.history if h.kind == "note"][-3:]
        out.append(line)
    return out


def _shown_with(ticket: Ticket, handoff: Handoff) -> bool:
    """Whether the console lists this ticket with this handoff (the same rules as _tickets_of)."""
    if ticket.conversation_id and ticket.conversation_id == handoff.conversation_id:
        return True
    if ticket.tracking_number and ticket.tracking_number in ((handoff.package or {}).get("tracking_numbers") or []):
        return True
    if handoff.customer_id is None:
        return False
    s = session()
    query = select(Ticket.id).where(Ticket.id == ticket.id, ticket_service._of_customer(s, handoff.customer_id))
    return s.execute(query).first() is not None


def _may_change_ticket(ticket: Ticket) -> bool:
    """A ticket shown with a handoff the agent may work (theirs or a waiting one)."""
    s = session()
    mine = select(Handoff).where(Handoff.agent_id == g.agent.id).order_by(Handoff.id.desc()).limit(50)
    candidates = list(s.execute(mine).scalars()) + [h for h in service.queue(session=s)
                                                     if service.may_work(g.agent, h)]
    return any(_shown_with(ticket, h) for h in candidates)


def _timelines(handoff) -> list[dict]:
    s = session()
    out = []
    for line in (handoff.package or {}).get("shipments") or []:
        shipment = shipment_service.get_by_number(session=s, tracking_number=line["tracking_number"])
        if shipment is None:
            continue
        detail = shipment_service.detail(shipment, "agent")
        out.append({key: detail.get(key) for key in ("tracking_number", "carrier_name", "status_label",
                                                     "goods_description", "origin", "destination", "eta",
                                                     "incident", "events", "recipient")})
    return out


@blueprint.get("/api/handoffs/<int:handoff_id>")
@login_required(api=True)
def api_handoff(handoff_id: int):
    s = session()
    handoff = _handoff(handoff_id)
    body = service.to_dict(s, handoff)
    body["tickets"] = _tickets_of(handoff)
    body["timelines"] = _timelines(handoff)
    body["mine"] = handoff.agent_id == g.agent.id
    body["may_work"] = service.may_work(g.agent, handoff)
    return body


@blueprint.post("/api/handoffs/<int:handoff_id>/claim")
@login_required(api=True)
def api_claim(handoff_id: int):
    """Take a waiting handoff; one another agent took, or a closed one, is a conflict (409)."""
    s = session()
    handoff = service.claim(session=s, handoff=service.require(session=s, handoff_id=handoff_id), agent=g.agent)
    return service.to_dict(s, handoff, package=False)


def _time(value) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), tz=CST).isoformat(timespec="seconds")


def _pending_lines(pending: list[dict]) -> list[dict]:
    return [{"role": "agent", "text": m["text"], "time": m["created_at"], "agent": m["agent_name"],
             "delivered": False, "error": m["last_error"]} for m in pending]


def _recorded_lines(handoff: Handoff, pending: list[dict]) -> list[dict]:
    """Without Rasa: the transcript the handoff arrived with, then what the user wrote since and the agents'
    replies in time order."""
    lines = [dict(line) for line in (handoff.package or {}).get("transcript") or []]
    since = [(m.sent_at, {"role": "user", "text": m.text, "time": to_iso(m.sent_at)}) for m in handoff.user_messages]
    since += [(m.created_at, {"role": "agent", "text": m.text, "time": to_iso(m.created_at),
                              "agent": m.agent.display_name if m.agent is not None else "人工客服", "delivered": True})
              for m in handoff.messages if m.delivered_at is not None]
    return lines + [line for _, line in sorted(since, key=lambda item: item[0])] + _pending_lines(pending)


def _tracker_lines(events: list[dict]) -> list[dict]:
    lines = []
    for item in messages({"events": events}):
        custom = item.get("custom") or {}
        custom = custom.get("data") if isinstance(custom, dict) and isinstance(custom.get("data"), dict) else custom
        if item["role"] == "bot" and isinstance(custom, dict) and custom.get("from") == "agent":
            lines.append({"role": "agent", "text": item["text"], "time": _time(item["time"]),
                          "agent": custom.get("agent"), "delivered": True})
        else:
            lines.append({"role": item["role"], "text": item["text"], "time": _time(item["time"]),
                          **({"buttons": [b.get("title") for b in item["buttons"]]} if item.get("buttons") else {})})
    return lines


def _until_close(events: list[dict], handoff: Handoff, just_resumed: bool) -> list[dict]:
    """The tracker's events up to the close of the handoff: everything before the user's first message after it.

    Right after the bot was given the conversation back, "after it" is after the last resume event (so the
    rating question the bot asked on resuming is kept); otherwise after closed_at by the events' timestamps."""
    resumes = [i for i, e in enumerate(events) if e.get("event") == "resume"]
    if just_resumed and resumes:
        after = resumes[-1] + 1
    else:
        closed = handoff.closed_at.replace(tzinfo=timezone.utc).timestamp()
        after = next((i for i, e in enumerate(events) if float(e.get("timestamp") or 0) > closed), len(events))
    cut = next((i for i in range(after, len(events)) if events[i].get("event") == "user"), len(events))
    return events[:cut]


CLOSED_NOTE = "会话已结束，以下是结束时的对话记录"
CLOSED_PARTIAL_NOTE = "会话已结束；结束时机器人服务不可达，显示的是转人工时的记录和客服回复"


def _freeze(handoff: Handoff, *, just_resumed: bool) -> None:
    """Store the closed handoff's transcript as it stood at the close (complete when Rasa answered)."""
    s = session()
    pending = [service.message_dict(m) for m in handoff.messages if m.delivered_at is None]
    try:
        tracker = flows.rasa().tracker(handoff.conversation_id)
    except RasaUnavailable as exc:
        log.warning("transcript of closed handoff %s: %s", handoff.id, exc)
        service.freeze_transcript(session=s, handoff=handoff, lines=_recorded_lines(handoff, pending),
                                  complete=False, warning=CLOSED_PARTIAL_NOTE)
        return
    events = _until_close(list(tracker.get("events") or []), handoff, just_resumed)
    service.freeze_transcript(session=s, handoff=handoff, lines=_tracker_lines(events) + _pending_lines(pending),
                              complete=True)


@blueprint.get("/api/handoffs/<int:handoff_id>/transcript")
@login_required(api=True)
def api_transcript(handoff_id: int):
    """The live conversation from Rasa's tracker (the user's messages while paused included) and the replies; for
    a closed handoff the transcript frozen at its close."""
    handoff = _handoff(handoff_id)
    if handoff.status == HandoffStatus.CLOSED.value:
        if not (handoff.closed_transcript or {}).get("complete"):
            _freeze(handoff, just_resumed=False)
        frozen = handoff.closed_transcript
        return {"live": False, "frozen": True, "complete": frozen["complete"], "closed_at": to_iso(handoff.closed_at),
                "warning": frozen.get("warning") or CLOSED_NOTE, "paused": None, "lines": frozen["lines"],
                "pending": []}
    pending = [service.message_dict(m) for m in handoff.messages if m.delivered_at is None]
    try:
        tracker = flows.rasa().tracker(handoff.conversation_id)
    except RasaUnavailable as exc:
        log.warning("transcript of handoff %s: %s", handoff.id, exc)
        return {"live": False, "warning": "机器人服务暂时不可达，显示的是转人工时的记录",
                "paused": None, "lines": _recorded_lines(handoff, pending), "pending": pending}
    lines = _tracker_lines(list(tracker.get("events") or [])) + _pending_lines(pending)
    return {"live": True, "paused": bool(tracker.get("paused")), "lines": lines[-200:], "pending": pending}


@blueprint.post("/api/handoffs/<int:handoff_id>/messages")
@login_required(api=True)
def api_reply(handoff_id: int):
    s = session()
    data = parse(ReplyIn)
    handoff = _handoff(handoff_id, work=True)
    message = service.add_message(session=s, handoff=handoff, agent=g.agent, text=data.text)
    delivered = flows.relay(session=s, handoff=handoff)
    s.refresh(message)
    return {"message": service.message_dict(message), "delivered": delivered}, 201


@blueprint.post("/api/handoffs/<int:handoff_id>/retry")
@login_required(api=True)
def api_retry(handoff_id: int):
    s = session()
    handoff = _handoff(handoff_id, work=True)
    delivered = flows.relay(session=s, handoff=handoff)
    return {"delivered": delivered, "pending": [service.message_dict(m) for m in service.outbox(session=s,
                                                                                                 handoff=handoff)]}


@blueprint.post("/api/handoffs/<int:handoff_id>/close")
@login_required(api=True)
def api_close(handoff_id: int):
    """结束会话: closed here, then the bot resumes and asks for a rating; a failed resume can be retried. The
    transcript is frozen as it stands at the close (the rating question included when the bot resumed)."""
    s = session()
    handoff = service.close(session=s, handoff=_handoff(handoff_id, work=True), agent=g.agent)
    just_resumed = handoff.resumed_at is None and flows.resume(session=s, handoff=handoff)
    resumed = just_resumed or handoff.resumed_at is not None
    if not (handoff.closed_transcript or {}).get("complete"):
        _freeze(handoff, just_resumed=just_resumed)
    body = service.to_dict(s, handoff, package=False)
    body["resumed"] = resumed
    if not resumed:
        body["warning"] = "会话已结束，但机器人暂时无法恢复（Rasa 不可达），请稍后再点「结束会话」重试。"
    return body


@blueprint.post("/api/tickets/<int:ticket_id>")
@login_required(api=True)
def api_ticket(ticket_id: int):
    """Add a note, change the status (e.g. resolve) or the due time of a ticket shown with a handoff the agent
    works."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("send a JSON object with note, status or sla_due_at")
    ticket = session().get(Ticket, ticket_id)
    if ticket is None:
        raise not_found("ticket", ticket_id)
    if not _may_change_ticket(ticket):
        raise ApiError(403, "forbidden", "这个工单不属于您负责的会话")
    fields = {k: body[k] for k in ("note", "status", "sla_due_at") if body.get(k) not in (None, "")}
    try:
        data = TicketPatch(actor=f"agent:{g.agent.username}", **fields)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"invalid request: {str(exc)[:300]}") from None
    ticket = ticket_service.update(session=session(), ticket_id=ticket_id, data=data)
    return ticket_service.summary(ticket)
