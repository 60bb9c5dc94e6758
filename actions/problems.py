"""Problems (urge, lost, damaged, signed-not-received, delay): pull the data, trigger the process, say what we did.

action_track_parcel identifies the parcel first; when the user came with a problem it sets
tracking_outcome=problem and action_handle_problem takes over. It opens the right ticket (idempotent keys, so
a repeated message, a double click or a channel retry never makes a second one) and sets problem_outcome and
the slots the responses in domain/problems.yml are rendered from.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend, complaints, followup
from actions.backend import BackendClient, BackendError
from actions.formatting import clock_phrase, duration_phrase, scan_time
from actions.identity import proof

PROBLEM_INTENTS = ("urge_delivery", "report_lost", "report_damaged", "report_delay", "signed_not_received",
                   "file_claim", "complain_delivery_service", "change_address", "customs_inquiry", "add_info")
CUSTOMS_WAITING = {"customs_pending", "customs_processing"}
# Customs usually allow about 15 days to supply what they ask for; past ~10 days we warn of a return.
CUSTOMS_RETURN_RISK_DAYS = 10
# What the user must supply for customs: answered as such, not as the customs status again.
CUSTOMS_MATERIALS = re.compile(r"材料|身份证|证件|补税|交税|缴税|税费|关税|提供什么|要补|补什么|实名")
# Questions about tickets need no parcel: they are answered from the conversation's and customer's tickets.
TICKET_INTENTS = ("check_ticket", "claim_status")
# Disagreeing with a payout is for a person to decide: the bot offers the claims desk with the case attached.
_OBJECTIONS = "太少|少了|不合理|不够|不认可|不接受|不同意|有异议|不满意"
CLAIM_DISPUTE = re.compile(rf"赔.{{0,8}}(?:{_OBJECTIONS}|才|就给)|(?:{_OBJECTIONS}).{{0,8}}赔")
DISPUTE_INTENTS = ("claim_status", "file_claim", "complain_delivery_service")
CLAIM_TYPES = ("claim", "fresh_priority_claim", "lost_investigation")
# The complaint categories with their everyday phrasings live in actions/complaints.py (DESIGN codes).
COMPLAINT_WORDS = {code: patterns for code, (_, patterns) in complaints.CATEGORIES.items()}
BEFORE_DELIVERY = {"created", "picked_up", "in_transit", "arrived_hub", "departed_hub", "at_outlet",
                   "customs_pending", "customs_processing", "customs_cleared"}
# No scan for this long (or a carrier's explicit "lost") opens a lost investigation.
LOST_AFTER_HOURS = 72
NOT_YET_AT_OUTLET = {"created", "picked_up", "in_transit", "arrived_hub", "departed_hub", "customs_pending",
                     "customs_processing", "customs_cleared"}
SIGNED = {"delivered", "in_locker", "at_station"}
OPEN = {"open", "in_progress", "waiting_customer"}


def _hours_since(iso: Optional[str]) -> float:
    if not iso:
        return 0.0
    return max((datetime.now(timezone.utc) - datetime.fromisoformat(iso)).total_seconds() / 3600, 0.0)


def _last_event(shipment: Dict[str, Any]) -> Dict[str, Any]:
    events = shipment.get("events") or []
    return events[0] if events else (shipment.get("last_event") or {})


def ticket_slots(ticket: Dict[str, Any], prefix: str = "ticket") -> List[EventType]:
    """The ticket reference and its promise, as the user reads them."""
    return [
        SlotSet(f"{prefix}_ref", f"T{ticket['id']}"),
        SlotSet(f"{prefix}_due", clock_phrase(ticket.get("sla_due_at"))),
    ]


class ProblemContext:
    """What the handler knows: the conversation, the parcel (as the caller may see it) and the backend."""

    def __init__(self, tracker: Tracker, client: BackendClient, shipment: Dict[str, Any], proof: Dict[str, Any]):
        self.tracker = tracker
        self.client = client
        self.shipment = shipment
        self.proof = proof
        self.number = shipment["tracking_number"]
        self.last = _last_event(shipment)
        self.role = shipment.get("role") or "recipient"

    def open_ticket(self, type_: str, key: str, **details) -> Dict[str, Any]:
        return self.client.create_ticket(type=type_, idempotency_key=key, tracking_number=self.number,
                                         conversation_id=self.tracker.sender_id,
                                         details={"role": self.role, "user_said": self.text, **details})

    @property
    def text(self) -> str:
        return self.tracker.latest_message.get("text") or ""

    def tickets(self, type_: str) -> List[Dict[str, Any]]:
        """This parcel's tickets of one type that this conversation may see (its own and shared), newest first."""
        return [t for t in self.client.tickets(conversation_id=self.tracker.sender_id)
                if t["type"] == type_ and t.get("tracking_number") == self.number]


