"""The WeChat channel over real HTTP (Sanic, tests/wechat/stub_app.py, a stand-in for the bot), requests signed with
wechatpy as WeChat sends them, the fake WeChat API recording what the channel sends.

The passive-reply window is 1.5 s here (4 s in production), so slow answers are quick to test."""
from __future__ import annotations

import concurrent.futures
import time

import requests

from tests.support import TOKEN, Api
from tests.wechat.conftest import channel_server
from tests.wechat.fake_api import PNG
from tests.wechat.sender import (
    event_xml,
    image_xml,
    msg_id,
    openid,
    signature,
    text_xml,
    voice_xml,
)
from tests.wechat.test_wechat_protocol import BILLION_LAUGHS, EXTERNAL_ENTITY


def test_url_verification_echoes_only_for_a_correct_fresh_signature(channel):
    assert channel.wechat.verify("hello-wechat").text == "hello-wechat"
    forged = channel.wechat.verify("x", signature="0" * 40)
    assert forged.status_code == 403 and forged.text != "x"
    stale = channel.wechat.query(timestamp=int(time.time()) - 3600)
    response = requests.get(channel.webhook, params={**stale, "echostr": "x"}, timeout=5)
    assert response.status_code == 403


def test_a_text_message_gets_a_passive_reply_from_the_bot(channel):
    user = openid()
    started = time.perf_counter()
    reply = channel.wechat.reply(channel.wechat.post(text_xml(user, "我的快递到哪了")))
    assert time.perf_counter() - started < 1.5
    assert reply["Content"] == "echo: 我的快递到哪了"
    assert reply["ToUserName"] == user and reply["MsgType"] == "text"
    [seen] = channel.processed(user)
    assert seen["input_channel"] == "wechat" and seen["text"] == "我的快递到哪了"


def test_forged_stale_and_hostile_requests_are_refused_with_nothing_processed(channel):
    user = openid()
    wechat = channel.wechat
    forged = {**wechat.query(), "signature": "0" * 40}
    assert wechat.post(text_xml(user, "伪造"), params=forged).status_code == 403
    query = wechat.query()
    guessed = {**query, "signature": signature("guessed-token", query["timestamp"], query["nonce"])}
    assert wechat.post(text_xml(user, "伪造"), params=guessed).status_code == 403
    # A captured request replayed ten minutes later: its signature is right, its timestamp is not.
    replay = wechat.query(timestamp=int(time.time()) - 600)
    assert wechat.post(text_xml(user, "重放"), params=replay).status_code == 403
    for hostile in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        started = time.perf_counter()
        response = wechat.post(hostile.replace("o-attacker", user), body=hostile.replace("o-attacker", user).encode())
        assert response.status_code == 400 and time.perf_counter() - started < 2
    oversized = text_xml(user, "长" * 8000)  # 24 KB over the 16 KB limit set for these tests
    assert wechat.post(oversized, body=oversized.encode()).status_code == 413
    assert channel.processed(user) == []


def test_a_slow_answer_is_acknowledged_at_once_and_delivered_through_custom_send(channel, fake_api):
    user = openid()
    started = time.perf_counter()
    response = channel.wechat.post(text_xml(user, "slow 2.5 我的快递破损了"))
    waited = time.perf_counter() - started
    assert response.text == "success" and 1.4 < waited < 2.4
    assert fake_api.wait_for_messages(user, 1, timeout=10) == ["慢回答：slow 2.5 我的快递破损了"]


def test_three_retries_of_one_message_process_it_once(channel, fake_api):
    """WeChat retries a message it got no answer for (5 s) up to three times with the same MsgId."""
    user = openid()
    xml = text_xml(user, "slow 2.5 重试", mid=msg_id())
    first = channel.wechat.post(xml)
    retries = [channel.wechat.post(xml) for _ in range(2)]
    assert [r.text for r in [first, *retries]] == ["success"] * 3
    assert fake_api.wait_for_messages(user, 1, timeout=10) == ["慢回答：slow 2.5 重试"]
    time.sleep(1.0)
    assert fake_api.messages_to(user) == ["慢回答：slow 2.5 重试"]
    assert len(channel.processed(user)) == 1


