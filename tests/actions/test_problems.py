"""Problem scenarios against the real backend: the data is pulled, the right ticket opened once, and said."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.problems import PROBLEM_INTENTS, TICKET_INTENTS, ActionHandleProblem
from actions.tracking import ActionTrackParcel
from logistics import seed
from tests.support import make_tracker, slots_of

ROOT = Path(__file__).resolve().parents[2]


def converse(sender: str, text: str, intent: str, entities=None, slots=None, channel="rest") -> dict:
    """One user turn as Rasa runs it: action_track_parcel, then action_handle_problem when it hands over."""
    state = dict(slots or {})
    tracker = make_tracker(sender, text, intent=intent, entities=entities, slots=state, channel=channel)
    state.update(slots_of(ActionTrackParcel().run(CollectingDispatcher(), tracker, {})))
    if state.get("tracking_outcome") == "problem":
        tracker = make_tracker(sender, text, intent=intent, entities=entities, slots=state, channel=channel)
        state.update(slots_of(ActionHandleProblem().run(CollectingDispatcher(), tracker, {})))
    return state


def tickets_of(api, number: str) -> list:
    return api.get("/api/v1/tickets", params={"tracking_number": number}).json()["tickets"]


def test_urge_at_an_outlet_past_its_window_opens_one_urge_ticket(api):
    first = converse("demo-wang", "都到网点30个小时了还不派送 催一下", "urge_delivery",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_WANG_AT_OUTLET}])
    assert first["problem_outcome"] == "urge_created"
    assert first["ticket_ref"].startswith("T") and first["ticket_due"]
    urges = [t for t in tickets_of(api, seed.DEMO_WANG_AT_OUTLET) if t["type"] == "urge"]
    assert len(urges) == 1
    again = converse("demo-wang", "快点啊 再催一下", "urge_delivery",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_WANG_AT_OUTLET}])
    assert again["problem_outcome"] == "urge_existing"
    assert again["ticket_ref"] == first["ticket_ref"]
    assert len([t for t in tickets_of(api, seed.DEMO_WANG_AT_OUTLET) if t["type"] == "urge"]) == 1
    history = api.get(f"/api/v1/tickets/{first['ticket_ref'][1:]}").json()["history"]
    assert any(h["kind"] == "note" for h in history)


def test_urge_before_the_outlet_tells_where_it_is_and_opens_nothing(api):
    slots = converse("demo-zhang", "能不能快点送", "urge_delivery")
    assert slots["problem_outcome"] == "urge_not_at_outlet"
    assert slots["eta_next"]
    assert [t for t in tickets_of(api, seed.DEMO_ZHANG_HELD) if t["type"] == "urge"] == []


def test_lost_after_72_hours_silent_opens_investigation_and_verification(api):
    slots = converse("demo-zhao", "快递是不是丢了 好几天没动静", "report_lost",
                     entities=[{"entity": "carrier", "value": "jt"}])
    assert slots["tracking_number"] == seed.DEMO_ZHAO_LOST
    assert slots["problem_outcome"] == "lost_opened"
    assert slots["ticket_ref"] != slots["ticket2_ref"]
    assert slots["insured"] in ("yes", "no") and slots["terms_summary"]
    types = sorted(t["type"] for t in tickets_of(api, seed.DEMO_ZHAO_LOST))
    assert types == ["lost_investigation", "outlet_verification"]
    converse("demo-zhao", "快递是不是丢了", "report_lost", entities=[{"entity": "carrier", "value": "jt"}])
    assert len(tickets_of(api, seed.DEMO_ZHAO_LOST)) == 2


def test_damaged_opens_a_claim_with_the_insured_value(api):
    slots = converse("demo-zhao", "花瓶摔碎了", "report_damaged",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_ZHAO_DAMAGED}])
    assert slots["problem_outcome"] == "damage_claim_opened"
    assert slots["insured"] == "yes" and slots["insured_value"] == "2000"
    assert [t["type"] for t in tickets_of(api, seed.DEMO_ZHAO_DAMAGED)] == ["claim"]


def test_signed_not_received_from_the_senders_side(api):
    slots = converse("demo-wang", "客户说没收到快递，但我查轨迹显示已签收", "signed_not_received",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_WANG_SENT_PROXY_SIGNED}])
    assert slots["problem_outcome"] == "snr_sender"
    assert slots["signed_place"] == "proxy"
    tickets = tickets_of(api, seed.DEMO_WANG_SENT_PROXY_SIGNED)
    assert [t["type"] for t in tickets] == ["outlet_verification"]


def test_fresh_goods_late_open_a_priority_claim_with_a_one_hour_callback(api):
    slots = converse("demo-chen", "我买的海鲜快递晚了 3 天，肯定坏了！", "report_delay",
                     entities=[{"entity": "goods_type", "value": "fresh"}])
    assert slots["tracking_number"] == seed.DEMO_CHEN_FRESH
    assert slots["problem_outcome"] == "fresh_priority"
    ticket = tickets_of(api, seed.DEMO_CHEN_FRESH)[0]
    assert ticket["type"] == "fresh_priority_claim"
    assert slots["late_by"]


def test_a_problem_reported_before_the_number_is_handled_once_it_is_known(api):
    asked = converse("guest-lost-1", "我的快递丢了", "report_lost")
    assert asked["tracking_outcome"] == "need_number" and asked["pending_problem"] == "report_lost"
    tail = converse("guest-lost-1", seed.DEMO_UNBOUND_STATION, "inform", slots=asked)
    assert tail["tracking_outcome"] == "need_tail"
    done = converse("guest-lost-1", "5678", "inform", slots=tail)
    # Waiting at a pickup station is not lost: it is shown as signed-not-received at a station.
    assert done["problem_outcome"] == "snr_recipient" and done["signed_place"] == "station"
    assert done["pending_problem"] is None


def test_backend_down_keeps_the_problem_pending(backend_down):
    slots = converse("demo-chen", "海鲜晚了", "report_delay",
                     slots={"tracking_number": seed.DEMO_CHEN_FRESH, "customer_id": 1,
                            "pending_problem": "report_delay", "tracking_outcome": "problem"})
    assert slots["tracking_outcome"] == "unavailable"
    assert slots["pending_problem"] == "report_delay"


@pytest.mark.parametrize("intent", PROBLEM_INTENTS)
def test_backend_down_every_problem_gets_the_apology_and_stays_pending(backend_down, intent):
    """The parcel is known (slots) and the problem pending: the handler hits the backend and apologises."""
    tracker = make_tracker("demo-chen", "帮我处理一下", intent=intent,
                           slots={"tracking_number": seed.DEMO_CHEN_FRESH, "customer_id": 1,
                                  "pending_problem": intent, "tracking_outcome": "problem"})
    slots = slots_of(ActionHandleProblem().run(CollectingDispatcher(), tracker, {}))
    assert slots["problem_outcome"] == "unavailable"
    assert "pending_problem" not in slots  # kept: the next message retries it


@pytest.mark.parametrize("intent", TICKET_INTENTS)
def test_backend_down_ticket_questions_get_the_apology(backend_down, intent):
    tracker = make_tracker("demo-chen", "我的工单呢", intent=intent, slots={"customer_id": 1})
    slots = slots_of(ActionHandleProblem().run(CollectingDispatcher(), tracker, {}))
    assert slots["problem_outcome"] == "unavailable"


def test_the_apology_for_an_unavailable_backend_says_what_to_do():
    rules = yaml.safe_load((ROOT / "data" / "rules" / "problems.yml").read_text(encoding="utf-8"))["rules"]
    follows = [rule["steps"][2]["action"] for rule in rules
               if rule["steps"][0].get("action") == "action_handle_problem"
               and rule["steps"][1].get("slot_was_set") == [{"problem_outcome": "unavailable"}]]
    assert follows == ["utter_backend_unavailable"]
    domain = yaml.safe_load((ROOT / "domain" / "tracking.yml").read_text(encoding="utf-8"))
    text = domain["responses"]["utter_backend_unavailable"][0]["text"]
    assert "抱歉" in text and "再发一次" in text and "转人工" in text


@pytest.mark.parametrize("intent", ["report_delay", "urge_delivery"])
def test_repeating_a_request_never_makes_a_second_ticket(api, intent):
    for _ in range(3):
        converse("demo-chen", "海鲜晚了三天 快点处理", intent, entities=[{"entity": "goods_type", "value": "fresh"}])
    assert len([t for t in tickets_of(api, seed.DEMO_CHEN_FRESH) if t["type"] == "fresh_priority_claim"]) <= 1


def ask_tickets(sender: str, text: str, intent: str, slots=None) -> dict:
    tracker = make_tracker(sender, text, intent=intent, slots=slots or {})
    return slots_of(ActionHandleProblem().run(CollectingDispatcher(), tracker, {}))


def test_check_ticket_lists_the_open_tickets_in_plain_words(api):
    converse("demo-zhao", "花瓶摔碎了", "report_damaged",
             entities=[{"entity": "tracking_number", "value": seed.DEMO_ZHAO_DAMAGED}])
    slots = ask_tickets("demo-zhao", "我反映的问题处理得怎么样了", "check_ticket")
    assert slots["problem_outcome"] == "tickets_listed"
    assert "理赔" in slots["tickets_text"] and "T" in slots["tickets_text"]


def test_claim_status_shows_the_expected_payout_time(api):
    converse("demo-zhao", "花瓶摔碎了", "report_damaged",
             entities=[{"entity": "tracking_number", "value": seed.DEMO_ZHAO_DAMAGED}])
    slots = ask_tickets("demo-zhao", "理赔到哪一步了", "claim_status")
    assert slots["problem_outcome"] == "claims_listed"
    assert "理赔" in slots["tickets_text"]


def test_no_tickets_is_said_plainly():
    assert ask_tickets("guest-no-tickets", "我的工单呢", "check_ticket")["problem_outcome"] == "no_tickets"
    assert ask_tickets("guest-no-tickets", "理赔进度", "claim_status")["problem_outcome"] == "no_claims"


def test_complaint_is_recorded_with_category_and_place(api):
    slots = converse("demo-li", "快递员不送上门 让我自己下楼去拿 京东的那个", "complain_delivery_service",
                     entities=[{"entity": "carrier", "value": "jd"}])
    assert slots["problem_outcome"] == "complaint_recorded"
    assert slots["complaint_category"] == "no_door_delivery"
    assert slots["complaint_place"]
    ticket = api.get(f"/api/v1/tickets/{slots['ticket_ref'][1:]}").json()
    assert ticket["type"] == "complaint" and ticket["details"]["category"] == "no_door_delivery"
    assert ticket["details"]["category_label"] == "不送货上门" and ticket["tracking_number"]
    # A door-delivery dispute: if the user asks for a person, the handoff says why.
    assert slots["handoff_reason"] == "delivery_dispute"


def test_a_locker_complaint_gets_its_own_answer_ticket_place_and_parcel(api):
    slots = converse("demo-zhang", "快递放在丰巢了但是没人通知我", "complain_delivery_service",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_ZHANG_DELIVERED_JD}])
    assert slots["problem_outcome"] == "complaint_recorded"
    assert slots["complaint_category"] == "locker_no_notice" and slots["complaint_place"]
    ticket = api.get(f"/api/v1/tickets/{slots['ticket_ref'][1:]}").json()
    assert ticket["details"]["category"] == "locker_no_notice"
    assert ticket["tracking_number"] == seed.DEMO_ZHANG_DELIVERED_JD
    assert ticket["details"]["place"] == slots["complaint_place"]
    assert "handoff_reason" not in slots


@pytest.mark.parametrize("text, intent", [
    ("理赔金额太少了 我不接受", "claim_status"),
    ("才赔50块 这不合理吧", "file_claim"),
    ("对赔付金额有异议", "complain_delivery_service"),
])
def test_a_payout_dispute_is_offered_to_the_claims_desk_not_decided_by_the_bot(api, text, intent):
    slots = ask_tickets("demo-zhao", text, intent) if intent == "claim_status" else converse(
        "demo-zhao", text, intent, entities=[{"entity": "tracking_number", "value": seed.DEMO_ZHAO_DAMAGED}])
    assert slots["problem_outcome"] == "claim_dispute"
    assert slots["handoff_reason"] == "claim_dispute"


def test_address_change_before_delivery_opens_a_ticket(api):
    slots = converse("demo-zhang", "地址写错了 帮我改到公司", "change_address")
    assert slots["problem_outcome"] == "address_change_opened"
    assert [t["type"] for t in tickets_of(api, seed.DEMO_ZHANG_HELD)].count("address_change") == 1


def test_address_change_after_dispatch_offers_what_remains():
    slots = converse("demo-li", "改个地址 广州发来的那个", "change_address",
                     entities=[{"entity": "location", "value": "广州"}])
    assert slots["problem_outcome"] == "address_change_late"


def test_file_claim_opens_a_claim_with_the_terms(api):
    slots = converse("demo-wang", "我要申请理赔", "file_claim",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_WANG_SENT_PROXY_SIGNED}])
    assert slots["problem_outcome"] == "claim_opened"
    assert slots["terms_summary"] or slots["insured"] == "yes"


def test_customs_in_progress_is_explained_without_a_return_scare():
    slots = converse("demo-li", "奶粉清关要多久 会不会被退件", "customs_inquiry",
                     entities=[{"entity": "tracking_number", "value": seed.DEMO_LI_CUSTOMS}])
    assert slots["problem_outcome"] == "customs_in_progress"
    assert slots["customs_days"]


def test_customs_question_about_a_domestic_parcel():
    slots = converse("demo-zhang", "我的件要清关吗", "customs_inquiry")
    assert slots["problem_outcome"] == "customs_not_international"
