"""The agent console in a real browser over the running stack: log in, open the handoff, reply, resolve, close.

Uses Debian's chromium through the session's one Playwright (tests/browser/conftest.py);
writes reports/screenshots/agent-console.png."""
from __future__ import annotations

import uuid
from datetime import datetime

import requests

from logistics import seed
from logistics.timeutil import CST
from tests.browser.conftest import SCREENSHOTS as SHOTS
from tests.e2e.test_e2e_conversations import texts
from tests.e2e.test_e2e_handoff import rasa_tracker


def test_an_agent_works_a_handoff_in_the_browser(stack, browser):
    # A conversation of its own, bound to the merchant 王强 (demo-wang's customer), so no other test's
    # conversation is paused.
    sender = f"web-{uuid.uuid4().hex[:8]}"
    bound = requests.post(f"{stack.backend_url}/api/v1/customers", headers={"Authorization": f"Bearer {stack.token}"},
                          json={"phone": "13800000003", "bindings": [{"channel": "rest", "external_id": sender}]},
                          timeout=10)
    assert bound.status_code in (200, 201), bound.text
    # The address note first: whatever the NLU makes of it, the urge stays the latest problem (the 诉求).
    stack.say(sender, "我家是老小区没电梯，下午才在家")
    urge = texts(stack.say(sender, f"{seed.DEMO_WANG_AT_OUTLET} 催投 一直没送"))
    assert seed.DEMO_WANG_AT_OUTLET in urge
    assert "人工客服" in texts(stack.say(sender, "/request_human"))
    # While waiting, the handoff side answers (the place in the queue), never the bot's NLU.
    assert "分钟" in texts(stack.say(sender, "大概要等多久？"))
    asked_at = next(e["timestamp"] for e in reversed(rasa_tracker(stack, sender)["events"])
                    if e["event"] == "user" and e.get("text") == "大概要等多久？")
    china = datetime.fromtimestamp(asked_at, CST)

    SHOTS.mkdir(parents=True, exist_ok=True)
    # An agent's computer set to another time zone still shows China time (Asia/Shanghai).
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="America/Los_Angeles")
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{stack.backend_url}/agent/")
        assert "/agent/login" in page.url
        page.fill("input[name=username]", "agent")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        assert page.locator(".error").inner_text() == "用户名或密码不对"
        page.fill("input[name=username]", "agent")
        page.fill("input[name=password]", "agent-demo-2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/agent/")

        item = page.locator("#queued li", has_text=seed.DEMO_WANG_AT_OUTLET).first
        item.wait_for(timeout=10000)
        assert "等待" in item.inner_text()
        item.click()
        page.wait_for_selector("#detail:not([hidden])")
        request = page.locator("#p-request").inner_text()
        assert request.startswith(f"包裹 {seed.DEMO_WANG_AT_OUTLET} 滞留网点未派件")
        assert "网点催派流程" in page.locator("#p-triggered").inner_text()
        assert "老小区无电梯" in page.locator("#p-notes").inner_text()
        assert "最后扫描" in page.locator("#p-shipments").inner_text()
        asked = page.locator("#transcript li.user", has_text="大概要等多久")
        asked.wait_for(timeout=10000)
        assert f"{china.month}-{china.day} {china:%H:%M}" in asked.inner_text()
        assert page.locator(".timeline li").count() > 0

        page.fill("#reply-text", "您好，我是客服小林。已经联系网点今天下午送上楼，您下午在家就行。")
        page.click("#reply button[type=submit]")
        page.locator("#transcript li.agent", has_text="送上楼").wait_for(timeout=15000)
        assert "未送达" not in page.locator("#transcript li.agent").last.inner_text()

        urge_ticket = page.locator("#tickets li", has_text="催派").first
        urge_ticket.locator("input[type=text]").fill("已电话联系网点，今天 16 点前上门")
        urge_ticket.locator("button", has_text="备注").click()
        page.locator("#tickets .note", has_text="16 点前上门").wait_for(timeout=10000)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(SHOTS / "agent-console.png"))

        page.locator("#tickets li", has_text="催派").first.locator("button", has_text="解决").click()
        page.locator("#tickets li", has_text="催派").first.locator(".badge", has_text="已解决").wait_for(
            timeout=10000)
        page.click("#close-btn")
        page.locator("#h-badges", has_text="已结束").wait_for(timeout=15000)
        page.locator("#transcript li.bot", has_text="打个分").wait_for(timeout=15000)
        page.screenshot(path=str(SHOTS / "agent-console-closed.png"))
    finally:
        context.close()
    assert "5 分" in texts(stack.say(sender, '/rate_service{"rating":"5"}'))