def test_concurrent_retries_share_one_passive_reply(channel, fake_api):
    user = openid()
    xml = text_xml(user, "slow 0.5 同时到达", mid=msg_id())
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: channel.wechat.reply(channel.wechat.post(xml)), range(3)))
    assert all(r is not None and r["Content"] == "慢回答：slow 0.5 同时到达" for r in replies)
    # A retry after the answer (WeChat lost the first response) gets the same reply, still processed once.
    assert channel.wechat.reply(channel.wechat.post(xml))["Content"] == "慢回答：slow 0.5 同时到达"
    assert len(channel.processed(user)) == 1
    assert fake_api.messages_to(user) == []


def test_a_long_answer_is_split_under_the_limit_and_sent_in_order(channel, fake_api):
    user = openid()
    assert channel.wechat.post(text_xml(user, "long")).text == "success"
    pieces = fake_api.wait_for_messages(user, 3)
    assert len(pieces) == 3 and all(len(p.encode()) <= 2048 for p in pieces)
    assert all(p.startswith("包裹正在运输途中") for p in pieces)


def test_buttons_are_numbered_and_a_number_picks_one(channel):
    user = openid()
    offer = channel.wechat.reply(channel.wechat.post(text_xml(user, "choose")))["Content"]
    assert "1. 顺丰 SF14****5912" in offer and "3. 转人工客服" in offer and "回复数字" in offer
    channel.wechat.post(text_xml(user, "２"))
    picked = channel.processed(user)[-1]
    assert picked["text"] == '/inform{"tracking_number":"758102937465"}'
    assert picked["metadata"]["display"] == "中通 7581****7465"
    # The answer to the pick offered no choices: a number is a number again.
    channel.wechat.post(text_xml(user, "3"))
    assert channel.processed(user)[-1]["text"] == "3"


def test_the_timeline_is_readable_text_in_the_passive_reply(channel):
    reply = channel.wechat.reply(channel.wechat.post(text_xml(openid(), "timeline")))["Content"]
    assert reply.startswith("查到了，包裹在杭州。\n\n📦 顺丰速运 SF1402837465912（到达中转场）")
    assert "· 11-27 13:10 杭州萧山中转场7 快件到达第7站" in reply


def test_voice_uses_wechats_recognition_text(channel):
    user = openid()
    channel.wechat.post(voice_xml(user, "我的快递到哪了"))
    channel.wechat.post(voice_xml(user, ""))
    heard, unheard = channel.processed(user)
    assert heard["text"] == "我的快递到哪了" and heard["metadata"]["wechat"]["msg_type"] == "voice"
    assert unheard["text"] == "/wechat_unsupported"


def test_events_subscribe_menu_click_and_unsubscribe(channel):
    user = openid()
    created = int(time.time())
    assert channel.wechat.reply(channel.wechat.post(event_xml(user, "subscribe", created=created)))
    # The same event again (a retry): FromUserName + CreateTime say it was handled.
    channel.wechat.post(event_xml(user, "subscribe", created=created))
    channel.wechat.post(event_xml(user, "CLICK", key="track_parcel", created=created + 1))
    assert channel.wechat.post(event_xml(user, "CLICK", key="rm -rf", created=created + 2)).text == "success"
    assert channel.wechat.post(event_xml(user, "VIEW", key="https://example.com", created=created + 3)).text \
        == "success"
    assert channel.wechat.post(event_xml(user, "unsubscribe", created=created + 4)).text == "success"
    assert [m["text"] for m in channel.processed(user)] == ["/wechat_subscribe", "/track_parcel"]


