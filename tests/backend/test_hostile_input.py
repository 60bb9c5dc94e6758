"""Hostile input on every route of the backend: a 4xx with a JSON error body, never a 500.

The routes come from the app's URL map (a new route is fuzzed as soon as it exists), the query parameters from
/openapi.json plus the ones the web and console routes read, the bodies from a registry of valid bodies per
endpoint whose every field is replaced in turn (wrong JSON types, NUL bytes, oversized strings, extreme times,
Unicode digits). COUNTS keeps how many hostile inputs of each kind were sent; every kind must send some.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import requests

from logistics import db
from logistics.app import create_app
from logistics.handoffs import service as handoff_service
from logistics.settings import Settings
from tests.support import TOKEN, unique_number, unique_phone

KINDS = ("headers", "query_ids", "path_ids", "bodies", "extreme_times", "nul_bytes", "lone_surrogates",
         "oversized", "unicode_digits")
# Hostile inputs sent, by kind (summed over the databases the run covers).
COUNTS: Counter = Counter()

PASSWORD = "hostile-input-42"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
BODY_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# Routes whose 4xx answers are JSON (pages such as /agent/login answer HTML).
JSON_PREFIXES = ("/api/", "/web/api/", "/agent/api/", "/health", "/openapi.json")
# Query parameters read outside the documented v1 API.
EXTRA_QUERY = ("customer_id", "phone_tail", "conversation_id", "tracking_number", "channel", "external_id",
               "session_id", "status", "type", "since", "category", "next", "client_address", "id", "limit")
TIME_KEYS = ("time", "promised_delivery_at", "sla_due_at", "since")

# Ids a database cannot hold (PostgreSQL INTEGER is 32-bit, SQLite's 64-bit) and digits that are not ASCII.
HOSTILE_IDS = ("²", "١٢", "１２", "߁", "①", str(2**31), str(2**63 - 1), str(2**63), str(2**64), "9" * 40, "-1",
               "+7", " 7", "1e3", "0x1f", "1_000", "1.5")
WRONG_TYPES = ([1, 2, 3], "hello", None, {}, {"a": {"b": []}}, True, 1e308, -(2**70), 2**70, "", 0)
RAW_BODIES = (b"[1,2,3]", b'"hello"', b"null", b"", b"true", b"12", b"{}", b"{", b"\xff\xfe\x00",
              b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
              b'{"a": [' + b"[" * 5_000 + b"]" * 5_000 + b"]}", b"1e999", b'{"x": NaN}', b'{"x": Infinity}',
              b'{"a": 1, "a": 2}', b'\xef\xbb\xbf{}', b'{"\\u0000": 1}')
EXTREME_TIMES = ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00",
                 "9999-12-31T23:59:59", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
                 "1900-01-01T00:00:00+08:00", "2101-01-01T00:00:00+08:00", "1970-01-01T00:00:00Z")
MALFORMED_TIMES = ("2026-02-30T00:00:00+08:00", "2026-11-25T25:00:00", "+002026-11-25T10:00:00", "99999-01-01",
                   "2026-11-25T10:00:00+99:00", "now", "", "2026-11-25T10:00:00\x00", 1e20, -1, 0, True)
# Out of range but well formed: these must be a 422 naming the accepted range, not some other error.
OUT_OF_RANGE = frozenset(EXTREME_TIMES[:-1])


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(0x0660 + int(c)) if c.isascii() and c.isdigit() else c for c in text)


def devanagari(text: str) -> str:
    return "".join(chr(0x0966 + int(c)) if c.isascii() and c.isdigit() else c for c in text)


def unicode_variants(text: str) -> tuple:
    """The same digits typed other ways: full-width, Arabic-Indic, Devanagari, one full-width digit at the end."""
    return (fullwidth(text), arabic_indic(text), devanagari(text), text[:-1] + fullwidth(text[-1]))


@dataclass
class Case:
    kind: str
    method: str
    path: str
    kwargs: dict = field(default_factory=dict)
    client: str = "auto"
    # When set, the status must be one of these (beyond "below 500").
    expect: tuple | None = None
    note: str = ""


@dataclass
class World:
    base: str
    api: requests.Session
    console: requests.Session
    anonymous: requests.Session
    csrf: str
    phone: str
    number: str
    conversation: str
    session_id: str
    ids: dict
    rules: list
    query_names: tuple
    integer_query_names: tuple


# --- the world the cases run against: a customer, a parcel, a ticket with a photo, a handoff, an agent ---


def _login(base: str, engine) -> tuple[requests.Session, str]:
    username = f"hostile-{uuid.uuid4().hex[:6]}"
    with db.transaction(db.session_factory(engine)) as s:
        handoff_service.create_agent(session=s, username=username, password=PASSWORD, display_name="客服小李")
    http = requests.Session()
    page = http.get(f"{base}/agent/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = http.post(f"{base}/agent/login", data={"csrf_token": token, "username": username,
                                                      "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return http, http.get(f"{base}/agent/api/session", timeout=10).json()["csrf_token"]


@pytest.fixture(scope="module")
def world(backend_url, engine) -> World:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {TOKEN}"

    def ok(response: requests.Response) -> dict:
        assert response.status_code in (200, 201), response.text
        return response.json()

    phone, number = unique_phone(), unique_number()
    conversation, session_id = f"hostile-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    customer = ok(api.post(f"{backend_url}/api/v1/customers", json={
        "phone": phone, "name": "赵敏", "bindings": [{"channel": "rest", "external_id": conversation}]}))
    ok(api.post(f"{backend_url}/api/v1/shipments", json=shipment_body(number, phone)))
    ok(api.post(f"{backend_url}/api/v1/shipments/{number}/events", json={
        "time": "2026-11-20T09:00:00+08:00", "status": "at_outlet", "location": "杭州西湖区文三路营业部"}))
    ticket = ok(api.post(f"{backend_url}/api/v1/tickets", json={
        "type": "claim", "tracking_number": number, "conversation_id": conversation,
        "details": {"reason": "外包装破损"}, "idempotency_key": f"hostile:{uuid.uuid4().hex}"}))
    evidence = ok(api.post(f"{backend_url}/api/v1/tickets/{ticket['id']}/evidence",
                           files={"file": ("box.png", PNG, "image/png")}))
    handoff = ok(api.post(f"{backend_url}/api/v1/handoffs", json=handoff_body(number, conversation)))
    console, csrf = _login(backend_url, engine)
    ok(console.post(f"{backend_url}/agent/api/handoffs/{handoff['id']}/claim", headers={"X-CSRF-Token": csrf}))
    message = ok(console.post(f"{backend_url}/agent/api/handoffs/{handoff['id']}/messages",
                              headers={"X-CSRF-Token": csrf}, json={"text": "您好，我来帮您查"}))["message"]
    app = create_app(Settings(database_url=str(engine.url), api_token=TOKEN, agent_secret_key="x"), engine=engine)
    rules = [rule for rule in app.url_map.iter_rules()]
    doc = requests.get(f"{backend_url}/openapi.json", timeout=10).json()
    parameters = [p for item in doc["paths"].values() for op in item.values() for p in op.get("parameters", [])
                  if p["in"] == "query"]
    documented = {p["name"] for p in parameters}
    integers = {p["name"] for p in parameters if p.get("schema", {}).get("type") == "integer"}
    ids = {"ticket_id": ticket["id"], "evidence_id": evidence["id"], "handoff_id": handoff["id"],
           "message_id": message["id"], "customer_id": customer["id"]}
    return World(base=backend_url, api=api, console=console, anonymous=requests.Session(), csrf=csrf, phone=phone,
                 number=number, conversation=conversation, session_id=session_id, ids=ids, rules=rules,
                 query_names=tuple(sorted(documented | set(EXTRA_QUERY))),
                 integer_query_names=tuple(sorted(integers | {"customer_id"})))


def shipment_body(number: str, phone: str) -> dict:
    return {
        "tracking_number": number, "carrier": "sf",
        "sender": {"name": "王强", "phone": unique_phone(), "address": "上海市浦东新区张江路88号"},
        "recipient": {"name": "赵敏", "phone": phone, "address": "杭州市西湖区文三路100号"},
        "goods_type": "fresh", "goods_description": "阳澄湖大闸蟹", "insured_value": 300,
        "origin": "上海", "destination": "杭州", "promised_delivery_at": "2026-11-22T18:00:00+08:00",
    }


def handoff_body(number: str, conversation: str) -> dict:
    return {
        "conversation_id": conversation, "channel": "rest", "reason": "request_human", "request": "要求人工处理破损",
        "tracking_numbers": [number], "notes": ["用户说外箱压扁了"],
        "emotion": {"level": "upset", "urgent": True, "scene": "fresh", "signals": ["急"]},
        "verified_tail": {"tracking_number": number, "phone_tail": "0000"},
        "transcript": [{"role": "user", "text": "我要人工", "time": "2026-11-25T10:00:00+08:00"}],
        "idempotency_key": f"hostile-handoff:{uuid.uuid4().hex}",
    }


# --- valid bodies per endpoint: the hostile cases change one field at a time ---

UNIQUE = "<unique>"


def base_bodies(w: World) -> dict[str, list[dict]]:
    """Valid JSON bodies by endpoint; UNIQUE is replaced by a fresh value per request (idempotency keys)."""
    return {
        "api_v1.customers.create_customer": [{"phone": w.phone, "name": "赵敏", "bindings": [
            {"channel": "rest", "external_id": w.conversation}]}],
        "api_v1.shipments.create_shipment": [{**shipment_body(w.number, w.phone), "tracking_number": UNIQUE}],
        "api_v1.shipments.add_event": [
            {"time": "2026-11-21T08:00:00+08:00", "status": "at_outlet", "location": "杭州文三路营业部",
             "description": "快件已到达营业部"},
            {"time": "2026-11-21T08:00:00+08:00", "status": "at_outlet", "location": "杭州",
             "facility_code": "NO-SUCH-HUB"}],
        "api_v1.shipments.add_watch": [{"conversation_id": w.conversation, "channel": "rest"}],
        "api_v1.tickets.create_ticket": [
            {"type": "claim", "tracking_number": w.number, "conversation_id": w.conversation,
             "details": {"reason": "破损", "amount": 120, "items": ["蟹"]}, "idempotency_key": UNIQUE},
            {"type": "complaint", "tracking_number": w.number, "conversation_id": w.conversation,
             "details": {"category": "attitude", "area": "杭州"}, "idempotency_key": UNIQUE}],
        "api_v1.tickets.update_ticket": [{"status": "in_progress", "note": "已联系网点", "actor": "outlet:HZ01",
                                          "sla_due_at": "2026-12-01T10:00:00+08:00", "payout_amount": 100}],
        "api_v1.tickets.add_evidence": [{"filename": "box.png", "content_type": "image/png",
                                         "data_base64": base64.b64encode(PNG + b"json").decode(),
                                         "actor": "customer"}],
        "api_v1.handoffs.create_handoff": [{**handoff_body(w.number, w.conversation), "idempotency_key": UNIQUE,
                                            "customer_id": w.ids["customer_id"]}],
        "api_v1.handoffs.rate": [{"rating": 4, "comment": "很快"}],
        "api_v1.handoffs.mark_undelivered": [{"error": "45015 response out of time limit"}],
        "api_v1.handoffs.message_while_waiting": [{"conversation_id": w.conversation, "channel": "rest",
                                                   "text": "还要等多久", "timestamp": 1764036000.5}],
        "api_v1.customers.binding_code": [{"phone": w.phone, "channel": "wechat", "external_id": "o-hostile-openid"}],
        "api_v1.customers.binding_verify": [{"phone": w.phone, "channel": "wechat", "external_id": "o-hostile-openid",
                                             "code": "123456"}],
        "web.request_code": [{"phone": w.phone, "session_id": w.session_id}],
        "web.verify_code": [{"phone": w.phone, "code": "123456", "session_id": w.session_id}],
        "agent.api_reply": [{"text": "您好，已为您催促网点"}],
        "agent.api_ticket": [{"note": "已核实", "status": "in_progress", "sla_due_at": "2026-12-02T10:00:00+08:00"}],
    }


def base_query(endpoint: str, w: World) -> dict:
    """Query parameters a route needs to get past its first check (a proof of link for shipment reads)."""
    if endpoint.startswith("api_v1.shipments.") and endpoint not in ("api_v1.shipments.create_shipment",
                                                                      "api_v1.shipments.add_event"):
        return {"phone_tail": w.phone[-4:]}
    if endpoint in ("api_v1.tickets.list_tickets", "api_v1.handoffs.list_handoffs"):
        return {"conversation_id": w.conversation}
    if endpoint == "api_v1.customers.lookup_customer":
        return {"channel": "rest", "external_id": w.conversation}
    if endpoint.startswith("web.") and endpoint not in ("web.request_code", "web.verify_code"):
        return {"session_id": w.session_id}
    return {}


def forms(w: World) -> dict[str, list[dict]]:
    """Form bodies by endpoint: data fields and files."""
    return {
        "api_v1.tickets.add_evidence": [{"data": {"actor": "customer"},
                                         "files": {"file": ("box.png", PNG + b"form", "image/png")}}],
        "web.upload_evidence": [{"data": {"session_id": w.session_id},
                                 "files": {"file": ("box.png", PNG + b"web", "image/png")}}],
        "agent.login_submit": [{"data": {"csrf_token": w.csrf, "username": "nobody", "password": "wrong",
                                         "next": "/agent/"}}],
    }


# --- building requests ---

_ARG = re.compile(r"<(?:([^:<>]+)(?:\([^<>]*\))?:)?([^<>]+)>")


def fill(rule, w: World, overrides: dict | None = None) -> str:
    """The rule's path with each argument set: an override, else a real id or tracking number of the world."""
    overrides = overrides or {}

    def value(match) -> str:
        converter, name = match.group(1), match.group(2)
        if name in overrides:
            return quote(str(overrides[name]), safe="")
        if name in w.ids:
            return str(w.ids[name])
        if converter == "int":
            return "1"
        if converter == "path":
            return "chat.js"
        return w.number

    return _ARG.sub(value, rule.rule)


