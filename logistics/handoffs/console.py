"""The agent console (/agent): login, the queue, one handoff with its package, timeline, live transcript, replies,
the conversation's tickets and closing. Session cookie auth with a CSRF token on every POST.

Pages redirect to the login page without a session; /agent/api routes answer 401 JSON. The cookie is signed with
AGENT_SECRET_KEY, HttpOnly and SameSite=Lax; the CSRF token lives in the session and must come back in the
X-CSRF-Token header (JavaScript) or the csrf_token form field (the login and logout forms).
"""
from __future__ import annotations

import functools
import hmac
import logging
import secrets
from datetime import datetime

from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from flask import session as cookie

from logistics.errors import ApiError, bad_request
from logistics.handoffs import flows, service
from logistics.handoffs.models import Agent, ReplyIn
from logistics.http import parse, session
from logistics.rasa_client import RasaUnavailable, messages
from logistics.shipments import service as shipment_service
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import TicketStatus, allowed_next
from logistics.tickets.models import TicketPatch
from logistics.timeutil import CST, to_iso, utcnow

blueprint = Blueprint("agent", __name__, url_prefix="/agent", template_folder="templates", static_folder="static",
                      static_url_path="/static")
CSRF_KEY = "csrf_token"
log = logging.getLogger(__name__)


def csrf_token() -> str:
    """The session's CSRF token, created on first use (also before login, for the login form)."""
    if CSRF_KEY not in cookie:
        cookie[CSRF_KEY] = secrets.token_urlsafe(32)
    return cookie[CSRF_KEY]


@blueprint.before_request
def check_csrf():
    if request.method != "POST":
        return None
    sent = request.headers.get("X-CSRF-Token") or request.form.get(CSRF_KEY) or ""
    expected = cookie.get(CSRF_KEY) or ""
    if not expected or not hmac.compare_digest(sent, expected):
        if request.path.startswith("/agent/api/"):
            return jsonify({"error": "csrf", "message": "missing or wrong CSRF token"}), 403
        return "missing or wrong CSRF token", 403
    return None


def current_agent() -> Agent | None:
    agent_id = cookie.get("agent_id")
    if agent_id is None:
        return None
    agent = session().get(Agent, agent_id)
    return agent if agent is not None and agent.active else None


def login_required(api: bool):
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            agent = current_agent()
            if agent is None:
                if api:
                    return jsonify({"error": "unauthorized", "message": "log in at /agent/login"}), 401
                return redirect(url_for("agent.login", next=request.path))
            g.agent = agent
            return view(*args, **kwargs)
        return inner
    return wrap


# --- pages ---


@blueprint.get("/login")
def login():
    return render_template("agent_login.html", csrf_token=csrf_token(), error=None,
                           next=request.args.get("next") or "")


@blueprint.post("/login")
def login_submit():
    agent = service.authenticate(session=session(), username=request.form.get("username", "")[:64],
                                 password=request.form.get("password", "")[:200])
    if agent is None:
        return render_template("agent_login.html", csrf_token=csrf_token(), error="用户名或密码不对",
                               next=request.form.get("next") or ""), 401
    # A fresh session (and CSRF token) at login, so a token planted before it is worthless.
    cookie.clear()
    cookie["agent_id"] = agent.id
    csrf_token()
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/agent") and not target.startswith("//") else url_for("agent.home"))


@blueprint.post("/logout")
def logout():
    cookie.clear()
    return redirect(url_for("agent.login"))


@blueprint.get("/")
@login_required(api=False)
def home():
    return render_template("agent_console.html", agent=g.agent, csrf_token=csrf_token(), handoff_id="")


@blueprint.get("/handoffs/<int:handoff_id>")
@login_required(api=False)
def handoff_page(handoff_id: int):
    return render_template("agent_console.html", agent=g.agent, csrf_token=csrf_token(), handoff_id=handoff_id)


# --- JSON for the console's script ---


@blueprint.get("/api/session")
@login_required(api=True)
def api_session():
    return {"agent": {"username": g.agent.username, "display_name": g.agent.display_name},
            "csrf_token": csrf_token()}


@blueprint.get("/api/queue")
@login_required(api=True)
def api_queue():
    s = session()
    open_ = [service.to_dict(s, h, package=False) for h in service.queue(session=s)]
    return {
        "queued": [h for h in open_ if h["status"] == "queued"],
        "active": [h for h in open_ if h["status"] == "active"],
        "closed": [service.to_dict(s, h, package=False) for h in service.recently_closed(session=s)],
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
    handoff = service.require(session=s, handoff_id=handoff_id)
    body = service.to_dict(s, handoff)
    body["tickets"] = _tickets_of(handoff)
    body["timelines"] = _timelines(handoff)
    body["mine"] = handoff.agent_id == g.agent.id
    return body


@blueprint.post("/api/handoffs/<int:handoff_id>/claim")
@login_required(api=True)
def api_claim(handoff_id: int):
    s = session()
    handoff = service.claim(session=s, handoff=service.require(session=s, handoff_id=handoff_id), agent=g.agent)
    return service.to_dict(s, handoff, package=False)


def _time(value) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), tz=CST).isoformat(timespec="seconds")


