"""Multi-turn conversations as users have them (a question, a follow-up, a supplement, a change of mind), over the
real stack, with customers and parcels created through the API with optional values left out. Each conversation
is data in tests/e2e/conversations/*.yml:

    - name: what it shows
      me: recipient | sender | guest        # bound to the parcels' recipient / sender phone, or not bound at all
      parcels:
        crab: {goods_description: 大闸蟹(6只装), goods_type: fresh, origin: 上海, destination: 北京,
               promised: +6h, events: [[-30h, picked_up, 上海青浦网点], [-3h, at_outlet, 北京朝阳营业部]]}
      turns:
        - say: 我的快递到哪了                 # {crab} is replaced by the parcel's number, {crab.tail} by a phone tail
          expect: [choose]                    # checks, see CHECKS
        - say: 那个大闸蟹
          expect: [{about: crab}, {not: 您是想}]

Every bot turn is also checked against the previous one (never the same text again) and for full phone numbers.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.test_e2e_conversations import texts
from tests.support import unique_number, unique_phone

CONVERSATIONS = sorted((Path(__file__).parent / "conversations").glob("*.yml"))
CST = timezone(timedelta(hours=8))
CARRIER_PREFIX = {"sf": "SF", "jd": "JD", "yto": "YT", "jt": "JT"}
STATS = {"conversations": 0, "turns": 0, "passed": 0}
_serial = itertools.count(1)


def _load() -> list:
    found = []
    for path in CONVERSATIONS:
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            # A conversation the bot still gets wrong says so (known_gap: what is wrong); it runs, and is reported
            # as xfail until fixed (XPASS when it starts passing).
            marks = [pytest.mark.xfail(reason=conversation["known_gap"], strict=False)] \
                if conversation.get("known_gap") else []
            found.append(pytest.param(conversation, id=f"{path.stem}:{conversation['name'][:60]}", marks=marks))
    return found


def _when(relative: str) -> str:
    match = re.fullmatch(r"([+-]\d+(?:\.\d+)?)([hd])", str(relative))
    assert match, f"a time like -30h or +2d, not {relative}"
    amount = float(match.group(1)) * (24 if match.group(2) == "d" else 1)
    return (datetime.now(CST) + timedelta(hours=amount)).isoformat(timespec="seconds")


def _number(carrier: str) -> str:
    assert carrier in CARRIER_PREFIX, f"conversations use {', '.join(CARRIER_PREFIX)} (prefix + 13 digits)"
    return unique_number(CARRIER_PREFIX[carrier])


class World:
    """The parcels and the customer of one conversation, created through the backend API."""

    def __init__(self, stack, spec: dict):
        self.stack = stack
        self.sender = f"mt-{next(_serial)}-{uuid.uuid4().hex[:6]}"
        self.me = spec.get("me", "recipient")
        self.my_phone = unique_phone()
        self.other_phones: dict = {}
        self.parcels: dict = {}
        for alias, parcel in (spec.get("parcels") or {}).items():
            self.parcels[alias] = self._create(alias, dict(parcel))
        if self.me in ("recipient", "sender"):
            self._api("POST", "/api/v1/customers", json={
                "phone": self.my_phone, "name": "测试用户",
                "bindings": [{"channel": "rest", "external_id": self.sender}]})

    def _api(self, method: str, path: str, **kwargs):
        response = requests.request(method, f"{self.stack.backend_url}{path}", timeout=10,
                                    headers={"Authorization": f"Bearer {self.stack.token}"}, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def _create(self, alias: str, parcel: dict) -> dict:
        carrier = parcel.pop("carrier", "sf")
        events = parcel.pop("events", [])
        promised = parcel.pop("promised", None)
        side = parcel.pop("side", None) or ("sender" if self.me == "sender" else "recipient")
        other = unique_phone()
        mine = {"name": "张三", "phone": self.my_phone, "address": parcel.pop("my_address", "北京市朝阳区望京街道10号")}
        them = {"name": "李四", "phone": other, "address": parcel.pop("their_address", "上海市浦东新区世纪大道1号")}
        body = {"tracking_number": _number(carrier), "carrier": carrier,
                "sender": mine if side == "sender" else them, "recipient": them if side == "sender" else mine,
                "origin": parcel.pop("origin", "上海"), "destination": parcel.pop("destination", "北京"), **parcel}
        if promised:
            body["promised_delivery_at"] = _when(promised)
        self._api("POST", "/api/v1/shipments", json=body)
        for event in events:
            when, status, location, *description = event
            self._api("POST", f"/api/v1/shipments/{body['tracking_number']}/events", json={
                "time": _when(when), "status": status, "location": location,
                **({"description": description[0]} if description else {})})
        return {"number": body["tracking_number"], "tail": self.my_phone[-4:], "body": body}

    def fill(self, text: str) -> str:
        def value(match):
            alias, _, field = match.group(1).partition(".")
            parcel = self.parcels[alias]
            return parcel["tail"] if field == "tail" else parcel["number"]
        return re.sub(r"{(\w+(?:\.tail)?)}", value, str(text))

    def tickets(self, alias: str) -> list:
        found = self._api("GET", "/api/v1/tickets", params={"tracking_number": self.parcels[alias]["number"]})
        return [t for t in found["tickets"] if t["conversation_id"] == self.sender]


def _check(world: World, check, reply: str, messages: list) -> None:
    """One expectation of a turn; a plain string is a shortcut (see below)."""
    if isinstance(check, str):
        check = {"choose": {"buttons": True}, "no_choose": {"buttons": False}}.get(check, {"has": check})
    for kind, value in check.items():
        if kind == "has":
            for part in value if isinstance(value, list) else [value]:
                assert world.fill(part) in reply, f"expected 「{world.fill(part)}」"
        elif kind == "any":
            assert any(world.fill(p) in reply for p in value), f"expected one of {value}"
        elif kind == "not":
            for part in value if isinstance(value, list) else [value]:
                assert world.fill(part) not in reply, f"did not expect 「{world.fill(part)}」"
        elif kind == "about":
            assert world.parcels[value]["number"] in reply, f"expected the reply to be about {value}"
        elif kind == "not_about":
            assert world.parcels[value]["number"] not in reply, f"did not expect {value} here"
        elif kind == "buttons":
            has = any(m.get("buttons") for m in messages)
            assert has == value, "expected buttons" if value else "did not expect a chooser"
        elif kind == "tickets":
            for alias, counts in value.items():
                found = world.tickets(alias)
                for type_, count in counts.items():
                    got = sum(1 for t in found if t["type"] == type_)
                    assert got == count, f"{alias}: {got} {type_} tickets, expected {count}"
        elif kind == "notes":
            for alias, words in value.items():
                history = []
                for ticket in world.tickets(alias):
                    history += world._api("GET", f"/api/v1/tickets/{ticket['id']}")["history"]
                notes = " ".join(str((h.get("data") or {}).get("text") or "") for h in history
                                 if h.get("kind") == "note")
                for word in words:
                    assert word in notes, f"{alias}: note 「{word}」 missing in {notes[:200]}"
        else:
            raise AssertionError(f"unknown check {kind}")


@pytest.mark.parametrize("spec", _load())
def test_conversation(stack, spec):
    world = World(stack, spec)
    STATS["conversations"] += 1
    previous = None
    transcript = []
    for number, turn in enumerate(spec["turns"], 1):
        said = world.fill(turn["say"])
        messages = stack.say(world.sender, said)
        reply = texts(messages)
        STATS["turns"] += 1
        transcript.append(f"> {said}\n{reply}")
        context = "\n".join(transcript)
        assert reply.strip(), f"turn {number}: silence\n{context}"
        if reply == previous:
            _record_gap(spec["name"], f"turn {number} ({said}): the previous reply again, word for word")
        assert reply != previous, f"turn {number}: the previous reply again, word for word\n{context}"
        for check in turn.get("expect") or []:
            try:
                _check(world, check, reply, messages)
            except AssertionError as exc:
                _record_gap(spec["name"], f"turn {number} ({said}): {str(exc).splitlines()[0]}")
                raise AssertionError(f"turn {number} ({said}): {exc}\n{context}") from None
        previous = reply
    STATS["passed"] += 1
    if os.environ.get("SHOW_TRANSCRIPTS"):
        print(f"\n=== {spec['name']}\n" + "\n".join(transcript))
    if os.environ.get("EXPORT_STORIES"):
        _export_story(stack, world.sender, spec["name"], Path(os.environ["EXPORT_STORIES"]))


def _record_gap(name: str, reason: str) -> None:
    """RECORD_GAPS=path: the first failure of each conversation, one JSON line each (to write known_gap)."""
    if os.environ.get("RECORD_GAPS"):
        with open(os.environ["RECORD_GAPS"], "a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, "reason": reason}, ensure_ascii=False) + "\n")


def _export_story(stack, sender: str, name: str, path: Path) -> None:
    """The conversation as Rasa recorded it, as a conversation test (scripts/export_multiturn_stories.sh)."""
    response = requests.get(f"{stack.rasa_url}/conversations/{sender}/story", timeout=30,
                            params={"token": stack.rasa_token, "all_sessions": "true"})
    response.raise_for_status()
    # Rasa splits the tracker at action_session_start: the first "session" holds only the metadata slot set
    # before it, so the conversation is the steps of all sessions in order.
    sessions = yaml.safe_load(response.text)["stories"]
    story = {"story": f"multi-turn: {name}", "steps": [step for s in sessions for step in s.get("steps") or []]}
    existing = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    document = existing or {"version": "3.1", "stories": []}
    document["stories"].append(story)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
