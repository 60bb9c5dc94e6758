"""The WeChat channel in the running stack: requests signed with wechatpy exactly as WeChat sends them to
/webhooks/wechat/webhook, the bot's real answers, WeChat's API faked locally (tests/wechat/fake_api.py records
every customer-service message). Plaintext mode; safe mode is covered in tests/wechat."""
from __future__ import annotations

import re
import time

import requests

from logistics import seed
from tests.e2e.test_e2e_handoff import console_for, handoff_api, rasa_tracker
from tests.wechat.sender import WeChatServer, event_xml, image_xml, msg_id, openid, text_xml
from tests.wechat.test_wechat_protocol import BILLION_LAUGHS, EXTERNAL_ENTITY


class WeChatUser:
    """One follower of the account: sends what WeChat would send and reads the answer, passive or late."""

    def __init__(self, stack, user: str | None = None):
        self.stack = stack
        self.openid = user or openid()
        self.server = WeChatServer(f"{stack.rasa_url}/webhooks/wechat/webhook", stack.wechat_token)
        self.fake = stack.wechat
        self.clock = int(time.time())

    def post(self, xml: str) -> requests.Response:
        return self.server.post(xml, timeout=30)

    def answer(self, xml: str, expect: bool = True) -> str:
        """The bot's answer: the passive reply, or what came through custom/send after "success"."""
        before = len(self.fake.messages_to(self.openid))
        response = self.post(xml)
        assert response.status_code == 200, response.text
        reply = self.server.reply(response)
        if reply is not None:
            return reply["Content"]
        if not expect:
            return ""
        self.fake.wait_for_messages(self.openid, before + 1, timeout=60)
        time.sleep(0.5)  # the rest of a split answer
        return "\n".join(self.fake.messages_to(self.openid)[before:])

    def say(self, text: str, **kwargs) -> str:
        return self.answer(text_xml(self.openid, text), **kwargs)

    def event(self, event: str, key: str = "") -> str:
        self.clock += 1
        return self.answer(event_xml(self.openid, event, key, created=self.clock), expect=event != "unsubscribe")

    def user_texts(self) -> list[str]:
        return [e.get("text") for e in rasa_tracker(self.stack, self.openid)["events"] if e["event"] == "user"]


def bind(stack, user: str, phone: str) -> None:
    response = requests.post(f"{stack.backend_url}/api/v1/customers", json={
        "phone": phone, "bindings": [{"channel": "wechat", "external_id": user}]},
        headers={"Authorization": f"Bearer {stack.token}"}, timeout=10)
    assert response.status_code in (200, 201), response.text


def tickets_of(stack, conversation: str) -> list[dict]:
    return handoff_api(stack, f"/tickets?conversation_id={conversation}")["tickets"]


def test_verification_and_refused_requests_process_nothing(stack):
    user = WeChatUser(stack)
    assert user.server.verify("wechat-echo-1").text == "wechat-echo-1"
    assert user.server.verify("x", signature="0" * 40).status_code == 403
    forged = {**user.server.query(), "signature": "1" * 40}
    assert user.server.post(text_xml(user.openid, "伪造的消息"), params=forged).status_code == 403
    replay = user.server.query(timestamp=int(time.time()) - 900)
    assert user.server.post(text_xml(user.openid, "重放的消息"), params=replay).status_code == 403
    for hostile in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        body = hostile.replace("o-attacker", user.openid).encode()
        assert user.server.post("", body=body).status_code == 400
    assert user.user_texts() == []


def test_a_follower_is_welcomed_binds_the_phone_and_is_never_asked_for_a_number(stack):
    user = WeChatUser(stack)
    welcome = user.event("subscribe")
    assert "欢迎关注" in welcome and "绑定手机" in welcome
    assert "请发送您的手机号" in user.event("CLICK", "bind_phone")
    sent = user.say("13800000001")
    assert "138****0001" in sent, sent
    code = re.search(r"验证码是 ?(\d{6})", sent).group(1)
    assert "绑定成功" in user.say(code)
    answer = user.say("我的快递到哪了")
    assert seed.DEMO_ZHANG_HELD in answer and "📦" in answer, answer
    assert not answer.startswith(("请提供", "麻烦发一下运单号", "请把快递单号")) and "后 4 位" not in answer
    assert rasa_tracker(stack, user.openid)["slots"]["wechat_subscribed"] is True
    user.event("unsubscribe")
    assert rasa_tracker(stack, user.openid)["slots"]["wechat_subscribed"] is False