def routes(w: World) -> Iterator[tuple[Any, str]]:
    for rule in w.rules:
        for method in METHODS:
            if method in rule.methods:
                yield rule, method


def default_body(endpoint: str, w: World) -> dict:
    bodies = base_bodies(w).get(endpoint)
    return {"json": materialise(bodies[0])} if bodies else {}


def materialise(body: Any) -> Any:
    """A deep copy with UNIQUE replaced by fresh values (new tracking numbers and idempotency keys)."""
    if body == UNIQUE:
        return unique_number()
    if isinstance(body, dict):
        return {k: materialise(v) for k, v in body.items()}
    if isinstance(body, list):
        return [materialise(v) for v in body]
    return copy.deepcopy(body)


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every position in a body (containers too), as a path of keys and indexes."""
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, path + (index,))


def replaced(body: Any, path: tuple, new: Any) -> Any:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return out


def field_cases(kind: str, w: World, variants) -> Iterator[Case]:
    """For every registered body, every field replaced by each variant `variants(path, value)` gives."""
    for rule, method in routes(w):
        if method not in BODY_METHODS:
            continue
        for body in base_bodies(w).get(rule.endpoint, []):
            for path, value in leaves(body):
                for new, expect in variants(path, value):
                    yield Case(kind, method, fill(rule, w), {"json": replaced(body, path, new),
                                                             "params": base_query(rule.endpoint, w)},
                               expect=expect, note=f"{rule.endpoint} {'.'.join(map(str, path))}={_short(new)}")


def query_cases(kind: str, w: World, values, names=None, methods=("GET",)) -> Iterator[Case]:
    for rule, method in routes(w):
        if method not in methods:
            continue
        for name in names or w.query_names:
            for value in values:
                params = {**base_query(rule.endpoint, w), name: value}
                yield Case(kind, method, fill(rule, w), {"params": params, **default_body(rule.endpoint, w)},
                           note=f"{rule.endpoint} ?{name}={_short(value)}")


def path_cases(kind: str, w: World, values) -> Iterator[Case]:
    for rule, method in routes(w):
        for name in rule.arguments:
            for value in values:
                yield Case(kind, method, fill(rule, w, {name: value}),
                           {"params": base_query(rule.endpoint, w), **default_body(rule.endpoint, w)},
                           note=f"{rule.endpoint} <{name}>={_short(value)}")


def form_cases(kind: str, w: World, values) -> Iterator[Case]:
    for rule, method in routes(w):
        for form in forms(w).get(rule.endpoint, []):
            for name in form["data"]:
                for value in values:
                    yield Case(kind, method, fill(rule, w), {"data": {**form["data"], name: value},
                                                             "files": form.get("files")},
                               note=f"{rule.endpoint} form {name}={_short(value)}")
            for name, (_filename, content, ctype) in (form.get("files") or {}).items():
                for value in values:
                    yield Case(kind, method, fill(rule, w), {"data": form["data"],
                                                             "files": {name: (value, content, ctype)}},
                               note=f"{rule.endpoint} filename={_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


# --- the kinds ---


def headers_cases(w: World) -> Iterator[Case]:
    auth = (b"Bearer \xe4\xbb\xa4\xe7\x89\x8c", b"Bearer \xff\xfe", f"Bearer {TOKEN}".encode() + b"\xe9",
            b"Bearer " + "令".encode() + TOKEN.encode(), b"Bearer", b"Bearer ", b"", b"\xe4\xbb\xa4",
            b"Bearer " + b"x" * 8000, b"Basic dGVzdDp0ZXN0", f"bearer  {TOKEN}  extra".encode(), b"Bearer \x7f",
            b"Bearer\t" + TOKEN.encode())
    others = ({"X-CSRF-Token": b"\xe4\xbb\xa4\xe7\x89\x8c"}, {"X-CSRF-Token": b"\xff" * 40},
              {"X-CSRF-Token": b"x" * 5000}, {"Cookie": b"agent_session=\xe4\xbb\xa4; other=\xff"},
              {"Cookie": b"agent_session=" + b"a" * 4000}, {"If-None-Match": b'"\xe4\xbb\xa4"'},
              {"Content-Type": b"application/json; charset=\xe4\xbb\xa4"},
              {"Content-Type": b"application/json; charset=utf-16"}, {"Accept": b"\xff/\xfe"},
              {"Content-Length": b"abc"}, {"User-Agent": b"curl\x00/8"}, {"X-Forwarded-For": b"1.2.3.4\x00"})
    for rule, method in routes(w):
        path = fill(rule, w)
        body = {"params": base_query(rule.endpoint, w), **default_body(rule.endpoint, w)}
        for value in auth:
            yield Case("headers", method, path, {**body, "headers": {"Authorization": value}},
                       note=f"{rule.endpoint} Authorization: {_short(value)}")
        for header in others:
            yield Case("headers", method, path, {**body, "headers": header}, note=f"{rule.endpoint} {_short(header)}")


def query_ids_cases(w: World) -> Iterator[Case]:
    yield from query_cases("query_ids", w, HOSTILE_IDS, w.integer_query_names + ("phone_tail",))


def path_ids_cases(w: World) -> Iterator[Case]:
    yield from path_cases("path_ids", w, HOSTILE_IDS)


def bodies_cases(w: World) -> Iterator[Case]:
    for rule, method in routes(w):
        if method not in BODY_METHODS:
            continue
        path = fill(rule, w)
        for raw, ctype in [(raw, "application/json") for raw in RAW_BODIES] + [(b"{}", "text/plain"),
                                                                                 (b"[1]", "application/xml")]:
            yield Case("bodies", method, path, {"data": raw, "headers": {"Content-Type": ctype},
                                                "params": base_query(rule.endpoint, w)},
                       note=f"{rule.endpoint} {ctype} {_short(raw)}")
        yield Case("bodies", method, path, {"data": {"a": "b"}}, note=f"{rule.endpoint} urlencoded form")
        yield Case("bodies", method, path, {"files": {"file": ("x.json", b"{}", "application/json")}},
                   note=f"{rule.endpoint} multipart")
        for part in (b'Content-Disposition: form-data\r\n\r\nno name', b'Content-Disposition: form-data; name="a\x00"'
                     b'\r\n\r\nx', b'Content-Disposition: form-data; name="file"; filename="a\x00.png"\r\n'
                     b'Content-Type: image/png\r\n\r\n' + PNG, b"garbage"):
            raw = b"--B\r\n" + part + b"\r\n--B--\r\n"
            kwargs = {"data": raw, "headers": {"Content-Type": "multipart/form-data; boundary=B"},
                      "params": base_query(rule.endpoint, w)}
            yield Case("bodies", method, path, kwargs,
                       note=f"{rule.endpoint} raw multipart {_short(part)}")
    yield from field_cases("bodies", w, lambda path, value: [(new, None) for new in WRONG_TYPES])
    # Containers replaced by a deeply nested value inside an otherwise valid body.
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    yield from field_cases("bodies", w, lambda path, value: [(deep, None)] if isinstance(value, (dict, list))
                           or path[-1] == "details" else [])


def extreme_times_cases(w: World) -> Iterator[Case]:
    def variants(path, value):
        if path[-1] not in TIME_KEYS or len(path) > 1:
            return []
        return [(t, (422,) if t in OUT_OF_RANGE else None) for t in EXTREME_TIMES + MALFORMED_TIMES]

    # Bodies with another error (an unknown facility) would answer 422 for that one instead.
    yield from (case for case in field_cases("extreme_times", w, variants)
                if "facility_code" not in case.kwargs["json"])
    yield from query_cases("extreme_times", w, EXTREME_TIMES + MALFORMED_TIMES[:6], names=("since",))


def nul_bytes_cases(w: World) -> Iterator[Case]:
    values = ("\x00", "abc\x00def", "SF\x001234567890")

    def variants(path, value):
        if isinstance(value, str):
            return [(value + "\x00", (400, 404, 409, 422)), ("\x00" + value, (400, 404, 409, 422))]
        if isinstance(value, dict):
            return [({**value, "k\x00": "v"}, (400, 404, 409, 422))]
        return []

    yield from field_cases("nul_bytes", w, variants)
    yield from query_cases("nul_bytes", w, values)
    yield from path_cases("nul_bytes", w, values)
    yield from form_cases("nul_bytes", w, values)


def lone_surrogates_cases(w: World) -> Iterator[Case]:
    def variants(path, value):
        return [(value + "\ud800", None), ("\udfff", None)] if isinstance(value, str) else []

    yield from field_cases("lone_surrogates", w, variants)
    # Percent-encoded surrogates and invalid UTF-8 in the path and the query string.
    for rule, method in routes(w):
        for raw in ("%ED%A0%80", "%FF%FE", "%C0%80"):
            path = fill(rule, w) + f"?conversation_id={raw}&phone_tail={raw}&customer_id={raw}"
            yield Case("lone_surrogates", method, path, default_body(rule.endpoint, w), note=f"{rule.endpoint} {raw}")
            if rule.arguments:
                yield Case("lone_surrogates", method, _ARG.sub(raw, rule.rule), default_body(rule.endpoint, w),
                           note=f"{rule.endpoint} path {raw}")


def oversized_cases(w: World) -> Iterator[Case]:
    def variants(path, value):
        if isinstance(value, str):
            return [("x" * 5_000, None), ("長" * 20_000, None)]
        if isinstance(value, list):
            return [([value[0] if value else "x"] * 2_000, None)]
        if isinstance(value, dict):
            return [({f"k{i}": "v" * 100 for i in range(300)}, None)]
        if isinstance(value, int) and not isinstance(value, bool):
            return [(10**400, None), (2**63, None), (2**31, None)]
        return []

    yield from field_cases("oversized", w, variants)
    yield from query_cases("oversized", w, ("x" * 5_000,))
    yield from path_cases("oversized", w, ("x" * 5_000,))
    yield from form_cases("oversized", w, ("x" * 5_000,))


def unicode_digits_cases(w: World) -> Iterator[Case]:
    def variants(path, value):
        if isinstance(value, str) and any(c.isdigit() for c in value):
            return [(v, None) for v in unicode_variants(value)]
        return []

    yield from field_cases("unicode_digits", w, variants)
    yield from query_cases("unicode_digits", w, unicode_variants(w.phone[-4:]) + unicode_variants("12"),
                           names=("phone_tail", "customer_id", "tracking_number"))
    yield from path_cases("unicode_digits", w, unicode_variants(w.number) + unicode_variants("1"))
    yield from form_cases("unicode_digits", w, unicode_variants(w.conversation) + ("١٢٣",))


GENERATORS = {
    "headers": headers_cases, "query_ids": query_ids_cases, "path_ids": path_ids_cases, "bodies": bodies_cases,
    "extreme_times": extreme_times_cases, "nul_bytes": nul_bytes_cases, "lone_surrogates": lone_surrogates_cases,
    "oversized": oversized_cases, "unicode_digits": unicode_digits_cases,
}
assert set(GENERATORS) == set(KINDS)


# --- sending and judging ---


def send(w: World, case: Case) -> requests.Response:
    path = case.path
    kwargs = copy.copy(case.kwargs)
    headers = dict(kwargs.pop("headers", None) or {})
    if path.startswith("/api/"):
        http = w.api
    elif path.startswith("/agent/") and not path.startswith("/agent/logout"):
        # The agent's cookies on a throwaway session: whatever a hostile request makes the server set (a new
        # session after a garbage cookie, say) must not end the login the other cases use. No logout either.
        http = requests.Session()
        http.cookies.update(w.console.cookies)
        if case.method != "GET":
            headers.setdefault("X-CSRF-Token", w.csrf)
    else:
        http = w.anonymous
    if kwargs.get("json") is not None:
        # Encoded here (lone surrogates and huge integers go out as they are), with fresh unique values.
        kwargs["data"] = json.dumps(materialise(kwargs.pop("json")), ensure_ascii=True).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "json" in kwargs:
        kwargs.pop("json")
    if kwargs.get("files") is None:
        kwargs.pop("files", None)
    return http.request(case.method, w.base + path, headers=headers, timeout=30, allow_redirects=False, **kwargs)


def _dependency_down(response: requests.Response) -> bool:
    """A 503 because Rasa is not running in these tests (its URL is a closed port): not the input's fault."""
    try:
        return response.status_code == 503 and response.json().get("error") == "rasa_unavailable"
    except ValueError:
        return False


