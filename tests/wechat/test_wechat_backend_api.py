"""What the WeChat connector needs from the backend: binding a chat to a phone with a one-time code
(POST /api/v1/bindings/otp, .../verify) and putting a reply WeChat refused back into the handoff's outbox."""
from __future__ import annotations

from tests.backend.test_handoffs import agent_session, body
from tests.support import unique_phone
from tests.wechat.sender import openid


def test_a_chat_is_bound_to_a_phone_with_a_one_time_code(api):
    phone, user = unique_phone(), openid()
    sent = api.post("/api/v1/bindings/otp", json={"phone": phone, "channel": "wechat", "external_id": user})
    assert sent.status_code == 200, sent.text
    assert sent.json()["phone"] == f"{phone[:3]}****{phone[-4:]}" and sent.json()["expires_in"] == 300
    code = sent.json()["demo_code"]  # the test backend runs in demo mode
    wrong = "000000" if code != "000000" else "111111"
    refused = api.post("/api/v1/bindings/otp/verify",
                       json={"phone": phone, "code": wrong, "channel": "wechat", "external_id": user})
    assert refused.status_code == 400 and refused.json()["details"]["attempts_left"] == 4
    bound = api.post("/api/v1/bindings/otp/verify",
                     json={"phone": phone, "code": code, "channel": "wechat", "external_id": user})
    assert bound.status_code == 200 and bound.json()["channel"] == "wechat"
    found = api.get("/api/v1/customers/lookup", params={"channel": "wechat", "external_id": user})
    assert found.status_code == 200 and found.json()["id"] == bound.json()["customer_id"]
    # A code is used once.
    again = api.post("/api/v1/bindings/otp/verify",
                     json={"phone": phone, "code": code, "channel": "wechat", "external_id": user})
    assert again.status_code == 400 and again.json()["error"] == "code_expired"


def test_binding_codes_are_rate_limited_and_validated(api):
    phone, user = unique_phone(), openid()
    first = api.post("/api/v1/bindings/otp", json={"phone": phone, "channel": "wechat", "external_id": user})
    assert first.status_code == 200
    again = api.post("/api/v1/bindings/otp", json={"phone": phone, "channel": "wechat", "external_id": user})
    assert again.status_code == 429 and again.json()["error"] == "rate_limited"
    for bad in ({"phone": "12345", "channel": "wechat", "external_id": user},
                {"phone": unique_phone(), "channel": "telegram", "external_id": user},
                {"phone": unique_phone(), "channel": "wechat", "external_id": "x" * 65},
                {"phone": unique_phone(), "channel": "wechat"}):
        assert api.post("/api/v1/bindings/otp", json=bad).status_code in (400, 422)
    bad_code = api.post("/api/v1/bindings/otp/verify",
                        json={"phone": phone, "code": "12ab56", "channel": "wechat", "external_id": user})
    assert bad_code.status_code in (400, 422)


def test_a_reply_the_channel_refused_goes_back_to_the_outbox(api, backend_url, engine):
    conversation = openid()
    handoff = api.post("/api/v1/handoffs", json=body(conversation, channel="wechat")).json()
    console = agent_session(backend_url, engine)
    console.post(f"/agent/api/handoffs/{handoff['id']}/claim")
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "您好"}).status_code == 201
    [message] = api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"]
    api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/{message['id']}/delivered", json={})
    assert api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"] == []

    back = api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/{message['id']}/undelivered",
                    json={"error": "用户超过48小时未互动"})
    assert back.status_code == 200 and back.json()["delivered"] is False
    [waiting] = api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"]
    assert waiting["id"] == message["id"] and waiting["last_error"] == "用户超过48小时未互动"
    missing = api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/999999/undelivered", json={"error": "x"})
    assert missing.status_code == 404
    assert api.post(f"/api/v1/handoffs/{handoff['id']}/outbox/{message['id']}/undelivered",
                    json={}).status_code == 400


def test_the_openapi_document_lists_the_new_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/bindings/otp", "/api/v1/bindings/otp/verify",
                 "/api/v1/handoffs/{handoff_id}/outbox/{message_id}/undelivered"):
        assert path in paths, path
