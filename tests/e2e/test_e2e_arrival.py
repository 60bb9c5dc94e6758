"""'Tell me when it reaches the outlet': the watch is kept by the backend, and the scan makes the bot speak up."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import requests

from tests.e2e.test_e2e_conversations import fresh, texts
from tests.support import unique_number, unique_phone


def _api(stack, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{stack.backend_url}{path}", timeout=10,
                            headers={"Authorization": f"Bearer {stack.token}"}, **kwargs)


def _scan(stack, number: str, status: str, location: str, hours_ago: float) -> None:
    when = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat()
    response = _api(stack, "POST", f"/api/v1/shipments/{number}/events",
                    json={"time": when, "status": status, "location": location})
    assert response.status_code == 201, response.text


def test_a_too_early_urge_offers_a_notice_and_the_bot_speaks_up_when_the_scan_comes(stack):
    sender, phone, number = fresh("watch"), unique_phone(), unique_number()
    party = {"name": "李雷", "phone": phone, "address": "杭州市西湖区文三路100号"}
    assert _api(stack, "POST", "/api/v1/shipments", json={
        "tracking_number": number, "carrier": "sf", "recipient": party, "goods_type": "general",
        "sender": {"name": "韩梅梅", "phone": unique_phone(), "address": "上海市浦东新区张江路88号"},
        "insured_value": 0, "origin": "上海", "destination": "杭州"}).status_code == 201
    assert _api(stack, "POST", "/api/v1/customers", json={
        "phone": phone, "bindings": [{"channel": "rest", "external_id": sender}]}).status_code in (200, 201)
    _scan(stack, number, "picked_up", "上海浦东张江营业点", 20)
    _scan(stack, number, "arrived_hub", "杭州萧山中转场", 3)

    offer = texts(stack.say(sender, "帮我催一下快递"))
    assert "还没到派送网点" in offer and "通知您" in offer, offer
    accepted = texts(stack.say(sender, "/affirm"))
    assert "已经帮您盯着" in accepted, accepted

    _scan(stack, number, "at_outlet", "杭州西湖文三路营业点", 0)
    deadline, said = time.time() + 20, ""
    while time.time() < deadline and "您关注的包裹" not in said:
        time.sleep(0.5)
        tracker = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                               params={"token": "e2e-rasa-token"}, timeout=10).json()
        said = "\n".join(e.get("text") or "" for e in tracker["events"] if e.get("event") == "bot")
    assert "您关注的包裹" in said and number in said and "文三路" in said, said
    # Told once: a later scan does not repeat the notice.
    _scan(stack, number, "out_for_delivery", "杭州西湖文三路营业点", -0.1)
    time.sleep(1.5)
    tracker = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                           params={"token": "e2e-rasa-token"}, timeout=10).json()
    notices = [e for e in tracker["events"] if e.get("event") == "bot" and "您关注的包裹" in (e.get("text") or "")]
    assert len(notices) == 1