def test_a_photo_is_attached_to_the_open_claim_before_the_bot_hears_of_it(channel, fake_api, backend_url):
    user = openid()
    api = Api(backend_url, token=TOKEN)
    created = api.post("/api/v1/tickets", json={"type": "claim", "conversation_id": user,
                                                "idempotency_key": f"claim:{user}", "details": {}})
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    channel.wechat.post(image_xml(user, f"{fake_api.url}/pic/a.png", f"media-{user}"))
    photo = channel.processed(user)[-1]
    assert photo["text"] == "/send_photo"
    assert photo["metadata"]["evidence"]["ticket_id"] == ticket_id
    assert photo["metadata"]["wechat"]["media_id"] == f"media-{user}"
    assert f"media-{user}" in fake_api.media_requests
    evidence = api.get(f"/api/v1/tickets/{ticket_id}").json()["evidence"]
    assert len(evidence) == 1 and evidence[0]["size"] == len(PNG)
    # Without a ticket that takes photos the bot still hears of it (and says how to open one).
    stranger = openid()
    channel.wechat.post(image_xml(stranger, f"{fake_api.url}/pic/b.png", "media-x"))
    assert "evidence" not in channel.processed(stranger)[-1]["metadata"]


def test_messages_outside_a_turn_go_through_custom_send_and_their_buttons_count(channel, fake_api):
    user = openid()
    channel.push(user, {"text": "本次人工服务已结束，请打分", "buttons": [
        {"title": "5分 非常满意", "payload": '/rate_service{"rating":"5"}'},
        {"title": "1分 很不满意", "payload": '/rate_service{"rating":"1"}'}]})
    assert "2. 1分 很不满意" in fake_api.wait_for_messages(user)[0]
    channel.wechat.post(text_xml(user, "2"))
    assert channel.processed(user)[-1]["text"] == '/rate_service{"rating":"1"}'


def test_safe_mode_round_trip(safe_channel):
    user = openid()
    reply = safe_channel.wechat.reply(safe_channel.wechat.post(text_xml(user, "安全模式查件")))
    assert reply["Content"] == "echo: 安全模式查件" and reply["ToUserName"] == user
    plaintext = requests.post(safe_channel.webhook, params=safe_channel.wechat.query(),
                              data=text_xml(user, "明文").encode(), timeout=5)
    assert plaintext.status_code == 403
    assert [m["text"] for m in safe_channel.processed(user)] == ["安全模式查件"]


def test_two_workers_with_redis_process_a_retried_message_once(fake_api, backend_url, redis_url, tmp_path):
    env = {"WECHAT_API_BASE_URL": fake_api.url, "BACKEND_URL": backend_url, "LOGISTICS_API_TOKEN": TOKEN,
           "WECHAT_REPLY_TIMEOUT": "1.5", "REDIS_URL": redis_url}
    with channel_server(tmp_path, env) as one, channel_server(tmp_path, env) as two:
        user = openid()
        xml = text_xml(user, "slow 0.3 两个进程", mid=msg_id())
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda server: server.wechat.reply(server.wechat.post(xml)),
                                    [one, two, one, two]))
        assert len(one.processed(user)) + len(two.processed(user)) == 1
        assert all(r is not None and r["Content"] == "慢回答：slow 0.3 两个进程" for r in replies)


def test_redis_down_falls_back_to_this_process(fake_api, backend_url, tmp_path):
    env = {"WECHAT_API_BASE_URL": fake_api.url, "BACKEND_URL": backend_url, "LOGISTICS_API_TOKEN": TOKEN,
           "WECHAT_REPLY_TIMEOUT": "1.5", "REDIS_URL": "redis://127.0.0.1:9/0"}
    with channel_server(tmp_path, env) as server:
        user = openid()
        xml = text_xml(user, "Redis 挂了也要回答", mid=msg_id())
        assert server.wechat.reply(server.wechat.post(xml))["Content"] == "echo: Redis 挂了也要回答"
        assert server.wechat.reply(server.wechat.post(xml))["Content"] == "echo: Redis 挂了也要回答"
        assert len(server.processed(user)) == 1
        assert "using this process's memory" in server.log.read_text()
