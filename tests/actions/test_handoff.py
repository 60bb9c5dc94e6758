"""Handoff packages built by the real actions over the demo data: what the agent sees for each path."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update

from actions.clarify import ActionClarify
from actions.handoff import (
    ActionHandoffClosed,
    ActionPauseConversation,
    ActionRecordRating,
    ActionRelayAgentReply,
    ActionRequestHuman,
    extract_notes,
    rating_from_text,
)
from actions.problems import ActionHandleProblem
from actions.tracking import ActionTrackParcel
from logistics import db, seed
from logistics.handoffs.models import Handoff
from logistics.tickets.models import Ticket
from logistics.timeutil import utcnow
from tests.conftest import serve

NUMBER = "tracking_number"


class Conversation:
    """A conversation as Rasa keeps it: user and bot events with times, slots; actions run on its tracker."""

    def __init__(self, sender: str, channel: str = "rest"):
        self.sender, self.channel = sender, channel
        self.events: list[dict] = []
        self.slots: dict = {}
        self.latest: dict = {}

    def tracker(self) -> Tracker:
        return Tracker.from_dict({"sender_id": self.sender, "slots": dict(self.slots), "latest_message": self.latest,
                                  "events": list(self.events), "paused": False, "followup_action": None,
                                  "active_loop": {}, "latest_action_name": "action_listen"})

    def run(self, action) -> list[dict]:
        dispatcher = CollectingDispatcher()
        events = action.run(dispatcher, self.tracker(), {})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        for message in dispatcher.messages:
            self.events.append({"event": "bot", "text": message.get("text") or message.get("response"),
                                "timestamp": time.time(), "data": {}})
        self.dispatched = dispatcher.messages
        return events

    def say(self, text: str, intent: str, entities: list | None = None) -> dict:
        """One user turn with the actions the rules run for its intent."""
        self.latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []}
        self.events.append({"event": "user", "text": text, "parse_data": self.latest, "input_channel": self.channel,
                            "timestamp": time.time()})
        for entity in entities or []:
            if entity["entity"] == NUMBER:
                self.slots[NUMBER] = entity["value"]
        if intent == "nlu_fallback":
            self.run(ActionClarify())
        elif intent == "request_human":
            self.run(ActionRequestHuman())
        elif intent not in ("inform", "greet"):
            self.run(ActionTrackParcel())
            if self.slots.get("tracking_outcome") == "problem":
                self.run(ActionHandleProblem())
        elif intent == "inform" and self.slots.get("tracking_outcome") in ("need_tail", "wrong_tail"):
            self.run(ActionTrackParcel())
        return self.slots


@pytest.fixture(scope="module")
def backend_url(module_demo_engine):
    """These conversations open tickets: a demo database of this module's own, so the problem tests still
    meet fresh parcels."""
    yield from serve(module_demo_engine)


@pytest.fixture()
def demo_db(module_demo_engine):
    """Close the demo senders' open handoffs so each test queues a fresh one."""
    factory = db.session_factory(module_demo_engine)
    with db.transaction(factory) as session:
        session.execute(update(Handoff).where(Handoff.status != "closed").values(status="closed", closed_at=utcnow()))
    return factory


def handoff_of(api, conversation: Conversation) -> dict:
    assert conversation.slots["handoff_outcome"] == "queued", conversation.slots
    response = api.get(f"/api/v1/handoffs/{conversation.slots['handoff_id']}")
    assert response.status_code == 200
    return response.json()


def assert_complete(package: dict, number: str, process: str, note: str) -> None:
    """What every package holds: the parcel with its last scan, the processes triggered, the notes."""
    shipment = next(s for s in package["shipments"] if s["tracking_number"] == number)
    assert shipment["last_scan"]["time"] and shipment["last_scan"]["place"]
    assert any(t["process"] == process for t in package["triggered"]), package["triggered"]
    assert any(note in n for n in package["notes"]), package["notes"]
    assert f"已触发：{process}" in package["summary"] or process in package["summary"]