def test_three_retries_of_one_message_give_one_answer_and_one_ticket(stack):
    user = WeChatUser(stack)
    bind(stack, user.openid, "13800000003")  # 王强: a parcel waiting 30 h at its outlet, so an urge opens a ticket
    xml = text_xml(user.openid, f"{seed.DEMO_WANG_AT_OUTLET} 帮我催一下", mid=msg_id())
    responses = [user.post(xml) for _ in range(3)]
    assert all(r.status_code == 200 for r in responses)
    replies = {(user.server.reply(r) or {}).get("Content") for r in responses} - {None}
    late = user.fake.messages_to(user.openid)
    # One answer: the same passive reply each time WeChat asked, or "success" and one delivery.
    assert len(replies) + (1 if late else 0) == 1, (replies, late)
    time.sleep(1.0)
    assert user.user_texts() == [f"{seed.DEMO_WANG_AT_OUTLET} 帮我催一下"]
    urges = [t for t in tickets_of(stack, user.openid) if t["type"] == "urge"]
    assert len(urges) == 1, urges


def test_a_photo_reaches_the_open_claim_and_a_slow_answer_comes_through_custom_send(stack):
    user = WeChatUser(stack)
    bind(stack, user.openid, "13800000004")
    reported = user.say(f"EMS {seed.DEMO_ZHAO_DAMAGED} 收到的时候外箱压坏了，东西摔碎了")
    assert "照片" in reported or "理赔" in reported, reported
    claim = next(t for t in handoff_api(stack, f"/tickets?tracking_number={seed.DEMO_ZHAO_DAMAGED}")["tickets"]
                 if t["type"] == "claim")
    before = len(handoff_api(stack, f"/tickets/{claim['id']}")["evidence"])
    media = f"media-{user.openid}"
    user.fake.media_delay[media] = 5.0  # WeChat's media download is slow today
    started = time.perf_counter()
    response = user.post(image_xml(user.openid, f"{user.fake.url}/pic/{media}.png", media))
    assert response.text == "success" and time.perf_counter() - started < 4.8
    acknowledged = user.fake.wait_for_messages(user.openid, 1, timeout=60)[-1]
    assert f"T{claim['id']}" in acknowledged and "张" in acknowledged, acknowledged
    assert len(handoff_api(stack, f"/tickets/{claim['id']}")["evidence"]) == before + 1
    photo_event = [e for e in rasa_tracker(stack, user.openid)["events"] if e["event"] == "user"][-1]
    assert photo_event["text"] == "/send_photo" and photo_event["metadata"]["evidence"]["ticket_id"] == claim["id"]


def test_the_agent_console_works_for_a_wechat_conversation(stack):
    user = WeChatUser(stack)
    queued = user.say("转人工")
    assert "人工客服" in queued, queued
    # Paused: the handoff side answers with the place in the queue (not the bot's NLU); the agent sees the message.
    waiting = user.say("我家是老小区没电梯，麻烦快点")
    assert "人工客服" in waiting and "分钟" in waiting, waiting
    handoff = handoff_api(stack, f"/handoffs?conversation_id={user.openid}")["handoffs"][0]
    assert handoff["channel"] == "wechat"
    console = console_for(stack)
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/claim").status_code == 200
    lines = console.get(f"/agent/api/handoffs/{handoff['id']}/transcript").json()["lines"]
    assert any(line["text"] == "我家是老小区没电梯，麻烦快点" for line in lines)

    sent = len(user.fake.messages_to(user.openid))
    reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "您好，已联系驿站优先派送"})
    assert reply.status_code == 201 and reply.json()["delivered"] is True
    assert user.fake.wait_for_messages(user.openid, sent + 1)[-1] == "【客服小林】您好，已联系驿站优先派送"

    # 48 hours later WeChat refuses customer-service messages: the reply goes back to the outbox for the agent.
    user.fake.outside_window.add(user.openid)
    late = console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "包裹已经到驿站了"})
    assert late.status_code == 201
    outbox = handoff_api(stack, f"/handoffs/{handoff['id']}/outbox")["messages"]
    assert [m["text"] for m in outbox] == ["包裹已经到驿站了"] and "48" in outbox[0]["last_error"]
    user.fake.outside_window.discard(user.openid)

    sent_before = len(user.fake.messages_to(user.openid))
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/close").json()["resumed"] is True
    question = user.fake.wait_for_messages(user.openid, sent_before + 1)[-1]
    assert "打个分" in question and "1. 5分" in question and "5. 1分" in question, question
    thanks = user.say("1")
    assert "5 分" in thanks, thanks
    assert handoff_api(stack, f"/handoffs/{handoff['id']}")["rating"] == 5
