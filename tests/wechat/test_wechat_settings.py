"""The channel's settings (addons/wechat/settings.py): the environment, credentials.yml over it, demo refusals."""
from __future__ import annotations

import pytest

from addons.wechat.settings import DEMO_TOKEN, WECHAT_API, WeChatSettings


def test_defaults_are_the_demo_and_weixins_api():
    settings = WeChatSettings.load(env={"DEMO_MODE": "true"})
    assert settings.token == DEMO_TOKEN and settings.api_base_url == WECHAT_API and settings.redis_url == ""
    settings.check()


def test_the_demo_token_is_refused_outside_demo_mode():
    with pytest.raises(ValueError, match="demo default"):
        WeChatSettings.load(env={}).check()
    WeChatSettings.load(env={"WECHAT_TOKEN": "a-real-token"}).check()


def test_environment_then_credentials():
    env = {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wx1", "WECHAT_API_BASE_URL": "http://127.0.0.1:9/",
           "REDIS_HOST": "redis.internal", "WECHAT_REPLY_TIMEOUT": "3.5"}
    settings = WeChatSettings.load(env=env, credentials={"app_id": "wx2", "token": None})
    assert (settings.token, settings.app_id, settings.api_base_url) == ("t", "wx2", "http://127.0.0.1:9")
    assert settings.redis_url == "redis://redis.internal:6379/2" and settings.reply_timeout == 3.5
    assert WeChatSettings.load(env={**env, "REDIS_URL": "redis://r:1/0"}).redis_url == "redis://r:1/0"


@pytest.mark.parametrize("timeout", ["0", "5", "7.5"])
def test_a_passive_window_wechat_would_not_wait_for_is_refused(timeout):
    with pytest.raises(ValueError, match="WECHAT_REPLY_TIMEOUT"):
        WeChatSettings.load(env={"WECHAT_TOKEN": "t", "WECHAT_REPLY_TIMEOUT": timeout}).check()
