"""Handoff to a human agent: build the package from the conversation, queue it, pause; relay, resume, rate.

The package says what the agent must not ask again: 诉求 (one sentence), the tracking numbers the conversation
knows, 补充信息 (what the user said about the address, the time, the goods), the emotion, the channel and the
transcript. The backend completes it from its data (last scans, tickets already triggered, the contact).

While the conversation is paused Rasa logs the user's messages and runs nothing, so the agent's console reads the
live transcript from the tracker. An agent's reply is stored by the backend, which then runs
action_relay_agent_reply in the conversation: the reply goes out on the user's own channel as a normal bot message
with a custom payload `{"data": {"type": "agent_message", "from": "agent", ...}}`, so a widget can show who wrote
it (socketio delivers the `data` object as a bot_uttered message of its own, right after the text).
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.emotion import ANGRY, detect
from actions.formatting import mask_phones
from actions.identity import binding_channel
from actions.problems import PROBLEM_INTENTS
from logistics.shipments.tracking_numbers import find_in_text

log = logging.getLogger(__name__)
CST = timezone(timedelta(hours=8))
MAX_TRANSCRIPT = 120
MAX_NUMBERS = 10

# 诉求: one sentence per problem; {n} is the tracking number ("" when unknown).
REQUESTS = {
    "urge_delivery": "包裹{n}滞留网点未派件，用户要求尽快派送",
    "report_lost": "包裹{n}长时间没有物流更新，用户怀疑丢件",
    "report_damaged": "包裹{n}收到时破损，用户要求处理和理赔",
    "report_delay": "包裹{n}超过承诺时效仍未送达",
    "signed_not_received": "包裹{n}显示已签收，但用户没有收到",
    "file_claim": "用户要为包裹{n}申请理赔",
    "complain_delivery_service": "用户投诉包裹{n}的派送服务",
    "change_address": "用户要修改包裹{n}的收货地址",
    "customs_inquiry": "国际包裹{n}清关受阻，用户询问进度和所需材料",
}
COMPLAINTS = {
    "locker_no_notice": "快递员未经同意把包裹{n}放进快递柜/驿站且没有通知，用户投诉",
    "no_door_delivery": "快递员不肯把包裹{n}送货上门，用户投诉",
    "fake_signature": "包裹{n}被虚假签收（用户没有签收却显示已签收），用户投诉",
    "courier_attitude": "用户投诉包裹{n}的快递员服务态度差",
    "rough_handling": "用户投诉包裹{n}被野蛮投递/暴力分拣",
    "delay": "用户投诉包裹{n}派送延误",
    "lost": "用户投诉包裹{n}丢件",
    "extra_fee": "用户反映包裹{n}派送时被额外收费",
    "no_call": "用户投诉包裹{n}派送前快递员没有电话联系",
    "left_unattended": "包裹{n}被放在门口后丢失，用户投诉",
    "pickup_code_missing": "用户没有收到包裹{n}的取件码",
    "outlet_unreachable": "用户联系不上包裹{n}所在的网点/驿站",
    "wrong_delivery": "包裹{n}被送错地址，用户投诉",
    "fake_attempt": "快递员没有上门却把包裹{n}报为派送失败，用户投诉",
}
REASON_REQUESTS = {
    "claim_dispute": "用户对包裹{n}的理赔金额有异议",
    "delivery_dispute": "用户与网点就包裹{n}是否送货上门有争议",
}
FRESH_DELAY = "生鲜包裹{n}延误，用户担心变质"

# 补充信息: what the user told us that the agent and the outlet need. (label, pattern); the clause is quoted.
NOTE_PATTERNS = (
    ("收件时间", re.compile(r"(?:[0-9一二三四五六七八九十]+点(?:以后|之后|后|前|以前)|下午才在家|晚上才在家|"
                        r"上班不在家|白天不在家|白天没人|周末才在家|不在家)")),
    ("时间要求", re.compile(r"(?:礼物|生日|明天要用|纪念日|明天就要|等着用)")),
    ("急用物品", re.compile(r"(?:药|急用)")),
    ("投递要求", re.compile(r"(?:放门卫|放前台|放门口|别放快递柜|不要放快递柜|别放驿站|不要放驿站|不要放柜|"
                        r"别放柜|送上楼|打电话再送|先打电话)")),
    ("地址变更", re.compile(r"(?:地址改成|地址改为|改到|改成送到|送到公司|换个地址)")),
)
OLD_BUILDING = re.compile(r"老小区|老房子|老式小区|老楼")
NO_LIFT = re.compile(r"没电梯|没有电梯|无电梯|不带电梯")
FLOOR = re.compile(r"(?<![0-9])([0-9]{1,2}|[一二三四五六七八九十]{1,2})(?:楼|层)")
_CLAUSE = re.compile(r"[，。！？,.!?；;\n]+")


def _clause(text: str, match: re.Match) -> str:
    """The part of a message (between punctuation) that holds a match, at most 40 characters."""
    start = max((m.end() for m in _CLAUSE.finditer(text, 0, match.start())), default=0)
    end_match = _CLAUSE.search(text, match.end())
    end = end_match.start() if end_match else len(text)
    return text[start:end].strip()[:40]


def extract_notes(texts: List[str]) -> List[str]:
    """补充信息 from the user's messages: the building, the time they are home, the goods, the delivery wish."""
    joined = "，".join(texts)
    notes: List[str] = []
    building = []
    if OLD_BUILDING.search(joined):
        building.append("老小区")
    if NO_LIFT.search(joined):
        building.append("无电梯")
    floor = FLOOR.search(joined)
    if building and floor:
        building.append(f"住{floor.group(0)}")
    if building:
        notes.append("用户留的地址是" + "、".join(building).replace("老小区、无电梯", "老小区无电梯"))
    for text in map(mask_phones, texts):
        for label, pattern in NOTE_PATTERNS:
            match = pattern.search(text)
            if match:
                note = f"{label}：{_clause(text, match)}"
                if note not in notes:
                    notes.append(note)
    return notes[:10]