@blueprint.get("/api/handoffs/<int:handoff_id>/transcript")
@login_required(api=True)
def api_transcript(handoff_id: int):
    """The live conversation from Rasa's tracker (the user's messages while paused included) and the replies."""
    s = session()
    handoff = service.require(session=s, handoff_id=handoff_id)
    pending = [service.message_dict(m) for m in handoff.messages if m.delivered_at is None]
    try:
        tracker = flows.rasa().tracker(handoff.conversation_id)
    except RasaUnavailable as exc:
        lines = [dict(line) for line in (handoff.package or {}).get("transcript") or []]
        lines += [{"role": "agent", "text": m.text, "time": to_iso(m.created_at),
                   "agent": m.agent.display_name if m.agent is not None else "人工客服", "delivered": True}
                  for m in handoff.messages if m.delivered_at is not None]
        lines += [{"role": "agent", "text": m["text"], "time": m["created_at"], "agent": m["agent_name"],
                   "delivered": False, "error": m["last_error"]} for m in pending]
        log.warning("transcript of handoff %s: %s", handoff.id, exc)
        return {"live": False, "warning": "机器人服务暂时不可达，显示的是转人工时的记录",
                "paused": None, "lines": lines, "pending": pending}
    lines = []
    for item in messages(tracker):
        custom = item.get("custom") or {}
        custom = custom.get("data") if isinstance(custom, dict) and isinstance(custom.get("data"), dict) else custom
        if item["role"] == "bot" and isinstance(custom, dict) and custom.get("from") == "agent":
            lines.append({"role": "agent", "text": item["text"], "time": _time(item["time"]),
                          "agent": custom.get("agent"), "delivered": True})
        else:
            lines.append({"role": item["role"], "text": item["text"], "time": _time(item["time"]),
                          **({"buttons": [b.get("title") for b in item["buttons"]]} if item.get("buttons") else {})})
    for m in pending:
        lines.append({"role": "agent", "text": m["text"], "time": m["created_at"], "agent": m["agent_name"],
                      "delivered": False, "error": m["last_error"]})
    return {"live": True, "paused": bool(tracker.get("paused")), "lines": lines[-200:], "pending": pending}


@blueprint.post("/api/handoffs/<int:handoff_id>/messages")
@login_required(api=True)
def api_reply(handoff_id: int):
    s = session()
    data = parse(ReplyIn)
    handoff = service.require(session=s, handoff_id=handoff_id)
    message = service.add_message(session=s, handoff=handoff, agent=g.agent, text=data.text)
    delivered = flows.relay(session=s, handoff=handoff)
    s.refresh(message)
    return {"message": service.message_dict(message), "delivered": delivered}, 201


@blueprint.post("/api/handoffs/<int:handoff_id>/retry")
@login_required(api=True)
def api_retry(handoff_id: int):
    s = session()
    handoff = service.require(session=s, handoff_id=handoff_id)
    delivered = flows.relay(session=s, handoff=handoff)
    return {"delivered": delivered, "pending": [service.message_dict(m) for m in service.outbox(session=s,
                                                                                                 handoff=handoff)]}


@blueprint.post("/api/handoffs/<int:handoff_id>/close")
@login_required(api=True)
def api_close(handoff_id: int):
    """结束会话: closed here, then the bot resumes and asks for a rating; a failed resume can be retried."""
    s = session()
    handoff = service.close(session=s, handoff=service.require(session=s, handoff_id=handoff_id), agent=g.agent)
    resumed = handoff.resumed_at is not None or flows.resume(session=s, handoff=handoff)
    body = service.to_dict(s, handoff, package=False)
    body["resumed"] = resumed
    if not resumed:
        body["warning"] = "会话已结束，但机器人暂时无法恢复（Rasa 不可达），请稍后再点「结束会话」重试。"
    return body


@blueprint.post("/api/tickets/<int:ticket_id>")
@login_required(api=True)
def api_ticket(ticket_id: int):
    """Add a note, change the status (e.g. resolve) or the due time of a ticket, as the agent."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("send a JSON object with note, status or sla_due_at")
    fields = {k: body[k] for k in ("note", "status", "sla_due_at") if body.get(k) not in (None, "")}
    try:
        data = TicketPatch(actor=f"agent:{g.agent.username}", **fields)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"invalid request: {str(exc)[:300]}") from None
    ticket = ticket_service.update(session=session(), ticket_id=ticket_id, data=data)
    return ticket_service.summary(ticket)
