"""Conversations over the REST channel against the running stack: what users actually read."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import yaml

from logistics import seed

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
STORIES = Path(__file__).resolve().parents[1] / "test_stories.yml"


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def fresh(prefix: str = "guest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_the_seed_example_runs_as_written(stack):
    reply = texts(stack.say("demo-zhang", "我的快递怎么卡在杭州中转场3天了"))
    assert "当前包裹因中转场暴雨临时积压" in reply
    assert re.search(r"预计(今晚|明晚) 20 点前转出，后续会优先派送", reply), reply
    assert seed.DEMO_ZHANG_HELD in reply


def test_a_bound_user_is_asked_for_nothing(stack):
    reply = texts(stack.say("demo-zhang", "我的快递到哪了"))
    assert seed.DEMO_ZHANG_HELD in reply
    assert "单号" not in reply.replace(seed.DEMO_ZHANG_HELD, "") and "后 4 位" not in reply


def test_an_unbound_user_sees_no_detail_before_the_phone_check(stack):
    sender = fresh()
    first = texts(stack.say(sender, f"查一下{seed.DEMO_UNBOUND_STATION}"))
    assert "后 4 位" in first
    for leak in ("上海", "苏州", "驿站", "中通"):
        assert leak not in first
    second = texts(stack.say(sender, "5678"))
    assert "驿站" in second and seed.DEMO_UNBOUND_STATION in second


def test_several_parcels_come_as_buttons_and_a_click_answers(stack):
    messages = stack.say("demo-li", "我的快递到哪了")
    buttons = [b for m in messages for b in m.get("buttons", [])]
    assert len(buttons) == 4
    assert all("****" in b["title"] for b in buttons)
    customs = next(b for b in buttons if seed.DEMO_LI_CUSTOMS[-4:] in b["title"])
    reply = texts(stack.say("demo-li", customs["payload"]))
    assert "清关" in reply and seed.DEMO_LI_CUSTOMS in reply


def test_choosing_by_words(stack):
    stack.say("demo-li", "查一下我的快递")
    reply = texts(stack.say("demo-li", "上海寄来的那个"))
    assert seed.DEMO_LI_FRESH in reply


def test_nonsense_gets_help_not_silence(stack):
    sender = fresh()
    for text in ("asdkjh qwe", "。。。", "嗯嗯那个啥"):
        messages = stack.say(sender, text)
        assert messages and texts(messages).strip()


def _story_turns() -> list[list[str]]:
    stories = yaml.safe_load(STORIES.read_text())["stories"]
    turns = []
    for story in stories:
        said = [re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", step["user"]).strip()
                for step in story["steps"] if "user" in step]
        if said:
            turns.append(said)
    return turns


def test_no_reply_of_any_story_shows_a_full_phone_number_or_ends_at_waiting(stack):
    checked = 0
    for turns in _story_turns():
        for sender in ("demo-zhang", "demo-li", fresh()):
            for text in turns:
                for message in stack.say(sender, text):
                    body = repr(message)
                    assert not PHONE.search(body), body
                    assert not (message.get("text") or "").rstrip("。！!. ").endswith("请耐心等待"), body
                    checked += 1
    assert checked > 100