def handle_urge(ctx: ProblemContext) -> List[EventType]:
    """At an outlet past its promised window: an urge ticket with a 30-minute callback; otherwise the truth."""
    status = ctx.shipment["status"]
    if status == "out_for_delivery":
        return [SlotSet("problem_outcome", "urge_out_for_delivery")]
    if status in NOT_YET_AT_OUTLET:
        return [SlotSet("problem_outcome", "urge_not_at_outlet")]
    if status in ("at_station", "in_locker"):
        return _arrival_slots(ctx) + [SlotSet("problem_outcome", "urge_ready_for_pickup")]
    if status == "delivered":
        return [SlotSet("problem_outcome", "urge_delivered")]
    if status != "at_outlet":
        return [SlotSet("problem_outcome", "show_status")]
    outlet = ctx.client.outlet(ctx.number, **ctx.proof)
    events: List[EventType] = [
        SlotSet("outlet_name", outlet.get("name") or ""),
        SlotSet("outlet_phone", outlet.get("phone") or ""),
        SlotSet("promised_hours", str(outlet.get("promised_dispatch_hours") or "")),
        SlotSet("waited", duration_phrase(outlet.get("waited_hours") or 0)),
    ]
    now = datetime.now(timezone.utc)
    # One urge per parcel and SLA window, whoever asks: key urge:<number>:<urges before it>. Another
    # conversation's open urge is joined (shared with this one), not repeated; the list is read internally only.
    urges = sorted((t for t in ctx.client.tickets(tracking_number=ctx.number) if t["type"] == "urge"),
                   key=lambda t: (t["created_at"], t["id"]))
    for index, ticket in enumerate(urges):
        if ticket["status"] in OPEN and datetime.fromisoformat(ticket["sla_due_at"]) > now:
            if ticket.get("conversation_id") != ctx.tracker.sender_id:
                ticket = ctx.open_ticket("urge", f"urge:{ctx.number}:{index}", outlet=outlet.get("code"),
                                         waited_hours=outlet.get("waited_hours"))
            ctx.client.update_ticket(ticket["id"], note=f"用户再次催促：{ctx.text}", actor="assistant")
            age = duration_phrase(_hours_since(ticket["created_at"]))
            return events + ticket_slots(ticket) + [SlotSet("ticket_age", age),
                                                    SlotSet("problem_outcome", "urge_existing")]
    if not outlet.get("overdue"):
        return events + [SlotSet("problem_outcome", "urge_within_window")]
    ticket = ctx.open_ticket("urge", f"urge:{ctx.number}:{len(urges)}", outlet=outlet.get("code"),
                             waited_hours=outlet.get("waited_hours"))
    return events + ticket_slots(ticket) + [SlotSet("problem_outcome", "urge_created")]


def _arrival_slots(ctx: ProblemContext) -> List[EventType]:
    """Where and since when the parcel waits for pickup (a station or a locker)."""
    facility = ctx.last.get("facility") or {}
    return [SlotSet("pickup_place", facility.get("name") or ctx.last.get("location") or ""),
            SlotSet("arrived_time", scan_time(ctx.last.get("time")))]


def _compensation_slots(ctx: ProblemContext) -> List[EventType]:
    terms = ctx.client.compensation(ctx.number, **ctx.proof)
    return [
        SlotSet("insured", "yes" if terms.get("insured") else "no"),
        SlotSet("insured_value", f"{terms.get('insured_value') or 0:g}"),
        SlotSet("max_payout", f"{terms.get('max_payout') or 0:g}"),
        SlotSet("terms_summary", terms.get("terms_summary") or ""),
        SlotSet("review_days", str(terms.get("review_days") or 3)),
    ]


