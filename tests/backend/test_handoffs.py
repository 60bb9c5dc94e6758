"""The handoff API and the agent console over HTTP: idempotency, bad input, the package, auth and CSRF."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from logistics import db
from logistics.handoffs import service
from tests.support import TOKEN

PASSWORD = "correct-horse-42"


def agent_session(base: str, factory_or_engine, username: str | None = None) -> Console:
    """A logged-in console session (cookie + CSRF token) for a new agent."""
    factory = factory_or_engine if callable(factory_or_engine) and not hasattr(factory_or_engine, "url") \
        else db.session_factory(factory_or_engine)
    username = username or f"agent-{uuid.uuid4().hex[:6]}"
    with db.transaction(factory) as session:
        service.create_agent(session=session, username=username, password=PASSWORD, display_name="客服小王")
    console = Console(base)
    assert console.login(username, PASSWORD).status_code == 200
    return console


class Console:
    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str) -> requests.Response:
        page = self.http.get(f"{self.base}/agent/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.http.post(f"{self.base}/agent/login", data={"csrf_token": token, "username": username,
                                                                     "password": password}, timeout=10)
        if response.status_code == 200 and response.url.endswith("/agent/"):
            self.csrf = self.http.get(f"{self.base}/agent/api/session", timeout=10).json()["csrf_token"]
        return response

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kw)

    def post(self, path: str, csrf: str | None = None, **kw) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        return self.http.post(self.base + path, headers=headers, timeout=15, **kw)


def body(conversation: str | None = None, **overrides) -> dict:
    data = {
        "conversation_id": conversation or f"conv-{uuid.uuid4().hex[:8]}",
        "channel": "socketio",
        "reason": "request_human",
        "request": "用户要求人工服务",
        "tracking_numbers": [],
        "notes": ["用户留的地址是老小区无电梯"],
        "emotion": {"level": "calm", "urgent": False, "scene": None, "signals": []},
        "transcript": [{"role": "user", "text": "转人工", "time": "2026-11-25T10:00:00+08:00"}],
        "idempotency_key": f"handoff:{uuid.uuid4().hex}",
    }
    data.update(overrides)
    return data


def test_a_handoff_is_queued_with_a_ticket_and_the_package_is_completed(api, make_shipment):
    shipment = make_shipment()
    number = shipment["tracking_number"]
    assert api.post(f"/api/v1/shipments/{number}/events", json={
        "time": "2026-11-24T09:00:00+08:00", "status": "at_outlet", "location": "杭州西湖区文三路营业部",
        "description": "快件已到达网点，联系电话13912345678"}).status_code == 201
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    urge = api.post("/api/v1/tickets", json={"type": "urge", "tracking_number": number,
                                             "conversation_id": conversation, "idempotency_key": f"u:{number}"})
    assert urge.status_code == 201
    request = body(conversation, tracking_numbers=[number.lower(), "SF0000000000000"],
                   request=f"包裹 {number} 滞留网点未派件，用户要求尽快派送",
                   verified_tail={"tracking_number": number, "phone_tail": shipment["recipient"]["phone"][-4:]})
    response = api.post("/api/v1/handoffs", json=request)
    assert response.status_code == 201, response.text
    handoff = response.json()
    assert handoff["status"] == "queued" and handoff["queue_position"] >= 1 and handoff["estimated_wait_minutes"] >= 1
    package = handoff["package"]
    assert package["shipments"][0]["tracking_number"] == number
    scan = package["shipments"][0]["last_scan"]
    assert scan["place"] == "杭州西湖区文三路营业部" and "139****5678" in scan["description"]
    assert package["unknown_numbers"] == ["SF0000000000000"]
    assert [t["process"] for t in package["triggered"]] == ["网点催派流程"]
    assert package["triggered"][0]["age"] == "刚刚"
    assert package["contact"].startswith("收件人 137****") and package["contact"].endswith("（尾号已核验）")
    assert package["summary"] == (f"用户诉求：包裹 {number} 滞留网点未派件，用户要求尽快派送；"
                                  f"已触发：网点催派流程（刚刚，已受理）；补充信息：用户留的地址是老小区无电梯")
    ticket = api.get(f"/api/v1/tickets/{handoff['ticket_id']}").json()
    assert ticket["type"] == "handoff" and ticket["package"] == package
    assert ticket["details"]["handoff_id"] == handoff["id"]
    assert [h["kind"] for h in ticket["history"]] == ["created", "handoff_queued"]


def test_the_same_key_or_an_open_handoff_returns_the_same_one(api):
    request = body()
    first = api.post("/api/v1/handoffs", json=request)
    again = api.post("/api/v1/handoffs", json=request)
    other_key = api.post("/api/v1/handoffs", json={**request, "idempotency_key": "handoff:other:" + uuid.uuid4().hex})
    assert first.status_code == 201 and again.status_code == 200 and other_key.status_code == 200
    assert first.json()["id"] == again.json()["id"] == other_key.json()["id"]
    listed = api.get("/api/v1/handoffs", params={"conversation_id": request["conversation_id"]}).json()["handoffs"]
    assert [h["id"] for h in listed] == [first.json()["id"]]


@pytest.mark.parametrize("change", [
    {"conversation_id": ""}, {"request": ""}, {"channel": "fax"}, {"tracking_numbers": ["x"]},
    {"emotion": {"level": "furious"}}, {"transcript": [{"role": "robot", "text": "hi"}]}, {"customer_id": 0},
    {"idempotency_key": None}, {"notes": "not a list"}, {"unknown_field": 1}, {"reason": "DROP TABLE"},
])
def test_bad_input_is_a_4xx_never_a_500(api, change):
    response = api.post("/api/v1/handoffs", json={k: v for k, v in {**body(), **change}.items() if v is not None})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


def test_bad_bodies_ids_and_tokens(api, backend_url):
    assert api.post("/api/v1/handoffs", data="nope", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post("/api/v1/handoffs", json=[1]).status_code == 400
    assert api.post("/api/v1/handoffs", data="a=b").status_code == 415
    assert api.get("/api/v1/handoffs").status_code == 400
    assert api.get("/api/v1/handoffs/999999").status_code == 404
    assert api.post("/api/v1/handoffs", json=body(customer_id=999999)).status_code == 404
    assert requests.post(f"{backend_url}/api/v1/handoffs", json=body(), timeout=10).status_code == 401
    handoff = api.post("/api/v1/handoffs", json=body()).json()
    assert api.post(f"/api/v1/handoffs/{handoff['id']}/rating", json={"rating": 6}).status_code == 422
    assert api.post(f"/api/v1/handoffs/{handoff['id']}/rating", json={"rating": "five"}).status_code == 422
    # Rating before the agent closed it is a conflict.
    assert api.post(f"/api/v1/handoffs/{handoff['id']}/rating", json={"rating": 5}).status_code == 409
    assert api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/999999/delivered", json={}).status_code == 404


def test_priority_orders_the_queue(api, backend_url, engine):
    calm = api.post("/api/v1/handoffs", json=body()).json()
    angry = api.post("/api/v1/handoffs", json=body(emotion={"level": "angry", "signals": ["气死"]},
                                                   reason="anger")).json()
    assert angry["priority"] == 1 and calm["priority"] == 3
    console = agent_session(backend_url, engine)
    queue = console.get("/agent/api/queue").json()["queued"]
    ids = [h["id"] for h in queue]
    assert ids.index(angry["id"]) < ids.index(calm["id"])
    assert all("waited_seconds" in h for h in queue)


def test_console_refuses_without_login(backend_url):
    anonymous = requests.Session()
    page = anonymous.get(f"{backend_url}/agent/", allow_redirects=False, timeout=10)
    assert page.status_code == 302 and "/agent/login" in page.headers["Location"]
    for path in ("/agent/api/queue", "/agent/api/handoffs/1", "/agent/api/handoffs/1/transcript"):
        response = anonymous.get(backend_url + path, timeout=10)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    # A POST without a session has no CSRF token either: refused before anything else.
    assert anonymous.post(f"{backend_url}/agent/api/handoffs/1/close", timeout=10).status_code == 403


def test_wrong_password_csrf_and_logout(backend_url, engine):
    console = agent_session(backend_url, engine)
    cookie = next(c for c in console.http.cookies if c.name == "agent_session")
    assert cookie.has_nonstandard_attr("HttpOnly") or "httponly" in str(cookie._rest).lower()
    wrong = Console(backend_url)
    assert wrong.login("agent-nobody", "x").status_code == 401
    assert wrong.get("/agent/api/queue").status_code == 401
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {TOKEN}"
    handoff_id = api.post(f"{backend_url}/api/v1/handoffs", json=body(), timeout=10).json()["id"]
    assert console.post(f"/agent/api/handoffs/{handoff_id}/claim", csrf="").status_code == 403
    assert console.post(f"/agent/api/handoffs/{handoff_id}/claim", csrf="forged").status_code == 403
    assert console.post(f"/agent/api/handoffs/{handoff_id}/claim").status_code == 200
    # The login form needs the token too.
    assert requests.post(f"{backend_url}/agent/login", data={"username": "a", "password": "b"},
                         timeout=10).status_code == 403
    logout = console.http.post(f"{backend_url}/agent/logout", data={"csrf_token": console.csrf},
                               allow_redirects=False, timeout=10)
    assert logout.status_code == 302
    assert console.get("/agent/api/queue").status_code == 401


def test_an_agent_claims_replies_manages_tickets_and_closes(api, backend_url, engine, make_shipment):
    number = make_shipment()["tracking_number"]
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    ticket = api.post("/api/v1/tickets", json={"type": "urge", "tracking_number": number,
                                               "conversation_id": conversation,
                                               "idempotency_key": f"urge:{uuid.uuid4().hex}"}).json()
    handoff = api.post("/api/v1/handoffs", json=body(conversation, tracking_numbers=[number])).json()
    alice, bob = agent_session(backend_url, engine), agent_session(backend_url, engine)
    assert alice.post(f"/agent/api/handoffs/{handoff['id']}/claim").json()["status"] == "active"
    assert bob.post(f"/agent/api/handoffs/{handoff['id']}/claim").status_code == 409
    detail = alice.get(f"/agent/api/handoffs/{handoff['id']}").json()
    assert detail["mine"] and {t["id"] for t in detail["tickets"]} >= {ticket["id"], handoff["ticket_id"]}
    assert detail["timelines"][0]["tracking_number"] == number
    # No Rasa here: the reply is stored, reported undelivered, and waits in the outbox.
    reply = alice.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "您好，这边马上帮您催网点"})
    assert reply.status_code == 201 and reply.json()["delivered"] is False
    assert reply.json()["message"]["last_error"]
    assert alice.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "  "}).status_code == 422
    outbox = api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"]
    assert [m["text"] for m in outbox] == ["您好，这边马上帮您催网点"]
    transcript = alice.get(f"/agent/api/handoffs/{handoff['id']}/transcript").json()
    assert transcript["live"] is False and transcript["lines"][-1]["delivered"] is False
    delivered = api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/{outbox[0]['id']}/delivered", json={})
    assert delivered.json()["delivered"] is True
    assert api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"] == []
    # Tickets: a note, a new due time, resolve.
    path = f"/agent/api/tickets/{ticket['id']}"
    assert alice.post(path, json={"note": "已电话联系网点"}).status_code == 200
    assert alice.post(path, json={"sla_due_at": "2099-01-01T10:00"}).status_code == 422
    assert alice.post(path, json={"status": "resolved"}).json()["status"] == "resolved"
    assert alice.post(path, json={"status": "flying"}).status_code == 422
    history = api.get(f"/api/v1/tickets/{ticket['id']}").json()["history"]
    assert [h["actor"] for h in history if h["kind"] == "note"][-1].startswith("agent:")
    closed = alice.post(f"/agent/api/handoffs/{handoff['id']}/close")
    assert closed.json()["status"] == "closed" and closed.json()["resumed"] is False and closed.json()["warning"]
    assert api.get(f"/api/v1/tickets/{handoff['ticket_id']}").json()["status"] == "resolved"
    assert alice.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "还在吗"}).status_code == 409
    rated = api.post(f"/api/v1/handoffs/{handoff['id']}/rating", json={"rating": 4, "comment": "挺快的"})
    assert rated.status_code == 200 and rated.json()["rating"] == 4


def test_the_openapi_document_lists_the_handoff_routes(backend_url):
    paths = requests.get(f"{backend_url}/openapi.json", timeout=10).json()["paths"]
    for path in ("/api/v1/handoffs", "/api/v1/handoffs/{handoff_id}", "/api/v1/handoffs/{handoff_id}/outbox",
                 "/api/v1/handoffs/{handoff_id}/outbox/{message_id}/delivered",
                 "/api/v1/handoffs/{handoff_id}/rating"):
        assert path in paths