def test_the_seed_example_outlet_urge_with_an_old_building(api, demo_db):
    chat = Conversation("demo-wang")
    chat.say(f"{seed.DEMO_WANG_AT_OUTLET} 催投 一直没送", "urge_delivery",
             [{"entity": NUMBER, "value": seed.DEMO_WANG_AT_OUTLET}])
    assert chat.slots["problem_outcome"] in ("urge_created", "urge_existing")
    # The urge was triggered a quarter of an hour before the user asks for a person.
    with db.transaction(demo_db) as session:
        session.execute(update(Ticket).where(Ticket.tracking_number == seed.DEMO_WANG_AT_OUTLET,
                                             Ticket.type == "urge")
                        .values(created_at=utcnow() - timedelta(minutes=15, seconds=20)))
    chat.say("我家是老小区没电梯，快递员别嫌麻烦不送", "inform")
    chat.say("转人工", "request_human")
    handoff = handoff_of(api, chat)
    package = handoff["package"]
    assert package["request"].startswith(f"包裹 {seed.DEMO_WANG_AT_OUTLET} 滞留网点未派件")
    urge = next(t for t in package["triggered"] if t["type"] == "urge")
    assert urge["process"] == "网点催派流程" and urge["age"] == "15 分钟前"
    assert "用户留的地址是老小区无电梯" in package["notes"]
    assert package["shipments"][0]["last_scan"]["status_label"]
    assert package["summary"].startswith(f"用户诉求：包裹 {seed.DEMO_WANG_AT_OUTLET} 滞留网点未派件")
    assert "网点催派流程（15 分钟前" in package["summary"]
    assert "补充信息：用户留的地址是老小区无电梯" in package["summary"]
    assert package["contact"].endswith("（已绑定）") and "****" in package["contact"]
    assert package["channel"] == "rest" and package["transcript"][0]["role"] == "user"
    assert handoff["status"] == "queued" and handoff["queue_position"] >= 1 and handoff["estimated_wait_minutes"] >= 1
    # The handoff ticket carries the package too.
    ticket = api.get(f"/api/v1/tickets/{handoff['ticket_id']}").json()
    assert ticket["type"] == "handoff" and ticket["package"]["request"] == package["request"]
    # What the user is told was passed on.
    assert "老小区无电梯" in chat.slots["handoff_summary"] and seed.DEMO_WANG_AT_OUTLET in chat.slots["handoff_summary"]
    assert chat.run(ActionPauseConversation()) == [{"event": "pause", "timestamp": None}]


def test_lost_parcel(api, demo_db):
    chat = Conversation("demo-zhao")
    chat.say("极兔的快递是不是丢了 好几天没动静", "report_lost", [{"entity": "carrier", "value": "jt"}])
    assert chat.slots["problem_outcome"] == "lost_opened"
    chat.say("地址是老小区没有电梯，住6楼", "inform")
    chat.say("我要找人工", "request_human")
    package = handoff_of(api, chat)["package"]
    assert "丢件" in package["request"]
    assert_complete(package, seed.DEMO_ZHAO_LOST, "丢件调查流程", "老小区无电梯、住6楼")
    assert any(t["process"] == "网点核实流程" for t in package["triggered"])


def test_damaged_parcel_with_a_claim(api, demo_db):
    chat = Conversation("demo-zhao")
    chat.say(f"{seed.DEMO_ZHAO_DAMAGED} 花瓶碎了", "report_damaged",
             [{"entity": NUMBER, "value": seed.DEMO_ZHAO_DAMAGED}])
    assert chat.slots["problem_outcome"] == "damage_claim_opened"
    chat.say("以后别放快递柜，放门卫就行", "inform")
    chat.say("转人工", "request_human")
    package = handoff_of(api, chat)["package"]
    assert package["request"] == f"包裹 {seed.DEMO_ZHAO_DAMAGED} 收到时破损，用户要求处理和理赔"
    assert_complete(package, seed.DEMO_ZHAO_DAMAGED, "理赔流程", "投递要求：以后别放快递柜")