def handle_lost(ctx: ProblemContext) -> List[EventType]:
    """No valid scan for 72 hours (or marked lost): investigation plus outlet verification, and the rules."""
    silent = _hours_since(ctx.last.get("time"))
    base = [SlotSet("waited", duration_phrase(silent))]
    if ctx.shipment["status"] in SIGNED:
        return base + handle_signed_not_received(ctx)
    if ctx.shipment["status"] != "lost" and silent < LOST_AFTER_HOURS:
        return base + [SlotSet("problem_outcome", "lost_not_yet")]
    investigation = ctx.open_ticket("lost_investigation", f"lost_investigation:{ctx.number}",
                                    silent_hours=round(silent, 1))
    verification = ctx.open_ticket("outlet_verification", f"outlet_verification:{ctx.number}",
                                   reason="lost")
    return (base + ticket_slots(investigation) + ticket_slots(verification, "ticket2")
            + _compensation_slots(ctx) + [SlotSet("problem_outcome", "lost_opened")])


def handle_damaged(ctx: ProblemContext) -> List[EventType]:
    """A claim with what it depends on; photos of the packaging and the goods come next."""
    ticket = ctx.open_ticket("claim", f"claim:{ctx.number}", reason="damaged",
                             goods_type=ctx.shipment.get("goods_type"))
    return ticket_slots(ticket) + _compensation_slots(ctx) + [SlotSet("claim_ticket_id", str(ticket["id"])),
                                                              SlotSet("problem_outcome", "damage_claim_opened")]


def handle_signed_not_received(ctx: ProblemContext) -> List[EventType]:
    """Who or where signed, a pickup hint, and an outlet verification with a 2-hour SLA; sender or recipient."""
    if ctx.shipment["status"] not in SIGNED:
        return [SlotSet("problem_outcome", "not_signed_yet")]
    ticket = ctx.open_ticket("outlet_verification", f"outlet_verification:{ctx.number}",
                             reason="signed_not_received", delivery_photo_requested=True)
    signed = ctx.last.get("description") or ""
    outcome = "snr_sender" if ctx.role == "sender" else "snr_recipient"
    place = "locker" if ctx.shipment["status"] == "in_locker" else (
        "station" if ctx.shipment["status"] == "at_station" else (
            "proxy" if any(w in signed for w in ("代签", "代收", "门卫", "前台", "家人")) else "self"))
    return ticket_slots(ticket) + [SlotSet("signed_by", signed), SlotSet("signed_place", place),
                                   SlotSet("problem_outcome", outcome)]


def handle_delay(ctx: ProblemContext) -> List[EventType]:
    """Fresh goods: empathy and a 1-hour priority claim. Others: the reason, the promise missed, the remedy."""
    if ctx.shipment["status"] not in SIGNED and _hours_since(ctx.last.get("time")) >= LOST_AFTER_HOURS \
            and ctx.shipment.get("goods_type") != "fresh":
        return handle_lost(ctx)  # no scan for days: a loss to investigate, not an ETA to quote
    promised = ctx.shipment.get("promised_delivery_at")
    arrived = ctx.last.get("time") if ctx.shipment["status"] in ("at_station", "in_locker") else None
    if arrived and (not promised or datetime.fromisoformat(arrived) <= datetime.fromisoformat(promised)):
        # Waiting for pickup since before the promise: not late, whatever the clock says now.
        return _arrival_slots(ctx) + [SlotSet("promised_time", clock_phrase(promised) if promised else ""),
                                      SlotSet("problem_outcome", "delay_arrived_on_time")]
    late_hours = _hours_since(promised) - (_hours_since(arrived) if arrived else 0.0) if promised else 0.0
    events: List[EventType] = [SlotSet("promised_time", clock_phrase(promised) if promised else ""),
                               SlotSet("late_by", duration_phrase(late_hours) if late_hours > 0 else "")]
    fresh = ctx.shipment.get("goods_type") == "fresh" or ctx.tracker.get_slot("goods_type") == "fresh"
    if fresh and ctx.shipment["status"] not in ("delivered", "returned"):
        ticket = ctx.open_ticket("fresh_priority_claim", f"fresh_priority_claim:{ctx.number}",
                                 late_hours=round(late_hours, 1), outlet_priority=True)
        return events + ticket_slots(ticket) + [SlotSet("problem_outcome", "fresh_priority")]
    if promised and late_hours > 0:
        return events + [SlotSet("problem_outcome", "delay_late")]
    return events + [SlotSet("problem_outcome", "delay_on_time")]