def judge(case: Case, response: requests.Response) -> str | None:
    """None when the answer is acceptable, else what is wrong with it."""
    status = response.status_code
    where = f"{case.method} {case.path[:120]} [{case.note}] -> {status}: {response.text[:200]!r}"
    if status >= 500 and not _dependency_down(response):
        return where
    if case.expect is not None and status not in case.expect:
        return f"expected {case.expect}: {where}"
    path = case.path.split("?", 1)[0]
    if status >= 400 and path.startswith(JSON_PREFIXES):
        try:
            body = response.json()
        except ValueError:
            return f"not JSON: {where}"
        if not (isinstance(body, dict) and isinstance(body.get("error"), str)
                and isinstance(body.get("message"), str) and body["message"].strip()):
            return f"no error/message: {where}"
        if status == 422 and case.kind == "extreme_times" and case.expect == (422,):
            if not re.search(r"20\d\d|range|between", body["message"]):
                return f"the message does not say the accepted range: {where}"
    return None


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_input_is_a_4xx_with_a_json_error(kind, world):
    failures, sent = [], 0
    for case in GENERATORS[kind](world):
        response = send(world, case)
        sent += 1
        problem = judge(case, response)
        if problem:
            failures.append(problem)
    COUNTS[kind] += sent
    assert sent > 0, f"no hostile input of kind {kind} was sent"
    assert not failures, f"{len(failures)} of {sent} {kind} inputs failed:\n" + "\n".join(failures[:25])