def test_signed_but_not_received_with_a_verification(api, demo_db):
    chat = Conversation("demo-wang")
    chat.say(f"客户说没收到 但显示签收了 {seed.DEMO_WANG_SENT_PROXY_SIGNED}", "signed_not_received",
             [{"entity": NUMBER, "value": seed.DEMO_WANG_SENT_PROXY_SIGNED}])
    assert chat.slots["problem_outcome"] == "snr_sender"
    chat.say("客户白天上班不在家，他那是老小区", "inform")
    chat.say("人工客服", "request_human")
    package = handoff_of(api, chat)["package"]
    assert "显示已签收" in package["request"]
    assert_complete(package, seed.DEMO_WANG_SENT_PROXY_SIGNED, "网点核实流程", "用户留的地址是老小区")
    assert any(n.startswith("收件时间：") for n in package["notes"])


def test_fresh_food_delay_is_served_sooner(api, demo_db):
    chat = Conversation("demo-chen")
    chat.say("我买的海鲜快递晚了 3 天，肯定坏了！", "report_delay", [{"entity": "goods_type", "value": "fresh"}])
    assert chat.slots["problem_outcome"] == "fresh_priority"
    chat.say("下午才在家，老小区没电梯", "inform")
    chat.say("转人工", "request_human")
    handoff = handoff_of(api, chat)
    package = handoff["package"]
    assert package["request"].startswith("生鲜包裹") and package["emotion"]["scene"] == "fresh"
    assert_complete(package, seed.DEMO_CHEN_FRESH, "生鲜优先理赔流程", "老小区无电梯")
    assert handoff["priority"] <= 2


def test_an_angry_user_is_offered_a_human_and_goes_first(api, demo_db):
    chat = Conversation("demo-chen")
    chat.say("海鲜晚了三天了", "report_delay", [{"entity": "goods_type", "value": "fresh"}])
    chat.say("什么破快递 气死我了！！！说了几遍了 我家老小区没电梯也不能不送吧", "nlu_fallback")
    assert chat.slots["clarify_outcome"] == "offer_human_angry"
    chat.say("/request_human", "request_human")
    handoff = handoff_of(api, chat)
    assert handoff["reason"] == "anger" and handoff["priority"] == 1 and handoff["emotion"] == "angry"
    assert handoff["package"]["emotion"]["level"] == "angry" and "气死" in handoff["package"]["emotion"]["signals"]
    assert_complete(handoff["package"], seed.DEMO_CHEN_FRESH, "生鲜优先理赔流程", "老小区无电梯")


def test_two_misunderstandings_hand_over_with_the_users_words(api, demo_db):
    chat = Conversation("demo-li")
    chat.say(f"{seed.DEMO_LI_FRESH} 大闸蟹还没到 催一下", "urge_delivery",
             [{"entity": NUMBER, "value": seed.DEMO_LI_FRESH}])
    chat.say("那个东西 就是那个 你懂的 老小区没电梯", "nlu_fallback")
    chat.say("哎呀就是上次那个事", "nlu_fallback")
    assert chat.slots["clarify_outcome"] == "offer_human"
    chat.say("/request_human", "request_human")
    handoff = handoff_of(api, chat)
    package = handoff["package"]
    assert handoff["reason"] == "misunderstood" and handoff["priority"] <= 2
    shipment = next(s for s in package["shipments"] if s["tracking_number"] == seed.DEMO_LI_FRESH)
    assert shipment["last_scan"]["time"]
    assert isinstance(package["triggered"], list)
    assert "用户留的地址是老小区无电梯" in package["notes"]