def handle_file_claim(ctx: ProblemContext) -> List[EventType]:
    """A claim with what it needs; a lost or damaged parcel goes through those flows' tickets."""
    status = ctx.shipment["status"]
    if status == "lost" or (status not in SIGNED and _hours_since(ctx.last.get("time")) >= LOST_AFTER_HOURS):
        return handle_lost(ctx)
    ticket = ctx.open_ticket("claim", f"claim:{ctx.number}", reason="requested",
                             goods_type=ctx.shipment.get("goods_type"))
    return ticket_slots(ticket) + _compensation_slots(ctx) + [SlotSet("claim_ticket_id", str(ticket["id"])),
                                                              SlotSet("problem_outcome", "claim_opened")]


def complaint_category(text: str) -> str:
    return complaints.categorize(text)


def handle_complaint(ctx: ProblemContext) -> List[EventType]:
    """Recorded with a category, the place and the parcel, so operations count them; disputes can go to a person."""
    category = complaint_category(ctx.text)
    facility = ctx.last.get("facility") or {}
    ticket = ctx.open_ticket("complaint", f"complaint:{ctx.number}:{category}", category=category,
                             category_label=complaints.LABELS[category],
                             place=facility.get("name") or ctx.last.get("location") or "",
                             channel=ctx.tracker.get_latest_input_channel(), intent="complain_delivery_service")
    detail = ctx.client.ticket(ticket["id"])
    place = (detail.get("facility") or {}).get("name") or ctx.last.get("location") or ""
    dispute = [SlotSet("handoff_reason", "delivery_dispute")] if category in complaints.DISPUTES else []
    return ticket_slots(ticket) + dispute + [SlotSet("complaint_category", category),
                                             SlotSet("complaint_place", place),
                                             SlotSet("problem_outcome", "complaint_recorded")]


INTERCEPTS = (
    ("return_to_sender", re.compile(r"退回|退给寄件|退还|不要了|原路返回|寄回去")),
    ("reschedule", re.compile(r"改天|明天再|后天再|过两天|晚点再|晚几天|暂缓|下周再|周末再")),
    ("intercept", re.compile(r"拦|先别送|别送了|不要送|暂停派送|停止派送|先不要派")),
)
# Statuses from which an interception can still be arranged (a courier on the way can still hold it).
INTERCEPTABLE = BEFORE_DELIVERY | {"out_for_delivery", "delivery_failed"}


def intercept_kind(text: str) -> Optional[str]:
    return next((kind for kind, pattern in INTERCEPTS if pattern.search(text)), None)


def handle_change_address(ctx: ProblemContext) -> List[EventType]:
    """Interception (拦截, 退回, 改天再送) while it can still be arranged; else an address change before delivery
    starts; after that, the options that remain."""
    kind = intercept_kind(ctx.text)
    if kind is not None:
        if ctx.shipment["status"] not in INTERCEPTABLE:
            return [SlotSet("intercept_kind", kind), SlotSet("problem_outcome", "intercept_late")]
        ticket = ctx.open_ticket("address_change", f"address_change:{ctx.number}:{kind}", kind=kind,
                                 requested=ctx.text)
        return ticket_slots(ticket) + [SlotSet("intercept_kind", kind),
                                       SlotSet("problem_outcome", "intercept_opened")]
    if ctx.shipment["status"] not in BEFORE_DELIVERY:
        return [SlotSet("problem_outcome", "address_change_late")]
    location = ctx.tracker.get_slot("location")
    ticket = ctx.open_ticket("address_change", f"address_change:{ctx.number}", requested=ctx.text,
                             new_place=location)
    return ticket_slots(ticket) + [SlotSet("problem_outcome", "address_change_opened")]


