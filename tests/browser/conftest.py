"""Browser tests: Debian's chromium driven by Playwright against the real stack (tests/stack.py)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support import PLAYWRIGHT_SESSIONS, stop_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}
# Rasa answers in well under a second; a busy CI machine gets some slack.
REPLY_TIMEOUT_MS = 20_000

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
    PLAYWRIGHT_SESSIONS.append((playwright, browser))
    yield browser
    stop_playwright()


class Chat:
    """One browser tab on the demo page with the widget open; the helpers a user's actions need."""

    def __init__(self, browser, stack, viewport=DESKTOP, mobile: bool = False):
        self.stack = stack
        self.context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile,
                                           device_scale_factor=2 if mobile else 1, locale="zh-CN")
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.open()

    def open(self):
        self.page.goto(f"{self.stack.backend_url}/chat")
        if not self.page.locator(".lw-panel").is_visible():
            self.page.click(".lw-launcher")
        self.wait_connected()

    def wait_connected(self):
        self.page.wait_for_function("window.LogisticsChat && window.LogisticsChat.connected",
                                    timeout=REPLY_TIMEOUT_MS)

    def reload(self):
        self.page.reload()
        self.wait_connected()

    @property
    def bots(self):
        return self.page.locator(".lw-msg.lw-bot")

    @property
    def users(self):
        return self.page.locator(".lw-msg.lw-user")

    def bot_texts(self) -> list[str]:
        return self.page.locator(".lw-msg.lw-bot .lw-text").all_inner_texts()

    def user_texts(self) -> list[str]:
        return self.page.locator(".lw-msg.lw-user .lw-text").all_inner_texts()

    def wait_bots(self, count: int, timeout: int = REPLY_TIMEOUT_MS):
        self.page.wait_for_function("n => document.querySelectorAll('.lw-msg.lw-bot').length >= n", arg=count,
                                    timeout=timeout)

    def say(self, text: str, replies: int = 1):
        """Type a message, press Enter, wait for `replies` more bot messages."""
        before = self.bots.count()
        self.page.fill(".lw-input", text)
        self.page.press(".lw-input", "Enter")
        if replies:
            self.wait_bots(before + replies)

    def login(self, phone: str):
        self.page.click(".lw-login-link")
        self.page.fill(".lw-phone", phone)
        self.page.click(".lw-code-btn")
        hint = self.page.locator(".lw-demo-code")
        hint.wait_for(state="visible")
        code = hint.inner_text().rsplit("：", 1)[-1].strip()
        assert code.isdigit() and len(code) == 6
        self.page.fill(".lw-code", code)
        self.page.click(".lw-verify-btn")
        self.page.locator(".lw-login-link.lw-bound").wait_for()

    def ids(self) -> list[str]:
        return self.page.eval_on_selector_all(".lw-msg", "els => els.map(e => e.dataset.id || '')")

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name))

    def close(self):
        self.context.close()


@pytest.fixture()
def chat_factory(browser, stack):
    opened: list[Chat] = []

    def _open(**kwargs) -> Chat:
        chat = Chat(browser, stack, **kwargs)
        opened.append(chat)
        return chat

    yield _open
    for chat in opened:
        chat.close()


@pytest.fixture()
def chat(chat_factory) -> Chat:
    return chat_factory()


def tiny_png() -> bytes:
    """A real 1x1 PNG (a different one each call, so uploads are never deduplicated across tests)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixel = uuid.uuid4().bytes[:3]
    raw = b"\x00" + pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
