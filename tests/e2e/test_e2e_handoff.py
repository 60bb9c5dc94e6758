"""Handoff over the running stack: the bot pauses itself, the agent's reply reaches the user on their channel,
closing gives the conversation back to the bot, which asks for a rating and stores it."""
from __future__ import annotations

import queue
import time
import uuid

import pytest
import requests

from logistics import seed
from tests.backend.test_handoffs import Console
from tests.e2e.test_e2e_conversations import fresh, texts

DEMO_AGENT, DEMO_PASSWORD = "agent", "agent-demo-2026"


def console_for(stack) -> Console:
    console = Console(stack.backend_url)
    assert console.login(DEMO_AGENT, DEMO_PASSWORD).status_code == 200
    return console


def rasa_tracker(stack, sender: str) -> dict:
    response = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                            params={"token": "e2e-rasa-token"}, timeout=10)
    response.raise_for_status()
    return response.json()


def handoff_api(stack, path: str) -> dict:
    response = requests.get(f"{stack.backend_url}/api/v1{path}", headers={"Authorization": f"Bearer {stack.token}"},
                            timeout=10)
    response.raise_for_status()
    return response.json()


def test_rest_handoff_pause_relay_close_and_rating(stack):
    sender = fresh()
    assert "后 4 位" in texts(stack.say(sender, f"查一下{seed.DEMO_UNBOUND_STATION}"))
    stack.say(sender, "5678")
    queued = texts(stack.say(sender, "/request_human"))
    assert "人工客服" in queued and "分钟" in queued and seed.DEMO_UNBOUND_STATION in queued, queued
    # Paused: the bot's NLU stays out; Rasa logs what the user says and the handoff side answers with the place in
    # the queue (tests/e2e/test_e2e_handoff_wait.py).
    waiting = texts(stack.say(sender, "我家是老小区没电梯，麻烦快点"))
    assert "人工客服" in waiting and "分钟" in waiting, waiting
    assert rasa_tracker(stack, sender)["paused"] is True

    handoff = handoff_api(stack, f"/handoffs?conversation_id={sender}")["handoffs"][0]
    assert handoff["status"] == "queued"
    package = handoff_api(stack, f"/handoffs/{handoff['id']}")["package"]
    assert package["shipments"][0]["tracking_number"] == seed.DEMO_UNBOUND_STATION
    assert package["contact"].endswith("（尾号已核验）")

    console = console_for(stack)
    assert handoff["id"] in [h["id"] for h in console.get("/agent/api/queue").json()["queued"]]
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/claim").json()["status"] == "active"
    transcript = console.get(f"/agent/api/handoffs/{handoff['id']}/transcript").json()
    assert transcript["live"] and transcript["paused"]
    assert transcript["lines"][-2] == {"role": "user", "text": "我家是老小区没电梯，麻烦快点",
                                       "time": transcript["lines"][-2]["time"]}
    assert transcript["lines"][-1]["role"] == "bot" and "分钟" in transcript["lines"][-1]["text"]

    reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages",
                         json={"text": "您好，我是客服小林，已联系驿站"})
    assert reply.status_code == 201 and reply.json()["delivered"] is True
    bot_events = [e for e in rasa_tracker(stack, sender)["events"] if e["event"] == "bot"]
    assert bot_events[-1]["text"] == "您好，我是客服小林，已联系驿站"
    assert bot_events[-1]["data"]["custom"]["data"]["from"] == "agent"
    # A retry delivers nothing twice.
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/retry").json()["pending"] == []
    assert len([e for e in rasa_tracker(stack, sender)["events"] if e["event"] == "bot"]) == len(bot_events)

    closed = console.post(f"/agent/api/handoffs/{handoff['id']}/close").json()
    assert closed["status"] == "closed" and closed["resumed"] is True
    tracker = rasa_tracker(stack, sender)
    assert tracker["paused"] is False
    rating_question = [e for e in tracker["events"] if e["event"] == "bot"][-1]
    assert "打个分" in rating_question["text"] and len(rating_question["data"]["buttons"]) == 5

    thanks = texts(stack.say(sender, '/rate_service{"rating":"5"}'))
    assert "5 分" in thanks, thanks
    assert handoff_api(stack, f"/handoffs/{handoff['id']}")["rating"] == 5
    # The bot is itself again.
    assert stack.say(sender, f"查一下{seed.DEMO_UNBOUND_STATION}") != []


def test_socketio_user_receives_the_agents_reply_and_the_rating_question(stack):
    socketio = pytest.importorskip("socketio")
    received: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("bot_uttered", lambda data: received.put(data))
    session_id = f"web-{uuid.uuid4().hex[:10]}"
    client.connect(stack.rasa_url, socketio_path="/socket.io", transports=["polling"], wait_timeout=20)
    try:
        client.emit("session_request", {"session_id": session_id})
        time.sleep(1.0)

        def say(text: str) -> None:
            client.emit("user_uttered", {"message": text, "session_id": session_id})

        def collect(until, timeout: float = 30.0) -> list[dict]:
            got, deadline = [], time.time() + timeout
            while time.time() < deadline:
                try:
                    got.append(received.get(timeout=0.5))
                except queue.Empty:
                    continue
                if until(got):
                    return got
            raise AssertionError(f"not received in time; got {got}")

        say("/request_human")
        queued = collect(lambda got: any("人工客服" in (m.get("text") or "") for m in got))
        assert any("分钟" in (m.get("text") or "") for m in queued)
        handoff = handoff_api(stack, f"/handoffs?conversation_id={session_id}")["handoffs"][0]
        assert handoff["channel"] == "socketio"

        console = console_for(stack)
        reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "您好，这里是人工客服"})
        assert reply.json()["delivered"] is True
        relayed = collect(lambda got: any(m.get("from") == "agent" for m in got))
        assert any(m.get("text") == "您好，这里是人工客服" for m in relayed)
        marker = next(m for m in relayed if m.get("from") == "agent")
        assert marker["type"] == "agent_message" and marker["agent"] == "客服小林"

        assert console.post(f"/agent/api/handoffs/{handoff['id']}/close").json()["resumed"] is True
        question = collect(lambda got: any("打个分" in (m.get("text") or "") for m in got))
        buttons = next(m for m in question if "打个分" in (m.get("text") or ""))["quick_replies"]
        assert [b["payload"] for b in buttons][0] == '/rate_service{"rating":"5"}'

        say('/rate_service{"rating":"4"}')
        collect(lambda got: any("4 分" in (m.get("text") or "") for m in got))
        assert handoff_api(stack, f"/handoffs/{handoff['id']}")["rating"] == 4
    finally:
        client.disconnect()