# --- the reported cases, with the exact answers ---


def test_the_reported_cases_answer_as_specified(world):
    api, base, number = world.api, world.base, world.number
    event = f"{base}/api/v1/shipments/{number}/events"
    cases = [
        ("headers", requests.get(f"{base}/api/v1/tickets", params={"conversation_id": "x"},
                                 headers={"Authorization": "Bearer 令牌".encode()}, timeout=10), 401, "unauthorized"),
        ("query_ids", api.get(f"{base}/api/v1/tickets", params={"customer_id": "²"}), 400, "bad_request"),
        ("query_ids", api.get(f"{base}/api/v1/tickets", params={"customer_id": str(2**63)}), 400, "bad_request"),
        ("query_ids", api.get(f"{base}/api/v1/shipments/{number}", params={"customer_id": "١٢"}), 400, "bad_request"),
        ("path_ids", api.get(f"{base}/api/v1/tickets/{2**63}"), 404, "not_found"),
        ("path_ids", api.get(f"{base}/api/v1/tickets/{2**31}"), 404, "not_found"),
        ("path_ids", api.get(f"{base}/api/v1/handoffs/{quote('٣')}"), 404, "not_found"),
        ("bodies", api.post(f"{base}/api/v1/tickets", data=b"[" * 10_000 + b"]" * 10_000,
                            headers={"Content-Type": "application/json"}), 400, "malformed_json"),
        ("bodies", api.post(f"{base}/api/v1/tickets", json=[1, 2, 3]), 400, "malformed_json"),
        ("bodies", api.post(f"{base}/api/v1/handoffs", json={**handoff_body(number, "c"), "customer_id": 2**63}),
         422, "validation_error"),
        ("extreme_times", api.post(event, json={"time": "0001-01-01T00:00:00+23:59", "status": "in_transit",
                                                "location": "上海"}), 422, "validation_error"),
        ("extreme_times", api.post(event, json={"time": "9999-12-31T23:59:59-23:59", "status": "in_transit",
                                                "location": "上海"}), 422, "validation_error"),
        ("nul_bytes", api.post(f"{base}/api/v1/customers", json={"phone": world.phone, "name": "赵\x00敏"}),
         422, "validation_error"),
        ("nul_bytes", api.get(f"{base}/api/v1/shipments/SF%00123"), 400, "bad_request"),
        ("lone_surrogates", api.post(f"{base}/api/v1/customers", data=b'{"phone": "13700000000", "name": "\\ud800"}',
                                     headers={"Content-Type": "application/json"}), 422, "validation_error"),
        ("oversized", api.post(f"{base}/api/v1/customers", json={"phone": world.phone, "name": "长" * 5_000}),
         422, "validation_error"),
        ("unicode_digits", api.get(f"{base}/api/v1/shipments/{quote(fullwidth(number))}",
                                   params={"phone_tail": fullwidth(world.phone[-4:])}), 200, None),
    ]
    for kind, response, status, code in cases:
        COUNTS[kind] += 1
        assert response.status_code == status, (kind, response.request.url[:120], response.text[:300])
        if code is not None:
            assert response.json()["error"] == code and response.json()["message"], response.text
    times = [r.json()["message"] for kind, r, _s, _c in cases if kind == "extreme_times"]
    assert all("between 2000-01-01 and 2100-12-31" in message for message in times), times