def handle_customs(ctx: ProblemContext) -> List[EventType]:
    """What the customs stage means, what the user may need to provide, and an honest word on returns."""
    status = ctx.shipment["status"]
    customs_events = [e for e in ctx.shipment.get("events") or [] if e["status"].startswith("customs_")]
    since = customs_events[-1]["time"] if customs_events else None
    days = _hours_since(since) / 24 if since else 0.0
    events: List[EventType] = [SlotSet("customs_days", duration_phrase(days * 24) if since else "")]
    if CUSTOMS_MATERIALS.search(ctx.text) and (customs_events or ctx.shipment.get("goods_type") == "international"):
        topic = "tax" if "税" in ctx.text else "materials"
        return events + [SlotSet("customs_topic", topic), SlotSet("problem_outcome", "customs_materials")]
    if status == "customs_exception":
        risk = "high" if days >= CUSTOMS_RETURN_RISK_DAYS else "low"
        return events + [SlotSet("customs_risk", risk), SlotSet("problem_outcome", "customs_action_needed")]
    if status in CUSTOMS_WAITING:
        return events + [SlotSet("problem_outcome", "customs_in_progress")]
    if customs_events:
        return events + [SlotSet("problem_outcome", "customs_done")]
    return events + [SlotSet("problem_outcome", "customs_not_international")]


def ticket_line(ticket: Dict[str, Any], when: Optional[str]) -> str:
    """One ticket as a list line: reference, process, status and the time it promises."""
    return " · ".join(p for p in (f"T{ticket['id']}", ticket.get("type_label") or ticket["type"],
                                  ticket.get("status_label") or ticket["status"], clock_phrase(when)) if p)


def answer_tickets(tracker: Tracker, client: BackendClient, intent: str) -> List[EventType]:
    """The user's open tickets (this conversation's and, when bound, the customer's), in plain words."""
    found = {t["id"]: t for t in client.tickets(conversation_id=tracker.sender_id)}
    customer_id = tracker.get_slot("customer_id")
    if customer_id:
        found.update({t["id"]: t for t in client.tickets(customer_id=int(customer_id))})
    tickets = sorted(found.values(), key=lambda t: t["created_at"], reverse=True)
    if intent == "claim_status":
        claims = [t for t in tickets if t["type"] in CLAIM_TYPES]
        if not claims:
            return [SlotSet("problem_outcome", "no_claims")]
        lines = [ticket_line(t, t.get("expected_payout_at") or t["sla_due_at"]) for t in claims[:5]]
        return [SlotSet("tickets_text", "\n".join(lines)), SlotSet("ticket_count", str(len(claims))),
                SlotSet("problem_outcome", "claims_listed")]
    open_ = [t for t in tickets if t["status"] in OPEN]
    if not open_:
        return [SlotSet("problem_outcome", "no_tickets")]
    lines = [ticket_line(t, t["sla_due_at"]) for t in open_[:5]]
    return [SlotSet("tickets_text", "\n".join(lines)), SlotSet("ticket_count", str(len(open_))),
            SlotSet("problem_outcome", "tickets_listed")]


def handle_supplement(ctx: ProblemContext) -> List[EventType]:
    """More facts for the case: a note on every open ticket of the parcel, quoted back; with none open, a delivery
    wish before delivery goes to the outlet as an instruction."""
    said = followup.quote(ctx.text)
    tickets = followup.open_tickets(ctx.tracker, ctx.client, ctx.number)
    if tickets:
        for ticket in tickets[:3]:
            followup.add_note(ctx.client, ticket, ctx.text)
        return [SlotSet("supplement_text", said), SlotSet("supplement_refs", followup.refs_phrase(tickets)),
                SlotSet("problem_outcome", "supplement_noted")]
    if ctx.shipment["status"] in followup.BEFORE_DELIVERY and followup.is_delivery_wish(ctx.text):
        ticket = ctx.open_ticket("address_change", f"delivery_note:{ctx.number}:{ctx.tracker.sender_id}",
                                 kind="delivery_instruction", requested=ctx.text)
        return ticket_slots(ticket) + [SlotSet("supplement_text", said),
                                       SlotSet("problem_outcome", "supplement_recorded")]
    return [SlotSet("supplement_text", said), SlotSet("problem_outcome", "supplement_kept")]


