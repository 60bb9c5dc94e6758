"""The WeChat API client (addons/wechat/api.py) against the local fake WeChat server: one token fetch however many
messages arrive, refresh before expiry, 40001 refreshed once and retried, 45015 raised for the caller."""
from __future__ import annotations

import asyncio
import time

import pytest

from addons.wechat.api import OutsideWindow, WeChatApi, WeChatApiError
from tests.wechat.fake_api import PNG, FakeWeChatApi
from tests.wechat.sender import openid


@pytest.fixture()
def fake():
    server = FakeWeChatApi(token_delay=0.2).start()
    yield server
    server.stop()


def run(coroutine_factory):
    async def main():
        api = coroutine_factory.api
        try:
            return await coroutine_factory()
        finally:
            await api.close()
    return asyncio.run(main())


def client(fake: FakeWeChatApi, **kwargs) -> WeChatApi:
    return WeChatApi(fake.url, "wx-app", "secret", **kwargs)


def test_fifty_messages_at_once_fetch_the_token_once(fake):
    api = client(fake)
    users = [openid() for _ in range(50)]

    async def send_all():
        await asyncio.gather(*(api.send_text(user, f"第{i}条") for i, user in enumerate(users)))
    send_all.api = api
    run(send_all)
    assert fake.token_requests == 1
    assert len(fake.sent) == 50 and {a["token"] for a in fake.send_attempts} == {"TOKEN-1"}


def test_the_token_is_refreshed_before_it_expires_once(fake):
    fake.expires_in = 2  # refreshed after 1 s (half the lifetime at most)
    api = client(fake)
    user = openid()

    async def later():
        await api.send_text(user, "一")
        await asyncio.sleep(1.2)
        await asyncio.gather(*(api.send_text(user, "二") for _ in range(10)))
    later.api = api
    run(later)
    assert fake.token_requests == 2
    assert {a["token"] for a in fake.send_attempts} == {"TOKEN-1", "TOKEN-2"}


def test_an_invalid_token_is_refreshed_once_and_the_message_retried(fake):
    api = client(fake)
    users = [openid() for _ in range(5)]

    async def revoked():
        await api.send_text(users[0], "先拿到令牌")
        fake.invalidate_token()  # WeChat answers 40001 from now on for TOKEN-1
        await asyncio.gather(*(api.send_text(user, "令牌失效后") for user in users))
    revoked.api = api
    run(revoked)
    assert fake.token_requests == 2  # five 40001s, one new token
    for user in users:
        assert "令牌失效后" in fake.messages_to(user)


def test_outside_the_48_hour_window_is_raised_not_retried(fake):
    api = client(fake)
    user = openid()
    fake.outside_window.add(user)

    async def late():
        await api.send_text(user, "您好，人工客服回复")
    late.api = api
    with pytest.raises(OutsideWindow) as raised:
        run(late)
    assert raised.value.errcode == 45015
    assert len([a for a in fake.send_attempts if a["touser"] == user]) == 1


def test_media_downloads_a_users_photo(fake):
    api = client(fake)

    async def download():
        return await api.media("media-1")
    download.api = api
    data, content_type = run(download)
    assert data == PNG and content_type == "image/png"


def test_missing_app_credentials_are_an_error_not_a_hang(fake):
    api = WeChatApi(fake.url, "", "")

    async def send():
        await api.send_text(openid(), "x")
    send.api = api
    started = time.time()
    with pytest.raises(WeChatApiError):
        run(send)
    assert time.time() - started < 1 and fake.token_requests == 0