# --- Unicode digits are the same digits: one phone, one parcel, one OTP bucket ---


def test_a_phone_typed_in_fullwidth_or_arabic_digits_is_the_same_customer(world):
    api, base = world.api, world.base
    phone = unique_phone()
    first = api.post(f"{base}/api/v1/customers", json={"phone": phone})
    assert first.status_code == 201, first.text
    for variant in unicode_variants(phone) + ("+８６ " + fullwidth(phone),):
        again = api.post(f"{base}/api/v1/customers", json={"phone": variant})
        assert again.status_code == 200, (variant, again.text)
        assert again.json()["id"] == first.json()["id"]
        COUNTS["unicode_digits"] += 1


def test_one_time_codes_of_a_phone_share_one_bucket_whatever_its_digits(world):
    base, phone, session_id = world.base, unique_phone(), uuid.uuid4().hex
    first = world.anonymous.post(f"{base}/web/api/otp", json={"phone": phone, "session_id": session_id})
    assert first.status_code == 200, first.text
    for variant in unicode_variants(phone):
        again = world.anonymous.post(f"{base}/web/api/otp", json={"phone": variant, "session_id": session_id})
        assert again.status_code == 429, (variant, again.text)
        COUNTS["unicode_digits"] += 1
    if any(rule.endpoint == "api_v1.customers.binding_code" for rule in world.rules):
        # The assistant's binding codes count in the same bucket as the web page's.
        chat = world.api.post(f"{base}/api/v1/bindings/otp", json={
            "phone": arabic_indic(phone), "channel": "wechat", "external_id": f"o-{uuid.uuid4().hex[:8]}"})
        assert chat.status_code == 429, chat.text
        COUNTS["unicode_digits"] += 1
    code = first.json().get("demo_code")
    if code is None:
        return  # not in demo mode: the code went to the log only
    verified = world.anonymous.post(f"{base}/web/api/otp/verify", json={
        "phone": fullwidth(phone), "code": fullwidth(code), "session_id": session_id})
    assert verified.status_code == 200, verified.text
    COUNTS["unicode_digits"] += 1