def _user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    return [e for e in tracker.events if e.get("event") == "user" and not (e.get("text") or "").startswith("/")]


def user_texts(tracker: Tracker) -> List[str]:
    return [e.get("text") or "" for e in _user_events(tracker)]


def known_numbers(tracker: Tracker) -> List[str]:
    """Tracking numbers of the conversation: the slots first, then entities and numbers in the user's messages."""
    found: List[str] = []
    for value in (tracker.get_slot("tracking_number"), tracker.get_slot("verified_number")):
        if value:
            found.append(str(value).upper())
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        for entity in (event.get("parse_data") or {}).get("entities") or []:
            if entity.get("entity") == "tracking_number" and entity.get("value"):
                found.append(str(entity["value"]).upper())
        found.extend(n.upper() for n in find_in_text(event.get("text") or ""))
    return list(dict.fromkeys(found))[:MAX_NUMBERS]


def latest_problem(tracker: Tracker) -> Optional[str]:
    """The last problem the user raised: the pending one, else the latest problem intent."""
    pending = tracker.get_slot("pending_problem")
    if pending in REQUESTS:
        return pending
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in PROBLEM_INTENTS and intent in REQUESTS:
                return intent
    return None


def handoff_reason(tracker: Tracker, level: str) -> str:
    """Why the conversation goes to a person: a flow's dispute, misunderstanding, anger or the user's wish."""
    flow_reason = tracker.get_slot("handoff_reason")
    if flow_reason:
        return str(flow_reason)
    clarify = tracker.get_slot("clarify_outcome")
    if clarify == "offer_human":
        return "misunderstood"
    if clarify == "offer_human_angry" or level == ANGRY:
        return "anger"
    return "request_human"


def request_sentence(tracker: Tracker, reason: str, numbers: List[str]) -> str:
    """诉求 in one Chinese sentence, from the problem, the slots and the reason."""
    number = numbers[0] if numbers else ""
    n = f" {number} " if number else ""
    if reason in REASON_REQUESTS:
        return REASON_REQUESTS[reason].format(n=n).replace("  ", " ").strip()
    problem = latest_problem(tracker)
    if problem == "complain_delivery_service":
        category = tracker.get_slot("complaint_category")
        text = COMPLAINTS.get(category, REQUESTS[problem])
    elif problem == "report_delay" and (tracker.get_slot("goods_type") == "fresh"
                                        or tracker.get_slot("problem_outcome") == "fresh_priority"):
        text = FRESH_DELAY
    elif problem:
        text = REQUESTS[problem]
    else:
        texts = [t for t in user_texts(tracker) if t]
        said = mask_phones(texts[-2] if len(texts) >= 2 else (texts[-1] if texts else ""))
        if reason == "misunderstood":
            return f"机器人连续两次没能理解用户的问题，用户原话：「{said[:60]}」"
        if number:
            return f"用户要求人工处理包裹 {number} 的问题"
        return f"用户要求人工服务，原话：「{said[:60]}」" if said else "用户要求人工服务"
    return text.format(n=n).replace("  ", " ").replace("包裹 ，", "包裹，").strip()


