"""POST /api/v1/handoffs/waiting and the end of waits: the place in the queue, cancel words, /restart, expiry with
a callback ticket (on a message and by the sweep), the agent's acknowledgement and undelivered replies, retries
recorded once, bad input as 4xx, China time. Over HTTP against a database of this module's own (queue positions
count every waiting handoff)."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from logistics import db
from logistics.handoffs import waiting
from logistics.handoffs.models import Handoff, HandoffUserMessage
from tests.backend.test_handoffs import agent_session, body
from tests.conftest import _backends, _database, serve
from tests.support import Api, unique_phone

ROUTE = "/api/v1/handoffs/waiting"


@pytest.fixture(scope="module", params=_backends())
def own_engine(request, tmp_path_factory):
    with _database(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture(scope="module")
def backend_url(own_engine):
    yield from serve(own_engine)


@pytest.fixture(autouse=True)
def empty_queue(own_engine):
    """Each test starts with nobody waiting, so positions are exact."""
    with db.transaction(db.session_factory(own_engine)) as session:
        session.execute(update(Handoff).where(Handoff.status != "closed").values(status="closed"))
    yield


def queue(api: Api, conversation: str | None = None, **overrides) -> dict:
    conversation = conversation or f"wait-{uuid.uuid4().hex[:10]}"
    response = api.post("/api/v1/handoffs", json=body(conversation, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def say(api: Api, conversation: str, text: str, timestamp: float | None = None, **extra):
    return api.post(ROUTE, json={"conversation_id": conversation, "channel": "rest", "text": text,
                                 "timestamp": timestamp or time.time(), **extra})


def backdate(engine, handoff_id: int, minutes: int) -> None:
    with db.transaction(db.session_factory(engine)) as session:
        handoff = session.get(Handoff, handoff_id)
        handoff.created_at -= timedelta(minutes=minutes)


def recorded(engine, handoff_id: int) -> int:
    with db.transaction(db.session_factory(engine)) as session:
        return session.execute(select(func.count()).select_from(HandoffUserMessage)
                               .where(HandoffUserMessage.handoff_id == handoff_id)).scalar_one()


def test_each_message_gets_the_place_in_the_queue_and_the_wait(api):
    first, second = queue(api), queue(api)
    answer = say(api, second["conversation_id"], "我家是老小区没电梯，麻烦快点")
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert got["action"] == "wait" and got["status"] == "queued" and got["handoff_id"] == second["id"]
    assert got["outcome"] == "queued" and got["response"] == "utter_handoff_wait_queued"
    assert got["values"]["handoff_position"] == "2" and got["values"]["handoff_ahead"] == "1"
    assert int(got["values"]["handoff_wait"]) >= 1 and got["values"]["handoff_waited"] == "0"
    assert got["agent_messages"] == []
    nobody_ahead = say(api, first["conversation_id"], "还要等多久").json()
    assert nobody_ahead["outcome"] == "next" and nobody_ahead["response"] == "utter_handoff_wait_next"
    assert nobody_ahead["values"]["handoff_ahead"] == "0"
    # The first one is served: the second moves up.
    assert say(api, first["conversation_id"], "算了").json()["action"] == "resume"
    assert say(api, second["conversation_id"], "现在呢").json()["outcome"] == "next"


def test_a_retried_message_is_recorded_once_and_answered_the_same(api, own_engine):
    handoff = queue(api)
    sent = time.time()
    first = say(api, handoff["conversation_id"], "单号是 SF1234567890123", timestamp=sent)
    again = say(api, handoff["conversation_id"], "单号是 SF1234567890123", timestamp=sent)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert recorded(own_engine, handoff["id"]) == 1
    # The same words sent again later are a new message.
    assert say(api, handoff["conversation_id"], "单号是 SF1234567890123", timestamp=sent + 5).status_code == 201
    assert recorded(own_engine, handoff["id"]) == 2
    # A cancel retried after the handoff closed gets the same answer, not "closed".
    cancel_at = time.time()
    cancelled = say(api, handoff["conversation_id"], "算了", timestamp=cancel_at).json()
    assert say(api, handoff["conversation_id"], "算了", timestamp=cancel_at).json() == cancelled
    assert cancelled["outcome"] == "cancelled"


@pytest.mark.parametrize("text", ["算了", "不用了", "不转了", "机器人就行", "取消", "算了吧", "那算了，不等了！",
                                  "还是用机器人吧", "取消转人工", "不用转人工了", "我不想等了"])
def test_cancel_words_give_the_conversation_back_to_the_bot(api, text):
    handoff = queue(api)
    answer = say(api, handoff["conversation_id"], text)
    assert answer.status_code == 201
    got = answer.json()
    assert (got["action"], got["outcome"], got["response"]) == ("resume", "cancelled", "utter_handoff_wait_cancelled")
    assert got["status"] == "closed"
    closed = api.get(f"/api/v1/handoffs/{handoff['id']}").json()
    assert closed["status"] == "closed" and closed["close_reason"] == "cancelled"
    assert closed["close_reason_label"] == "用户取消等待" and closed["resumed_at"] is not None
    ticket = api.get(f"/api/v1/tickets/{handoff['ticket_id']}").json()
    assert ticket["status"] == "closed"
    assert any(h["kind"] == "handoff_ended" for h in ticket["history"])
    # Queued again later: a new handoff, not the cancelled one.
    again = api.post("/api/v1/handoffs", json=body(handoff["conversation_id"]))
    assert again.status_code == 201 and again.json()["id"] != handoff["id"]


@pytest.mark.parametrize("text", ["取消寄件可以吗", "算了，你们到底什么时候送", "这个快递我不要了，帮我退回",
                                  "不用打电话，放驿站就行", "机器人根本没用"])
def test_messages_for_the_agent_are_not_cancel_words(text):
    assert not waiting.is_cancel(text)


def test_restart_ends_the_handoff(api):
    handoff = queue(api)
    got = say(api, handoff["conversation_id"], "/restart", restart=True).json()
    assert (got["action"], got["outcome"], got["response"]) == ("resume", "restarted", "utter_handoff_wait_restarted")
    assert api.get(f"/api/v1/handoffs/{handoff['id']}").json()["close_reason"] == "restart"


def bound_conversation(api: Api) -> tuple[str, str]:
    conversation, phone = f"wait-{uuid.uuid4().hex[:10]}", unique_phone()
    response = api.post("/api/v1/customers", json={"phone": phone, "name": "王强", "bindings": [
        {"channel": "socketio", "external_id": conversation}]})
    assert response.status_code in (200, 201), response.text
    return conversation, phone


def test_a_wait_past_the_limit_ends_with_a_callback_ticket(api, own_engine):
    conversation, phone = bound_conversation(api)
    handoff = queue(api, conversation)
    assert handoff["contact"].endswith("（已绑定）")
    backdate(own_engine, handoff["id"], 16)
    got = say(api, conversation, "人呢？我的电话 " + phone).json()
    assert (got["action"], got["outcome"], got["response"]) == \
        ("resume", "expired_callback", "utter_handoff_wait_expired_callback")
    values = got["values"]
    assert values["handoff_waited"] == "16" and values["callback_hours"] == "2"
    assert values["callback_phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert values["callback_due"].startswith(("今天 ", "明天 ")) and ":" in values["callback_due"]
    callback = api.get(f"/api/v1/tickets/{values['callback_ref'][1:]}").json()
    assert callback["type"] == "callback" and callback["status"] == "open"
    assert callback["conversation_id"] == conversation
    assert callback["details"]["handoff_id"] == handoff["id"] and callback["details"]["waited_minutes"] == 16
    assert phone not in callback["details"]["last_message"]
    closed = api.get(f"/api/v1/handoffs/{handoff['id']}").json()
    assert closed["close_reason"] == "expired" and closed["callback_ticket_ref"] == values["callback_ref"]
    assert api.get(f"/api/v1/tickets/{handoff['ticket_id']}").json()["status"] == "closed"


def test_a_wait_past_the_limit_without_a_contact_offers_the_hotlines(api, own_engine):
    handoff = queue(api)
    backdate(own_engine, handoff["id"], 15)
    got = say(api, handoff["conversation_id"], "还没人吗").json()
    assert (got["outcome"], got["response"]) == ("expired", "utter_handoff_wait_expired")
    assert "callback_ref" not in got["values"]
    assert api.get(f"/api/v1/handoffs/{handoff['id']}").json()["callback_ticket_id"] is None


def test_the_sweep_ends_silent_waits_and_the_user_is_told_at_the_next_message(api, own_engine):
    conversation, _ = bound_conversation(api)
    overdue, fresh = queue(api, conversation), queue(api)
    backdate(own_engine, overdue["id"], 30)
    swept = api.post("/api/v1/handoffs/expire")
    assert swept.status_code == 200
    # No Rasa in these tests: nobody could be told yet.
    assert swept.json() == {"expired": [overdue["id"]], "told": []}
    assert api.get(f"/api/v1/handoffs/{fresh['id']}").json()["status"] == "queued"
    ended = api.get(f"/api/v1/handoffs/{overdue['id']}").json()
    assert ended["status"] == "closed" and ended["resumed_at"] is None
    assert ended["close_notice"]["response"] == "utter_handoff_wait_expired_callback"
    assert api.post("/api/v1/handoffs/expire").json() == {"expired": [], "told": []}
    told = say(api, conversation, "在吗")
    assert told.status_code == 200
    assert (told.json()["action"], told.json()["outcome"]) == ("resume", "expired_callback")
    assert told.json()["values"] == ended["close_notice"]["values"]
    # Told once; a later message while Rasa still pauses the conversation is simply given back to the bot.
    assert say(api, conversation, "在吗？？").json()["outcome"] == "closed"


def test_with_an_agent_the_first_message_is_acknowledged_and_undelivered_replies_handed_over(api, own_engine,
                                                                                              backend_url):
    handoff = queue(api)
    conversation = handoff["conversation_id"]
    console = agent_session(backend_url, own_engine)
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/claim").json()["status"] == "active"
    first = say(api, conversation, "你好").json()
    assert (first["action"], first["outcome"]) == ("wait", "agent_joined")
    assert first["values"] == {"agent_name": "客服小王"}
    # Rasa is unreachable here, so the reply stays in the outbox until the user writes again.
    reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "您好，我来帮您查"})
    assert reply.status_code == 201 and reply.json()["delivered"] is False
    second = say(api, conversation, "好的谢谢").json()
    assert (second["outcome"], second["response"]) == ("with_agent", None)
    assert [m["text"] for m in second["agent_messages"]] == ["您好，我来帮您查"]
    assert second["agent_messages"][0]["agent_name"] == "客服小王"
    assert api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"] == []
    # With an agent, cancel words are the agent's to answer.
    third = say(api, conversation, "算了").json()
    assert (third["action"], third["agent_messages"]) == ("wait", [])
    # Without Rasa the console shows the recorded messages in time order.
    lines = console.get(f"/agent/api/handoffs/{handoff['id']}/transcript").json()["lines"]
    assert [line["text"] for line in lines[-4:]] == ["你好", "您好，我来帮您查", "好的谢谢", "算了"]


def test_no_open_handoff_gives_the_conversation_back(api):
    got = say(api, f"never-{uuid.uuid4().hex[:8]}", "你好")
    assert got.status_code == 200
    assert (got.json()["action"], got.json()["outcome"], got.json()["handoff_id"]) == ("resume", "closed", None)


@pytest.mark.parametrize("change", [
    {"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"timestamp": "yesterday"}, {"timestamp": -1},
    {"timestamp": 1e12}, {"timestamp": None}, {"conversation_id": ""}, {"conversation_id": "c" * 129},
    {"channel": "fax"}, {"restart": "maybe"}, {"extra": 1},
])
def test_bad_input_is_a_4xx(api, change):
    data = {"conversation_id": "bad-input", "channel": "rest", "text": "你好", "timestamp": time.time(), **change}
    response = api.post(ROUTE, json={k: v for k, v in data.items() if v is not None})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"


def test_the_route_needs_the_token_and_a_json_object(backend_url, api):
    assert Api(backend_url, token=None).post(ROUTE, json={"conversation_id": "x", "text": "x",
                                                          "timestamp": time.time()}).status_code == 401
    assert api.post(ROUTE, data="text", headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.post(ROUTE, data="[1]", headers={"Content-Type": "application/json"}).status_code == 400
    assert api.post(ROUTE, data="{", headers={"Content-Type": "application/json"}).status_code == 400
    assert Api(backend_url, token=None).post("/api/v1/handoffs/expire").status_code == 401


def test_the_routes_are_in_the_openapi_document(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert "/api/v1/handoffs/waiting" in paths and "/api/v1/handoffs/expire" in paths


def test_times_told_to_users_are_china_time():
    now = datetime(2026, 12, 8, 15, 0)  # 23:00 in China
    assert waiting.china_time(datetime(2026, 12, 8, 15, 30), now) == "今天 23:30"
    assert waiting.china_time(datetime(2026, 12, 8, 16, 10), now) == "明天 00:10"
    assert waiting.china_time(datetime(2026, 12, 10, 1, 5), now) == "12月10日 09:05"