def test_a_tracking_number_in_fullwidth_or_arabic_digits_is_the_same_parcel(world):
    api, base, number, tail = world.api, world.base, world.number, world.phone[-4:]
    for variant in (fullwidth(number), fullwidth(number).lower(), arabic_indic(number),
                    number[:2] + devanagari(number[2:]), number.lower()):
        found = api.get(f"{base}/api/v1/shipments/{quote(variant)}", params={"phone_tail": tail})
        assert found.status_code == 200, (variant, found.text)
        assert found.json()["tracking_number"] == number
        recognized = api.get(f"{base}/api/v1/tracking-numbers/{quote(variant)}").json()
        assert recognized["tracking_number"] == number and recognized["known"] is True
        COUNTS["unicode_digits"] += 2
    duplicate = api.post(f"{base}/api/v1/shipments", json=shipment_body(fullwidth(number), world.phone))
    assert duplicate.status_code == 409, duplicate.text
    ticket = api.post(f"{base}/api/v1/tickets", json={
        "type": "urge", "tracking_number": arabic_indic(number), "idempotency_key": f"hostile:{uuid.uuid4().hex}"})
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["tracking_number"] == number
    COUNTS["unicode_digits"] += 2


def test_a_phone_tail_in_other_digits_proves_the_same_link(world):
    api, base, number, tail = world.api, world.base, world.number, world.phone[-4:]
    for variant in unicode_variants(tail):
        found = api.get(f"{base}/api/v1/shipments/{number}", params={"phone_tail": variant})
        assert found.status_code == 200, (variant, found.text)
        assert found.json()["role"] == "recipient"
        COUNTS["unicode_digits"] += 1


def test_hostile_input_counts_by_kind():
    """The closing figure: hostile inputs sent by kind (all answered below 500 if the tests above passed)."""
    if not all(COUNTS[kind] for kind in KINDS):
        pytest.skip("not every kind ran in this session (selected with -k?)")
    print("\nhostile inputs tested by kind: " + ", ".join(f"{k} {COUNTS[k]}" for k in KINDS)
          + f"; total {sum(COUNTS.values())}")
    assert all(COUNTS[kind] > 0 for kind in KINDS)
