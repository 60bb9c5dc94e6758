"""Waiting for a human over the running stack: never silence. Each message while queued is answered with the place
in the queue (by the handoff side, not the bot's NLU); 算了 and /restart give the conversation back to the bot; an
agent's reply reaches a REST user with the answer to their next message; a wait past the limit ends with a
callback ticket and the bot tells the user."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import requests
from sqlalchemy import select

from logistics import db, seed
from logistics.handoffs.models import Handoff
from tests.e2e.test_e2e_conversations import fresh, texts
from tests.e2e.test_e2e_handoff import console_for, handoff_api, rasa_tracker

QUEUE_PLACE = re.compile(r"(?:前面还有 ?(\d+) ?位|您是下一位)")


def queue_for_human(stack, sender: str) -> dict:
    queued = texts(stack.say(sender, "转人工"))
    assert "人工客服" in queued and "分钟" in queued, queued
    assert rasa_tracker(stack, sender)["paused"] is True
    return handoff_api(stack, f"/handoffs?conversation_id={sender}")["handoffs"][0]


def bot_texts(stack, sender: str) -> list[str]:
    return [e.get("text") or "" for e in rasa_tracker(stack, sender)["events"] if e["event"] == "bot"]


def test_every_message_while_waiting_is_answered_with_the_place_in_the_queue(stack):
    sender = fresh("wait")
    handoff = queue_for_human(stack, sender)
    for text in ("我家是老小区没电梯，麻烦快点", "SF1234567890123 怎么还没到"):
        reply = stack.say(sender, text)
        assert len(reply) == 1, reply
        said = reply[0]["text"]
        # The handoff side's answer: the place and the wait, not an NLU answer (no tracking, no clarification).
        assert QUEUE_PLACE.search(said) and "分钟" in said and "人工客服" in said, said
        assert "单号" not in said and "后 4 位" not in said, said
    tracker = rasa_tracker(stack, sender)
    assert tracker["paused"] is True
    assert handoff_api(stack, f"/handoffs/{handoff['id']}")["status"] == "queued"
    # The agent sees what the user wrote and what they were told, from Rasa's tracker as before.
    console = console_for(stack)
    lines = console.get(f"/agent/api/handoffs/{handoff['id']}/transcript").json()["lines"]
    assert [line["role"] for line in lines[-4:]] == ["user", "bot", "user", "bot"]
    assert lines[-2]["text"] == "SF1234567890123 怎么还没到" and QUEUE_PLACE.search(lines[-1]["text"])
    # Times are China time.
    assert lines[-1]["time"].endswith("+08:00")
    stack.say(sender, "算了")


def test_giving_up_the_wait_gives_the_conversation_back_to_the_bot(stack):
    sender = fresh("wait")
    handoff = queue_for_human(stack, sender)
    assert QUEUE_PLACE.search(texts(stack.say(sender, "我等一下")))
    back = texts(stack.say(sender, "算了"))
    assert "取消转人工" in back and "继续为您服务" in back, back
    assert rasa_tracker(stack, sender)["paused"] is False
    ended = handoff_api(stack, f"/handoffs/{handoff['id']}")
    assert ended["status"] == "closed" and ended["close_reason"] == "cancelled"
    ticket = handoff_api(stack, f"/tickets/{handoff['ticket_id']}")
    assert ticket["status"] == "closed"
    # The bot answers as usual again.
    answer = texts(stack.say(sender, "我的快递到哪了"))
    assert "单号" in answer and not QUEUE_PLACE.search(answer), answer
    tracked = texts(stack.say(sender, seed.DEMO_UNBOUND_STATION))
    assert "后 4 位" in tracked, tracked


def test_an_agents_reply_reaches_a_rest_user_with_their_next_message(stack):
    sender = fresh("wait")
    handoff = queue_for_human(stack, sender)
    console = console_for(stack)
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/claim").json()["status"] == "active"
    reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages",
                         json={"text": "您好，我是客服小林，正在帮您查"})
    assert reply.status_code == 201 and reply.json()["delivered"] is True
    messages = stack.say(sender, "好的，谢谢")
    said = [m.get("text") for m in messages if m.get("text")]
    assert said[0] == "您好，我是客服小林，正在帮您查", messages
    assert any((m.get("custom") or {}).get("data", {}).get("from") == "agent" for m in messages), messages
    assert "人工客服已经接入（客服小林）" in said[-1], said
    # Later messages go to the agent; the reply is not repeated.
    assert stack.say(sender, "单号是 SF1234567890123") == []
    # Logged once in the transcript, however often it was shown.
    assert bot_texts(stack, sender).count("您好，我是客服小林，正在帮您查") == 1
    closed = console.post(f"/agent/api/handoffs/{handoff['id']}/close").json()
    assert closed["resumed"] is True and closed["close_reason"] == "agent"


def test_restart_while_waiting_ends_the_handoff(stack):
    sender = fresh("wait")
    handoff = queue_for_human(stack, sender)
    restarted = texts(stack.say(sender, "/restart"))
    assert "对话重新开始" in restarted, restarted
    assert rasa_tracker(stack, sender)["paused"] is False
    assert handoff_api(stack, f"/handoffs/{handoff['id']}")["close_reason"] == "restart"
    assert "单号" in texts(stack.say(sender, "我的快递到哪了"))


def _backdate(stack, handoff_id: int, minutes: int) -> None:
    engine = db.make_engine(f"sqlite:///{stack.work / 'logistics.db'}")
    try:
        with db.transaction(db.session_factory(engine)) as session:
            handoff = session.execute(select(Handoff).where(Handoff.id == handoff_id)).scalar_one()
            handoff.created_at -= timedelta(minutes=minutes)
    finally:
        engine.dispose()


def test_a_silent_wait_past_the_limit_goes_back_to_the_bot_with_a_callback(stack):
    sender = fresh("wait")
    assert "后 4 位" in texts(stack.say(sender, f"查一下{seed.DEMO_UNBOUND_STATION}"))
    stack.say(sender, "5678")
    handoff = queue_for_human(stack, sender)
    _backdate(stack, handoff["id"], 16)
    response = stack_post(stack, "/handoffs/expire")
    if handoff["id"] not in response["expired"]:
        # The backend's own sweeper (every minute) got there first: it tells the user the same way.
        deadline = time.time() + 15
        while "登记回电" not in bot_texts(stack, sender)[-1] and time.time() < deadline:
            time.sleep(0.5)
    else:
        assert handoff["id"] in response["told"], response
    assert rasa_tracker(stack, sender)["paused"] is False
    notice = bot_texts(stack, sender)[-1]
    assert "已为您登记回电" in notice and "2 小时内" in notice and "139****5678" in notice, notice
    ended = handoff_api(stack, f"/handoffs/{handoff['id']}")
    assert ended["close_reason"] == "expired" and ended["callback_ticket_ref"] in notice
    callback = handoff_api(stack, f"/tickets/{ended['callback_ticket_id']}")
    assert callback["type"] == "callback" and callback["conversation_id"] == sender
    # The bot has the conversation again (it knows the verified parcel).
    answer = texts(stack.say(sender, "我的快递到哪了"))
    assert answer and not QUEUE_PLACE.search(answer) and "人工客服" not in answer, answer


def stack_post(stack, path: str) -> dict:
    response = requests.post(f"{stack.backend_url}/api/v1{path}", headers={"Authorization": f"Bearer {stack.token}"},
                             timeout=30)
    response.raise_for_status()
    return response.json()
