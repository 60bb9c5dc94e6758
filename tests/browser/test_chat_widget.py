"""The website chat widget in a real browser, against the real backend, action server and Rasa."""
from __future__ import annotations

import re

from logistics import seed
from tests.browser.conftest import MOBILE, tiny_png

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_logged_in_user_asks_where_the_parcel_is_and_sees_the_timeline(chat):
    chat.login("13800000001")
    chat.say("我的快递到哪了")
    timeline = chat.page.locator(".lw-timeline")
    timeline.wait_for(timeout=20_000)
    answer = " ".join(chat.bot_texts())
    # Bound by the login: answered from the phone's own parcel, no number or phone tail asked for.
    assert seed.DEMO_ZHANG_HELD in answer
    assert "后 4 位" not in answer and "请把快递单号发给我" not in answer
    assert seed.DEMO_ZHANG_HELD in timeline.locator(".lw-tl-carrier").inner_text()
    assert timeline.locator(".lw-tl-event").count() >= 3
    # Every bubble carries its time.
    assert re.fullmatch(r"\d\d:\d\d", chat.page.locator(".lw-msg .lw-time").first.inner_text())
    chat.screenshot("chat-desktop.png")
    assert chat.errors == []


def test_quick_reply_sends_the_payload_and_shows_the_title(chat):
    chat.login("13800000002")
    chat.say("我的快递到哪了")
    replies = chat.page.locator(".lw-replies:not(.lw-stale) .lw-reply")
    replies.first.wait_for()
    assert replies.count() == 4
    choice = next(i for i in range(4) if "YT88" in replies.nth(i).inner_text())
    title = replies.nth(choice).inner_text()
    before = chat.bots.count()
    replies.nth(choice).click()
    chat.wait_bots(before + 1)
    assert chat.user_texts()[-1] == title, "the button's title is the user's bubble, not the /inform payload"
    assert not any(text.startswith("/") for text in chat.user_texts())
    chat.page.locator(".lw-timeline").wait_for()
    assert seed.DEMO_LI_OUT_FOR_DELIVERY in chat.page.locator(".lw-timeline").last.inner_text()
    # The answered choice is history: its buttons are gone.
    assert chat.page.locator(".lw-replies:not(.lw-stale):not(.lw-used) .lw-reply").count() == 0


def test_photo_after_a_damage_report_is_attached_and_acknowledged(chat, stack, tmp_path):
    chat.login("13800000004")
    chat.say(f"我的快递{seed.DEMO_ZHAO_DAMAGED}破损了")
    assert any("破损理赔" in text for text in chat.bot_texts()), chat.bot_texts()
    photo = tmp_path / "damage.png"
    photo.write_bytes(tiny_png())
    before = chat.bots.count()
    chat.page.set_input_files(".lw-file", str(photo))
    chat.page.locator(".lw-msg.lw-user .lw-thumb").wait_for()
    chat.wait_bots(before + 1)
    reply = chat.bot_texts()[-1]
    assert "照片" in reply and "共 1 张" in reply, reply
    claims = [t for t in stack.tickets(seed.DEMO_ZHAO_DAMAGED) if t["type"] == "claim"]
    assert claims and claims[0]["conversation_id"] == chat.page.evaluate("window.LogisticsChat.sessionId")
    # The hidden /send_photo never shows; after a reload the photo is still there, drawn from the ticket.
    assert "/send_photo" not in chat.page.locator(".lw-messages").inner_text()
    chat.reload()
    chat.page.locator(".lw-msg.lw-user img.lw-thumb").wait_for()
    assert chat.page.eval_on_selector(".lw-msg.lw-user img.lw-thumb", "img => img.complete && img.naturalWidth") == 1


def test_reload_restores_the_history_without_duplicates(chat):
    chat.say("你好")
    chat.say("谢谢")
    users, bots, ids = chat.user_texts(), chat.bot_texts(), chat.ids()
    assert users == ["你好", "谢谢"]
    chat.reload()
    chat.page.wait_for_function("n => document.querySelectorAll('.lw-msg').length >= n", arg=len(ids))
    chat.page.wait_for_timeout(300)  # a second merge (history on load, then on connect) must change nothing
    assert chat.user_texts() == users and chat.bot_texts() == bots
    after = chat.ids()
    assert len(after) == len(ids) and len(set(after)) == len(after) and all(after)


def test_network_drop_shows_reconnecting_and_recovers_without_duplicates(chat):
    chat.say("你好")
    banner = chat.page.locator(".lw-banner")
    assert banner.is_hidden()
    chat.context.set_offline(True)
    banner.wait_for(state="visible")
    assert banner.inner_text() == "连接已断开，正在重连…"
    # Written while offline: shown at once as waiting, sent after the reconnect.
    chat.say("谢谢", replies=0)
    assert chat.page.locator(".lw-msg.lw-pending").count() == 1
    bots_before = chat.bots.count()
    chat.context.set_offline(False)
    banner.wait_for(state="hidden", timeout=20_000)
    chat.wait_bots(bots_before + 1)
    chat.page.wait_for_timeout(300)
    assert chat.user_texts() == ["你好", "谢谢"]
    assert chat.page.locator(".lw-msg.lw-pending").count() == 0
    # Bubbles that arrived after the last merge have no id yet (the next merge gives them theirs).
    ids = [i for i in chat.ids() if i]
    assert len(set(ids)) == len(ids)
    # The server holds the same conversation: a reload shows exactly what is on screen.
    shown = chat.page.locator(".lw-messages .lw-text").all_inner_texts()
    chat.reload()
    chat.page.wait_for_function("n => document.querySelectorAll('.lw-messages .lw-text').length >= n",
                                arg=len(shown))
    assert chat.page.locator(".lw-messages .lw-text").all_inner_texts() == shown


