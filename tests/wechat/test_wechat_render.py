"""The bot's messages as WeChat text (addons/wechat/render.py): pieces under 2,048 bytes, numbered options, the
timeline as lines, agent replies marked."""
from __future__ import annotations

import pytest

from addons.wechat import render
from addons.wechat.store import options_value
from tests.wechat.stub_app import TIMELINE


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_a_short_answer_is_one_piece():
    assert render.split_text("您好，包裹在杭州。") == ["您好，包裹在杭州。"]
    assert render.split_text("  \n ") == []


def test_long_answers_are_split_at_line_ends_under_the_limit():
    paragraphs = [f"第{i}段：" + "包裹正在运输途中，请耐心等待。" * 30 for i in range(5)]
    text = "\n\n".join(paragraphs)
    pieces = render.split_text(text)
    assert len(pieces) > 1
    assert all(size(p) <= render.MAX_TEXT_BYTES for p in pieces)
    # Nothing lost, nothing cut inside a paragraph that fits.
    assert "".join(p.replace("\n", "") for p in pieces) == text.replace("\n", "")
    assert all(p.startswith("第") for p in pieces)


def test_one_enormous_line_is_cut_between_characters():
    text = "快递🚚" * 2000
    pieces = render.split_text(text, limit=2048)
    assert all(size(p) <= 2048 for p in pieces)
    assert "".join(pieces) == text


@pytest.mark.parametrize("limit", [2048, 100, 7])
def test_pieces_never_exceed_any_limit(limit):
    text = "\n".join(["短行", "一" * 50, "", "emoji 😀😀😀 mixed ASCII text " * 5])
    assert all(size(p) <= limit for p in render.split_text(text, limit))


def test_buttons_become_numbered_options():
    rendered = render.render_messages([{"text": "您想查哪一个？", "buttons": [
        {"title": "顺丰 SF14****5912", "payload": '/inform{"tracking_number":"SF1402837465912"}'},
        {"title": "转人工客服", "payload": "/request_human"}]}])
    assert rendered.pieces == ["您想查哪一个？\n1. 顺丰 SF14****5912\n2. 转人工客服\n" + render.CHOOSE_HINT]
    offered = options_value(rendered.options)
    assert render.choice("2", offered)["payload"] == "/request_human"
    assert render.choice(" １ ", offered)["payload"].startswith("/inform")
    assert render.choice("2.", offered)["key"] == "2"
    for not_a_choice in ("3", "0", "12", "5678", "第二个", "", "SF1402837465912"):
        assert render.choice(not_a_choice, offered) is None
    assert render.choice("1", None) is None


def test_the_rating_question_keeps_its_order():
    buttons = [{"title": f"{n}分", "payload": f'/rate_service{{"rating":"{n}"}}'} for n in (5, 4, 3, 2, 1)]
    rendered = render.render_messages([{"text": "打个分", "buttons": buttons}])
    assert "1. 5分" in rendered.pieces[0] and "5. 1分" in rendered.pieces[0]


def test_the_timeline_payload_is_readable_text():
    rendered = render.render_messages([{"text": "查到了。"}, {"custom": TIMELINE}])
    assert len(rendered.pieces) == 1
    text = rendered.pieces[0]
    assert text.startswith("查到了。\n\n📦 顺丰速运 SF1402837465912（到达中转场）")
    lines = [line for line in text.splitlines() if line.startswith("· ")]
    assert len(lines) == render.TIMELINE_EVENTS
    assert lines[0] == "· 11-27 13:10 杭州萧山中转场7 快件到达第7站"
    assert "共 7 条记录" in text
    assert rendered.options is None


def test_agent_replies_are_marked_and_remembered_for_delivery_failures():
    rendered = render.render_messages([{"text": "您好，已联系驿站", "custom": {"data": {
        "type": "agent_message", "from": "agent", "agent": "客服小林", "message_id": 9, "handoff_id": 4,
        "text": "您好，已联系驿站"}}}])
    assert rendered.pieces == ["【客服小林】您好，已联系驿站"]
    assert rendered.agent_messages == [{"handoff_id": 4, "message_id": 9}]


def test_unknown_custom_payloads_and_images():
    rendered = render.render_messages([{"custom": {"data": {"type": "something_else"}}},
                                       {"image": "https://example.com/a.png"}])
    assert rendered.pieces == ["[图片] https://example.com/a.png"]
