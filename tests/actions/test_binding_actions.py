"""action_bind_phone against the real backend: phone → code → bound; wrong, expired and unrelated messages."""
from __future__ import annotations

from actions.binding import ActionBindPhone, code_in, phone_in
from tests.support import make_tracker, slots_of, unique_phone
from tests.wechat.sender import openid


def run(dispatcher, user: str, text: str, intent: str = "inform", slots: dict | None = None,
        entities: list | None = None) -> dict:
    tracker = make_tracker(user, text, intent=intent, slots=slots, entities=entities, channel="wechat")
    return slots_of(ActionBindPhone().run(dispatcher, tracker, {}))


def test_phone_and_code_are_read_from_the_message():
    assert phone_in("绑定 138-0000-0001", []) == "13800000001"
    assert phone_in("手机＋86 13800000001", []) == "13800000001"
    assert phone_in("x", [{"entity": "phone_number", "value": "13912345678"}]) == "13912345678"
    assert phone_in("单号 SF1402837465912", []) is None
    assert code_in("验证码是 382910") == "382910" and code_in("３８２９１０") == "382910"
    assert code_in("5678") is None and code_in("1234567") is None


def test_bind_phone_then_the_code_binds_the_openid(dispatcher, api):
    user, phone = openid(), unique_phone()
    asked = run(dispatcher, user, "绑定手机", intent="bind_phone")
    assert asked == {"bind_outcome": "need_phone", "bind_awaiting": "phone"}
    sent = run(dispatcher, user, phone, slots={"bind_awaiting": "phone"})
    assert sent["bind_outcome"] == "code_sent" and sent["bind_awaiting"] == "code"
    assert sent["bind_phone_masked"] == f"{phone[:3]}****{phone[-4:]}" and sent["bind_demo"] is True
    code = sent["bind_demo_code"]
    wrong = run(dispatcher, user, "000000" if code != "000000" else "111111",
                slots={"bind_awaiting": "code", "bind_phone": phone})
    assert wrong["bind_outcome"] == "wrong_code" and wrong["bind_attempts_left"] == "4"
    bound = run(dispatcher, user, f"验证码 {code}", slots={"bind_awaiting": "code", "bind_phone": phone})
    assert bound["bind_outcome"] == "bound" and bound["bind_awaiting"] is None
    assert api.get("/api/v1/customers/lookup", params={"channel": "wechat", "external_id": user}).status_code == 200
    again = run(dispatcher, user, "绑定手机", intent="bind_phone")
    assert again["bind_outcome"] == "already_bound" and again["bind_phone_masked"].endswith(phone[-4:])


def test_messages_that_are_neither_phone_nor_code_go_back_where_they_belong(dispatcher):
    user = openid()
    waiting = {"bind_awaiting": "code", "bind_phone": unique_phone()}
    assert run(dispatcher, user, "SF1402837465912", slots=waiting)["bind_outcome"] == "not_binding"
    assert run(dispatcher, user, "我想退款", intent="out_of_scope", slots=waiting)["bind_outcome"] == "out_of_scope"
    assert run(dispatcher, user, "嗯嗯啊", intent="nlu_fallback", slots=waiting)["bind_outcome"] == "unclear"
    assert run(dispatcher, user, "12345678901", slots={"bind_awaiting": "phone"})["bind_outcome"] == "not_binding"


def test_codes_asked_too_often_and_the_backend_down(dispatcher, backend_down):
    assert run(dispatcher, openid(), "13800000009", slots={"bind_awaiting": "phone"})["bind_outcome"] \
        == "unavailable"


def test_a_second_code_within_a_minute_is_rate_limited(dispatcher):
    user, phone = openid(), unique_phone()
    assert run(dispatcher, user, phone, slots={"bind_awaiting": "phone"})["bind_outcome"] == "code_sent"
    assert run(dispatcher, user, phone, slots={"bind_awaiting": "phone"})["bind_outcome"] == "rate_limited"