def test_an_unbound_user_with_a_verified_tail(api, demo_db):
    chat = Conversation(f"guest-{uuid.uuid4().hex[:8]}")
    chat.say(f"查一下{seed.DEMO_UNBOUND_STATION}", "track_parcel",
             [{"entity": NUMBER, "value": seed.DEMO_UNBOUND_STATION}])
    assert chat.slots["tracking_outcome"] == "need_tail"
    chat.say("5678", "inform", [{"entity": "phone_tail", "value": "5678"}])
    assert chat.slots["verified_number"] == seed.DEMO_UNBOUND_STATION
    chat.say(f"{seed.DEMO_UNBOUND_STATION} 显示在驿站 可我根本没收到取件码 催一下", "urge_delivery",
             [{"entity": NUMBER, "value": seed.DEMO_UNBOUND_STATION}])
    chat.say("地址改成公司吧，老小区没电梯我拿不动", "inform")
    chat.say("转人工", "request_human")
    handoff = handoff_of(api, chat)
    package = handoff["package"]
    assert package["contact"] == "收件人 139****5678（尾号已核验）"
    assert package["customer"] is None
    shipment = package["shipments"][0]
    assert shipment["tracking_number"] == seed.DEMO_UNBOUND_STATION and shipment["last_scan"]["place"]
    assert any(n.startswith("地址变更：") for n in package["notes"])
    assert "用户留的地址是老小区无电梯" in package["notes"]


def test_a_repeated_request_finds_the_same_handoff(api, demo_db):
    chat = Conversation("demo-zhang")
    chat.say("转人工", "request_human")
    first = chat.slots["handoff_id"]
    chat.run(ActionRequestHuman())
    assert chat.slots["handoff_id"] == first
    chat.say("人工 人工", "request_human")
    assert chat.slots["handoff_id"] == first
    package = handoff_of(api, chat)["package"]
    # A bound user who typed no number: their active parcels are attached.
    assert package["shipments_from_customer"] and package["shipments"][0]["tracking_number"] == seed.DEMO_ZHANG_HELD


def test_backend_down_means_no_pause(backend_down):
    chat = Conversation("demo-zhang")
    chat.say("转人工", "request_human")
    assert chat.slots["handoff_outcome"] == "unavailable"


def test_relay_delivers_once_and_marks_agent_messages(api, demo_db, backend_url):
    from tests.backend.test_handoffs import agent_session

    chat = Conversation("demo-zhang")
    chat.say("转人工", "request_human")
    handoff_id = int(chat.slots["handoff_id"])
    console = agent_session(backend_url, demo_db)
    # Rasa is not running here: the reply is stored and stays queued.
    reply = console.post(f"/agent/api/handoffs/{handoff_id}/messages",
                         json={"text": "您好，我是客服小王，马上帮您处理"})
    assert reply.status_code == 201 and reply.json()["delivered"] is False
    chat.run(ActionRelayAgentReply())
    assert [m["text"] for m in chat.dispatched] == ["您好，我是客服小王，马上帮您处理"]
    custom = chat.dispatched[0]["custom"]["data"]
    assert custom["from"] == "agent" and custom["type"] == "agent_message" and custom["agent"]
    chat.run(ActionRelayAgentReply())
    assert chat.dispatched == []
    assert api.get(f"/api/v1/handoffs/{handoff_id}/outbox").json()["messages"] == []

    closed = console.post(f"/agent/api/handoffs/{handoff_id}/close", json={})
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["resumed"] is False
    chat.run(ActionHandoffClosed())
    assert chat.dispatched[0]["response"] == "utter_ask_rating"
    chat.say("非常满意，谢谢", "rate_service")
    assert chat.run(ActionRecordRating()) and chat.slots["rating_outcome"] == "recorded" and chat.slots["rating"] == "5"
    assert api.get(f"/api/v1/handoffs/{handoff_id}").json()["rating"] == 5


@pytest.mark.parametrize("text,score", [("5分", 5), ("五星好评", 5), ("非常满意", 5), ("满意", 4), ("还行吧", 3),
                                        ("不满意", 2), ("差评", 1), ("1星", 1), ("很不满意", 1), ("嗯", None)])
def test_ratings_in_the_users_words(text, score):
    assert rating_from_text(text) == score


def test_notes_are_quoted_from_the_users_words():
    notes = extract_notes(["我家老小区没电梯，住7楼", "晚上7点以后才在家", "是生日礼物 明天要用", "里面有药，急用",
                           "别放快递柜，放门卫"])
    assert notes[0] == "用户留的地址是老小区无电梯、住7楼"
    assert "收件时间：晚上7点以后才在家" in notes
    assert any(n.startswith("时间要求：") for n in notes) and any(n.startswith("急用物品：") for n in notes)
    assert "投递要求：别放快递柜" in notes