def _iso(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(float(timestamp), tz=CST).isoformat(timespec="seconds")


def transcript(tracker: Tracker) -> List[Dict[str, Any]]:
    """The conversation so far, oldest first: role (user or bot), text and time."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        if kind not in ("user", "bot") or not event.get("text"):
            continue
        lines.append({"role": kind, "text": str(event["text"])[:2000], "time": _iso(event.get("timestamp"))})
    return lines[-MAX_TRANSCRIPT:]


def _latest_user_timestamp(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return f"{event.get('timestamp') or ''}"
    return ""


def build_request(tracker: Tracker) -> Dict[str, Any]:
    """The body of POST /api/v1/handoffs for this conversation."""
    texts = user_texts(tracker)
    emotion = detect(texts)
    reason = handoff_reason(tracker, emotion.level)
    numbers = known_numbers(tracker)
    body: Dict[str, Any] = {
        "conversation_id": tracker.sender_id,
        "channel": binding_channel(tracker),
        "reason": reason,
        "request": request_sentence(tracker, reason, numbers),
        "tracking_numbers": numbers,
        "notes": extract_notes(texts),
        "emotion": emotion.as_dict(),
        "transcript": transcript(tracker),
        # One handoff per user message: a retried message or a double click finds the same one.
        "idempotency_key": f"handoff:{tracker.sender_id}:{_latest_user_timestamp(tracker)}",
    }
    customer_id = tracker.get_slot("customer_id")
    if customer_id:
        body["customer_id"] = int(customer_id)
    tail, verified = tracker.get_slot("phone_tail"), tracker.get_slot("verified_number")
    if tail and verified:
        body["verified_tail"] = {"tracking_number": verified, "phone_tail": tail}
    return body


def summary_line(package: Dict[str, Any]) -> str:
    """What was passed on, briefly, for the user's confirmation."""
    parts = [f"诉求「{package.get('request')}」"]
    numbers = [s["tracking_number"] for s in package.get("shipments") or []] or package.get("tracking_numbers") or []
    if numbers:
        parts.append("单号 " + "、".join(numbers[:3]))
    triggered = package.get("triggered") or []
    if triggered:
        parts.append("已为您发起的" + "、".join(dict.fromkeys(t["type_label"] for t in triggered)) + "处理")
    if package.get("notes"):
        notes = [n.replace("用户留的地址是", "地址是") for n in package["notes"][:3]]
        parts.append("您补充的情况（" + "；".join(notes) + "）")
    return mask_phones("，".join(parts))


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        body = build_request(tracker)
        try:
            handoff = backend.client().create_handoff(body)
        except BackendError as exc:
            log.warning("handoff for %s failed: %s", tracker.sender_id, exc)
            return [SlotSet("handoff_outcome", "unavailable"), SlotSet("clarify_outcome", None)]
        return [
            SlotSet("handoff_outcome", "queued"),
            SlotSet("handoff_id", str(handoff["id"])),
            SlotSet("handoff_position", str(handoff.get("queue_position") or 1)),
            SlotSet("handoff_wait", str(handoff.get("estimated_wait_minutes") or 1)),
            SlotSet("handoff_summary", summary_line(handoff.get("package") or {})),
            SlotSet("clarify_outcome", None),
        ]


class ActionPauseConversation(Action):
    """The bot steps aside: Rasa keeps logging the user's messages and runs nothing until the agent closes."""

    def name(self) -> str:
        return "action_pause_conversation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        return [ConversationPaused()]


def agent_payload(message: Dict[str, Any]) -> Dict[str, Any]:
    """The custom payload that marks a relayed message as the agent's own words."""
    return {"type": "agent_message", "from": "agent", "agent": message.get("agent_name") or "人工客服",
            "message_id": message["id"], "handoff_id": message.get("handoff_id"), "text": message["text"]}


class ActionRelayAgentReply(Action):
    """Delivers the agent's queued replies on the user's channel; each is marked delivered first, so never twice."""

    def name(self) -> str:
        return "action_relay_agent_reply"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        client = backend.client()
        try:
            handoffs = [h for h in client.handoffs(tracker.sender_id) if h["status"] in ("queued", "active")]
            for handoff in handoffs:
                for message in client.outbox(handoff["id"]):
                    try:
                        client.mark_delivered(handoff["id"], message["id"])
                    except BackendError as exc:
                        log.warning("could not mark message %s delivered: %s", message["id"], exc)
                        continue
                    # Rasa's socketio channel emits the custom payload's keys as emit() arguments: the marker
                    # travels as `data` (the widget receives it as its own bot_uttered message after the text).
                    dispatcher.utter_message(text=message["text"], json_message={"data": agent_payload(message)})
        except BackendError as exc:
            # The messages stay queued; the console shows them as not delivered and retries.
            log.warning("relay for %s failed: %s", tracker.sender_id, exc)
        return []


class ActionHandoffClosed(Action):
    """The agent closed the conversation and the bot is back: ask for a rating."""

    def name(self) -> str:
        return "action_handoff_closed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_rating")
        return [SlotSet("handoff_outcome", None), SlotSet("rating", None), SlotSet("rating_outcome", None),
                SlotSet("handoff_reason", None), SlotSet("clarify_outcome", None)]


