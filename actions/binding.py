"""Binding the chat to a phone with a one-time code, in the conversation itself (WeChat has no login form).

「绑定手机」 (or the WeChat menu) → the phone → a code sent to it → the code typed back → the chat's channel
identity (the WeChat openid, a REST sender id...) is bound to the phone's customer, so tracking finds the user's
parcels without asking for a number. The backend issues and checks the codes (rate limits, attempts, expiry) as it
does for the website's login; this action reads the message, calls it and sets bind_outcome, and the rules in
data/rules/binding.yml say what follows (the wording is in domain/binding.yml).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import backend
from actions.backend import BackendError
from actions.identity import binding_channel

PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4})(?![0-9])")
CODE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")
# What follows when a message sent to the binding is neither a phone nor the code (data/rules/binding.yml); inform
# (a number) goes on to tracking.
AFTER_ALL = {"out_of_scope": "out_of_scope", "nlu_fallback": "unclear"}


def _digits(text: str) -> str:
    """Full-width and other digits as ASCII (１３８ → 138)."""
    return unicodedata.normalize("NFKC", text or "")


def phone_in(text: str, entities: List[Dict[str, Any]]) -> Optional[str]:
    """The mobile number the message gives (the regex entity first, else the text)."""
    for entity in entities:
        if entity.get("entity") == "phone_number" and entity.get("value"):
            found = PHONE.search(_digits(str(entity["value"])))
            if found:
                return re.sub(r"[- ]", "", found.group(1))
    found = PHONE.search(_digits(text))
    return re.sub(r"[- ]", "", found.group(1)) if found else None


def code_in(text: str) -> Optional[str]:
    found = CODE.search(_digits(text))
    return found.group(1) if found else None


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def outcome(name: str, awaiting: Optional[str], **slots: Any) -> List[EventType]:
    events: List[EventType] = [SlotSet("bind_outcome", name), SlotSet("bind_awaiting", awaiting)]
    events.extend(SlotSet(key, value) for key, value in slots.items())
    return events


class ActionBindPhone(Action):
    def name(self) -> str:
        return "action_bind_phone"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[str, Any]) -> List[EventType]:
        latest = tracker.latest_message or {}
        text = latest.get("text") or ""
        intent = (latest.get("intent") or {}).get("name")
        awaiting = tracker.get_slot("bind_awaiting")
        channel, external_id = binding_channel(tracker), tracker.sender_id
        client = backend.client()
        phone = phone_in(text, latest.get("entities") or [])
        try:
            if phone:
                return self._send_code(client, phone, channel, external_id)
            code = code_in(text) if awaiting == "code" and not text.lstrip().startswith("/") else None
            if code and tracker.get_slot("bind_phone"):
                return self._verify(client, tracker.get_slot("bind_phone"), code, channel, external_id)
            if intent == "bind_phone":
                bound = client.customer_by_binding(channel, external_id)
                if bound is not None:
                    return outcome("already_bound", "phone", bind_phone_masked=bound.get("phone"))
                return outcome("need_phone", "phone")
        except BackendError as exc:
            if exc.kind == BackendError.UNAVAILABLE:
                return outcome("unavailable", None)
            raise
        # Neither a phone nor the code: the message meant something else, answered as it would have been.
        return outcome(AFTER_ALL.get(intent, "not_binding"), None)

    @staticmethod
    def _send_code(client: backend.BackendClient, phone: str, channel: str, external_id: str) -> List[EventType]:
        try:
            sent = client.request_binding_code(phone=phone, channel=channel, external_id=external_id)
        except BackendError as exc:
            if exc.kind == BackendError.LOCKED:
                return outcome("rate_limited", "phone")
            if exc.kind == BackendError.INVALID:
                return outcome("invalid_phone", "phone")
            raise
        demo_code = sent.get("demo_code")
        return outcome("code_sent", "code", bind_phone=phone, bind_phone_masked=sent.get("phone") or mask(phone),
                       bind_demo_code=demo_code, bind_demo=bool(demo_code))

    @staticmethod
    def _verify(client: backend.BackendClient, phone: str, code: str, channel: str,
                external_id: str) -> List[EventType]:
        try:
            bound = client.verify_binding_code(phone=phone, code=code, channel=channel, external_id=external_id)
        except BackendError as exc:
            if exc.kind == BackendError.FORBIDDEN:
                return outcome("too_many_attempts", "phone", bind_demo_code=None, bind_demo=False)
            if exc.kind == BackendError.INVALID:
                left = (exc.details or {}).get("attempts_left") if isinstance(exc.details, dict) else None
                if left is not None:
                    return outcome("wrong_code", "code", bind_attempts_left=str(left))
                return outcome("code_expired", "phone", bind_demo_code=None, bind_demo=False)
            raise
        return outcome("bound", None, bind_phone_masked=bound.get("phone") or mask(phone), bind_demo_code=None,
                       bind_demo=False, bind_attempts_left=None)