def follow_up_existing(ctx: ProblemContext, problem: str) -> Optional[List[EventType]]:
    """The same problem again while its process is open: that process reported (with the user's new words on
    it), nothing opened twice."""
    ticket = followup.existing_process(problem, followup.open_tickets(ctx.tracker, ctx.client, ctx.number))
    if ticket is None:
        return None
    if problem == "complain_delivery_service":
        followup.add_note(ctx.client, ticket, ctx.text)
        return ticket_slots(ticket) + [SlotSet("problem_outcome", "complaint_existing")]
    detail = ctx.client.ticket(ticket["id"])
    terms = _compensation_slots(ctx) if ticket["type"] in CLAIM_TYPES else []
    return followup.followup_slots(detail) + terms + [SlotSet("problem_outcome", "followup_answered")]


def answer_followup(tracker: Tracker, client: BackendClient) -> List[EventType]:
    """那怎么办 / 结果什么时候出 / 谁会联系我: the open process of the parcel in focus, else the newest open one."""
    number = tracker.get_slot("tracking_number")
    tickets = followup.open_tickets(tracker, client)
    focused = [t for t in tickets if t.get("tracking_number") == number] or tickets
    ticket = followup.most_relevant(focused)
    if ticket is None:
        return [SlotSet("problem_outcome", "followup_nothing_open")]
    detail = client.ticket(ticket["id"])
    events = followup.followup_slots(detail)
    if ticket["type"] in CLAIM_TYPES and ticket.get("tracking_number"):
        try:
            terms = client.compensation(ticket["tracking_number"], **proof(tracker))
            events.append(SlotSet("terms_summary", terms.get("terms_summary") or ""))
        except BackendError:
            pass
    return events + [SlotSet("problem_outcome", "followup_answered")]


HANDLERS: Dict[str, Callable[[ProblemContext], List[EventType]]] = {
    "add_info": handle_supplement,
    "customs_inquiry": handle_customs,
    "file_claim": handle_file_claim,
    "complain_delivery_service": handle_complaint,
    "change_address": handle_change_address,
    "urge_delivery": handle_urge,
    "report_lost": handle_lost,
    "report_damaged": handle_damaged,
    "report_delay": handle_delay,
    "signed_not_received": handle_signed_not_received,
}


class ActionHandleProblem(Action):
    def name(self) -> str:
        return "action_handle_problem"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        problem = tracker.get_slot("pending_problem")
        number = tracker.get_slot("tracking_number")
        done = [SlotSet("pending_problem", None)]
        text = tracker.latest_message.get("text") or ""
        if (intent in DISPUTE_INTENTS or problem in DISPUTE_INTENTS) and CLAIM_DISPUTE.search(text):
            return done + [SlotSet("handoff_reason", "claim_dispute"), SlotSet("problem_outcome", "claim_dispute")]
        client = backend.client()
        if intent == "ask_followup" and not problem:
            try:
                return answer_followup(tracker, client)
            except BackendError:
                return [SlotSet("problem_outcome", "unavailable")]
        if intent in TICKET_INTENTS and not problem:
            try:
                return answer_tickets(tracker, client, intent)
            except BackendError as exc:
                if exc.kind == BackendError.UNAVAILABLE:
                    return [SlotSet("problem_outcome", "unavailable")]
                raise
        if problem not in HANDLERS or not number:
            return done + [SlotSet("problem_outcome", "show_status")]
        link = proof(tracker)
        try:
            shipment = client.shipment(number, **link)
            ctx = ProblemContext(tracker, client, shipment, link)
            return done + (follow_up_existing(ctx, problem) or HANDLERS[problem](ctx))
        except BackendError as exc:
            if exc.kind == BackendError.UNAVAILABLE:
                # The problem stays pending: the next message retries it and the keys keep it single.
                return [SlotSet("problem_outcome", "unavailable")]
            # Not proven (or locked, or gone): nothing about the parcel; the tracking answer asks for the tail.
            return [SlotSet("problem_outcome", "show_status")]