class ActionHandoffWait(Action):
    """How a wait for a human ended, when the backend ended it while the user was silent (no agent within
    HANDOFF_MAX_WAIT_MINUTES): the backend resumes the conversation and runs this action, which tells the notice
    stored with the handoff (utter_handoff_wait_expired_callback with the callback ticket, or _expired).

    Messages the user writes during the wait are answered inside Rasa (addons/handoff_wait.py), which logs its
    answers as this action's events."""

    def name(self) -> str:
        return "action_handoff_wait"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        try:
            handoffs = backend.client().handoffs(tracker.sender_id)
        except BackendError as exc:
            log.warning("handoff notice for %s unavailable: %s", tracker.sender_id, exc)
            return []
        notice = (handoffs[0].get("close_notice") or {}) if handoffs and handoffs[0]["status"] == "closed" else {}
        if not notice.get("response"):
            return []
        dispatcher.utter_message(response=notice["response"], **(notice.get("values") or {}))
        return [SlotSet("handoff_notice", notice.get("outcome")), SlotSet("handoff_outcome", None)]


RATING_WORDS = (
    (re.compile(r"非常不满意|很不满意|差评|很差|太差|垃圾"), 1),
    (re.compile(r"不太满意|不满意|不好"), 2),
    (re.compile(r"还行|一般|凑合|马马虎虎"), 3),
    (re.compile(r"非常满意|很满意|满分|好评|超级满意|特别满意"), 5),
    (re.compile(r"满意|不错|挺好"), 4),
)
RATING_NUMBER = re.compile(r"(?<![0-9])([1-5一二两三四五])\s*(?:分|星|颗星)?(?![0-9])")
CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def rating_from_text(text: str) -> Optional[int]:
    """A 1-5 score in the user's words: "5分", "五星", "非常满意", "差评"..."""
    match = RATING_NUMBER.search(text or "")
    if match:
        digit = match.group(1)
        return CHINESE_DIGITS.get(digit) or int(digit)
    for pattern, score in RATING_WORDS:
        if pattern.search(text or ""):
            return score
    return None


class ActionRecordRating(Action):
    def name(self) -> str:
        return "action_record_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        raw = next(tracker.get_latest_entity_values("rating"), None) or tracker.get_slot("rating")
        score = None
        if raw is not None and str(raw).strip() in {"1", "2", "3", "4", "5"}:
            score = int(str(raw).strip())
        text = tracker.latest_message.get("text") or ""
        if score is None and not text.startswith("/"):
            score = rating_from_text(text)
        if score is None:
            return [SlotSet("rating", None), SlotSet("rating_outcome", "ask")]
        client = backend.client()
        try:
            handoffs = client.handoffs(tracker.sender_id)
            if not handoffs:
                return [SlotSet("rating", str(score)), SlotSet("rating_outcome", "no_handoff")]
            comment = None if text.startswith("/") else text[:500]
            client.rate_handoff(handoffs[0]["id"], score, comment)
        except BackendError as exc:
            log.warning("rating for %s failed: %s", tracker.sender_id, exc)
            return [SlotSet("rating", str(score)), SlotSet("rating_outcome", "unavailable")]
        return [SlotSet("rating", str(score)), SlotSet("rating_outcome", "recorded")]