def test_markup_in_a_message_is_shown_as_text(chat):
    chat.say(HOSTILE)
    assert chat.user_texts()[-1] == HOSTILE
    assert chat.page.locator(".lw-messages img[src='x'], .lw-messages script").count() == 0
    chat.reload()
    assert chat.user_texts()[-1] == HOSTILE
    chat.page.wait_for_timeout(200)
    assert chat.dialogs == [], "no alert may fire"


def test_mobile_full_screen_tracking_with_the_phone_tail(chat_factory):
    chat = chat_factory(viewport=MOBILE, mobile=True)
    box = chat.page.locator(".lw-panel").bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 812)
    chat.say(f"查一下{seed.DEMO_UNBOUND_STATION}")
    assert "后 4 位" in chat.bot_texts()[-1]
    chat.say("5678")
    chat.page.locator(".lw-timeline").wait_for()
    assert seed.DEMO_UNBOUND_STATION in " ".join(chat.bot_texts())
    # Shift+Enter is a new line, not a send.
    chat.page.fill(".lw-input", "第一行")
    chat.page.press(".lw-input", "Shift+Enter")
    chat.page.keyboard.type("第二行")
    assert chat.page.input_value(".lw-input") == "第一行\n第二行"
    assert chat.user_texts()[-1] == "5678"
    chat.page.fill(".lw-input", "")
    chat.screenshot("chat-mobile.png")


def test_an_agents_reply_reaches_the_website_user_and_the_bot_resumes_after(chat, stack):
    from tests.e2e.test_e2e_handoff import console_for, handoff_api

    chat.say("我要转人工", replies=1)
    chat.page.wait_for_function("() => [...document.querySelectorAll('.lw-msg.lw-bot .lw-text')]"
                                ".some(e => e.textContent.includes('分钟'))", timeout=20_000)
    session_id = chat.page.evaluate("window.LogisticsChat.sessionId")
    handoff = handoff_api(stack, f"/handoffs?conversation_id={session_id}")["handoffs"][0]
    # Paused: what the user writes reaches the agent; the handoff side (not the bot's NLU) answers with the place
    # in the queue.
    chat.say("我家是老小区没电梯 下午6点后才在家", replies=1)
    assert "人工客服" in chat.bot_texts()[-1] and "分钟" in chat.bot_texts()[-1]

    console = console_for(stack)
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/claim").status_code == 200
    reply = console.post(f"/agent/api/handoffs/{handoff['id']}/messages",
                         json={"text": "您好，我是人工客服，马上帮您联系网点"})
    assert reply.json()["delivered"] is True
    chat.page.wait_for_function("() => [...document.querySelectorAll('.lw-msg.lw-bot')]"
                                ".some(e => e.textContent.includes('马上帮您联系网点'))", timeout=20_000)
    last = chat.page.locator(".lw-msg.lw-bot").last
    assert "人工客服" in last.locator(".lw-agent").inner_text()
    assert "[卡片消息]" not in " ".join(chat.bot_texts())

    assert console.post(f"/agent/api/handoffs/{handoff['id']}/close").json()["resumed"] is True
    chat.page.wait_for_function("() => [...document.querySelectorAll('.lw-msg.lw-bot .lw-text')]"
                                ".some(e => e.textContent.includes('打个分'))", timeout=20_000)
    chat.page.locator(".lw-replies:not(.lw-stale) .lw-reply").first.click()
    chat.page.wait_for_function("() => [...document.querySelectorAll('.lw-msg.lw-bot .lw-text')]"
                                ".some(e => e.textContent.includes('5 分'))", timeout=20_000)
    assert handoff_api(stack, f"/handoffs/{handoff['id']}")["rating"] == 5
    chat.screenshot("chat-agent-reply.png")
    assert chat.errors == []


class _BrowserIn:
    """The session's browser, its new contexts set to a time zone (a user abroad)."""

    def __init__(self, browser, timezone_id: str):
        self.browser, self.timezone_id = browser, timezone_id

    def new_context(self, **options):
        return self.browser.new_context(timezone_id=self.timezone_id, **options)


def test_a_user_abroad_sees_china_time_in_the_timeline_as_in_the_answer(browser, stack):
    from datetime import datetime, timedelta, timezone

    from tests.browser.conftest import Chat

    chat = Chat(_BrowserIn(browser, "America/New_York"), stack)
    try:
        assert chat.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        chat.login("13800000005")  # 陈静's seafood in transit (a phone no other browser test asks a code for)
        chat.say("我的快递到哪了")
        latest = chat.page.locator(".lw-timeline .lw-tl-latest .lw-tl-time")
        latest.wait_for(timeout=20_000)
        # The answer quotes the last scan in China time (「11月22日 13:10到达」); the timeline says the same.
        answer = " ".join(chat.bot_texts())
        said = re.search(r"(\d{1,2})月(\d{1,2})日 (\d\d:\d\d)", answer)
        assert said, answer
        month, day, clock = said.groups()
        assert latest.inner_text().startswith(f"{int(month):02d}-{int(day):02d} {clock}"), latest.inner_text()
        # The browser's own clock would have said otherwise (New York is 12 or 13 hours behind).
        local = chat.page.evaluate("iso => { const d = new Date(iso); return [d.getHours(), d.getMinutes()]; }",
                                   f"2026-01-15T{clock}:00+08:00")
        assert f"{local[0]:02d}:{local[1]:02d}" != clock
        # A bubble's time is China time too.
        china = datetime.now(timezone(timedelta(hours=8)))
        shown = chat.page.locator(".lw-msg .lw-time").last.inner_text()[:5]
        assert shown in {(china - timedelta(minutes=m)).strftime("%H:%M") for m in range(3)}, shown
        assert chat.errors == []
    finally:
        chat.close()
