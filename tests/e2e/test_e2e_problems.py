"""Problem scenarios over the REST channel against the running stack, including a backend outage."""
from __future__ import annotations

import re

from logistics import seed
from tests.e2e.test_e2e_conversations import fresh, texts


def test_the_fresh_food_seed_example_leads_with_empathy_and_opens_a_priority_claim(stack):
    reply = texts(stack.say("demo-chen", "我买的海鲜快递晚了 3 天，肯定坏了！"))
    assert reply.startswith("生鲜延误确实让人着急，您先别担心")
    assert "生鲜优先理赔" in reply and "1 小时内" in reply
    assert [t["type"] for t in stack.tickets(seed.DEMO_CHEN_FRESH)] == ["fresh_priority_claim"]


def test_the_senders_seed_example_gets_a_verification_addressed_to_a_sender(stack):
    reply = texts(stack.say("demo-wang", f"客户说没收到快递，但我查轨迹显示已签收 {seed.DEMO_WANG_SENT_PROXY_SIGNED}"))
    assert "您的客户反馈没收到" in reply and "2 小时内" in reply
    assert [t["type"] for t in stack.tickets(seed.DEMO_WANG_SENT_PROXY_SIGNED)] == ["outlet_verification"]


def test_the_urge_seed_example_says_what_was_done_and_when(stack):
    def urges() -> set:
        return {t["id"] for t in stack.tickets(seed.DEMO_WANG_AT_OUTLET) if t["type"] == "urge"}

    before = urges()
    reply = texts(stack.say("demo-wang", f"{seed.DEMO_WANG_AT_OUTLET} 催投 一直没送"))
    # Another test's conversation may have urged this parcel already: then the same open ticket is reported.
    existing = "已经催过" in reply
    assert existing or (re.search(r"工单[（ ]T\d+", reply) and "30 分钟内" in reply), reply
    again = texts(stack.say("demo-wang", "再催一下"))
    assert "已经催过" in again
    assert len(urges() - before) == (0 if existing else 1)


def test_backend_outage_mid_conversation_apologises_and_loses_nothing(stack):
    sender = "demo-zhao"
    stack.say(sender, "你好")
    stack.stop_backend()
    try:
        down = texts(stack.say(sender, "极兔那个快递是不是丢了 好几天没动静了"))
        assert "暂时连不上" in down and "转人工" in down
    finally:
        stack.start_backend()
    back = texts(stack.say(sender, "现在好了吗 极兔的快递丢了"))
    assert "丢件调查" in back or "先别担心" in back
    for _ in range(2):
        stack.say(sender, "极兔的快递丢了")
    lost = [t for t in stack.tickets(seed.DEMO_ZHAO_LOST) if t["type"] == "lost_investigation"]
    assert len(lost) <= 1


def test_nobody_is_asked_for_a_number_we_know(stack):
    for sender, text in (("demo-zhang", "催一下"), ("demo-chen", "海鲜晚了"), ("demo-zhao", "东西摔坏了")):
        reply = texts(stack.say(sender, text))
        assert not reply.startswith(("请提供", "麻烦发一下运单号", "请把快递单号")), reply
    assert texts(stack.say(fresh(), "快递丢了")).startswith(("麻烦发一下运单号", "请把快递单号"))
