"""The attacks of the hardening issue, rerun against the real stack: the phone-tail brute force with throwaway
sender ids, hand-made action calls, full phone numbers quoted back, the action server going down, anonymous
ticket questions. Every reply here is also scanned for full mobile numbers by Stack.say."""
from __future__ import annotations

import uuid

import requests

from tests.e2e.test_e2e_conversations import fresh, texts
from tests.support import unique_number, unique_phone


def _api(stack, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{stack.backend_url}{path}", timeout=10,
                            headers={"Authorization": f"Bearer {stack.token}"}, **kwargs)


def _parcel(stack, **overrides) -> dict:
    body = {"tracking_number": unique_number(), "carrier": "sf",
            "sender": {"name": "周杰", "phone": unique_phone(), "address": "广州市天河区体育西路1号"},
            "recipient": {"name": "林芳", "phone": unique_phone(), "address": "成都市武侯区科华北路5号"},
            "origin": "广州", "destination": "成都"}
    body.update(overrides)
    assert _api(stack, "POST", "/api/v1/shipments", json=body).status_code == 201
    for time, status, location in (("2026-12-06T09:00:00+08:00", "picked_up", "广州天河网点"),
                                   ("2026-12-07T08:00:00+08:00", "at_outlet", "成都武侯区科华北路营业部")):
        assert _api(stack, "POST", f"/api/v1/shipments/{body['tracking_number']}/events",
                    json={"time": time, "status": status, "location": location}).status_code == 201
    return body


def test_the_brute_force_with_throwaway_senders_meets_the_lock(stack):
    parcel = _parcel(stack)
    number, right = parcel["tracking_number"], parcel["recipient"]["phone"][-4:]
    wrong = (f"{n:04d}" for n in range(10_000) if f"{n:04d}" not in (right, parcel["sender"]["phone"][-4:]))
    attempts, senders, locked_at = 0, 0, None
    while locked_at is None and attempts < 40:
        sender, senders = f"brute-{uuid.uuid4().hex[:6]}", senders + 1
        for turn in range(3):
            attempts += 1
            reply = texts(stack.say(sender, f"{number} 尾号{next(wrong)}"))
            assert "科华北路" not in reply and "营业部" not in reply
            if "锁定" in reply:
                if turn == 0:
                    locked_at = attempts  # a fresh sender id is refused at once: the number itself is locked
                break
    print(f"brute force: a fresh sender id was refused at attempt {locked_at} ({senders} sender ids)")
    assert locked_at is not None and locked_at <= 13
    after = texts(stack.say(fresh("brute"), f"{number} 尾号{right}"))
    assert "锁定" in after and "科华北路" not in after and "营业部" not in after


def test_the_action_server_answers_only_rasa(stack):
    forged = {"next_action": "action_show_timeline", "sender_id": "attacker", "version": "3.6.2",
              "tracker": {"sender_id": "attacker", "slots": {"tracking_number": "SF1234567890123", "customer_id": 2},
                          "latest_message": {}, "events": [], "paused": False, "latest_input_channel": "socketio",
                          "active_loop": {}, "latest_action_name": "action_listen"},
              "domain": {}}
    url = f"{stack.actions_url}/webhook"
    assert requests.post(url, json=forged, timeout=10).status_code == 401
    wrong = requests.post(url, json=forged, timeout=10, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    odd = requests.post(url, json=forged, timeout=10, headers={"Authorization": "Bearer 令牌".encode()})
    assert odd.status_code == 401
    # Even with the token (a compromised caller), a forged customer id shows nothing: the backend checks bindings.
    parcel = _parcel(stack)
    phone = parcel["recipient"]["phone"]
    victim = _api(stack, "POST", "/api/v1/customers",
                  json={"phone": phone, "bindings": [{"channel": "socketio", "external_id": f"v-{phone}"}]}).json()
    forged["tracker"]["slots"] = {"tracking_number": parcel["tracking_number"], "customer_id": victim["id"]}
    inside = requests.post(url, json=forged, timeout=10, headers={"Authorization": f"Bearer {stack.action_token}"})
    assert inside.status_code == 200
    assert inside.json()["responses"] == []


def test_full_phone_numbers_are_never_quoted_back(stack):
    sender = fresh()
    stack.say(sender, "地址改成北京市朝阳区建国路1号电话13912345678")
    reply = texts(stack.say(sender, "转人工"))
    assert "139****5678" in reply or "13912345678" not in reply
    other = fresh()
    stack.say(other, "zxcv 13912345678 uiop")
    stack.say(other, "qwer asdf 13800001111")
    texts(stack.say(other, "转人工"))  # Stack.say fails on any full number


def test_the_action_server_down_gets_the_apology_not_a_stale_answer(stack):
    parcel = _parcel(stack)
    sender = fresh()
    first = texts(stack.say(sender, f"{parcel['tracking_number']} 到哪了"))
    assert "后 4 位" in first
    stack.stop_actions()
    try:
        down = texts(stack.say(sender, f"{parcel['tracking_number']} 收到破损了"))
        assert "暂时连不上" in down, down
        assert down != first
    finally:
        stack.start_actions()
    back = texts(stack.say(sender, parcel["recipient"]["phone"][-4:]))
    assert "暂时连不上" not in back


def test_anonymous_urge_then_ticket_question_gets_an_answer(stack):
    parcel = _parcel(stack)
    sender = fresh()
    first = texts(stack.say(sender, f"催一下 {parcel['tracking_number']}"))
    assert "后 4 位" in first
    second = texts(stack.say(sender, "查工单"))
    assert second and "暂时连不上" not in second and "没太确定" not in second, second
    # Nothing about any ticket of that parcel reaches an unverified conversation.
    assert "T" not in second or "工单" in second
