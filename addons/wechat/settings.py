"""The WeChat channel's settings: the environment (see .env.example), then what credentials.yml gives."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

DEMO_TOKEN = "dev-wechat-token"
WECHAT_API = "https://api.weixin.qq.com"


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _redis_from_host(env: Mapping[str, str]) -> str:
    """The production lock store's Redis (REDIS_HOST, REDIS_PORT; endpoints.production.yml), database 2."""
    host = (env.get("REDIS_HOST") or "").strip()
    return f"redis://{host}:{(env.get('REDIS_PORT') or '6379').strip()}/2" if host else ""


@dataclass(frozen=True)
class WeChatSettings:
    token: str = DEMO_TOKEN
    app_id: str = ""
    app_secret: str = ""
    # Safe mode (AES) when set: the 43 characters of the console's EncodingAESKey.
    encoding_aes_key: str = ""
    api_base_url: str = WECHAT_API
    # Shared dedupe and options state for several Rasa workers or replicas (REDIS_URL, else the lock store's
    # REDIS_HOST); in-process when neither is set.
    redis_url: str = ""
    # WeChat waits 5 s for a passive reply; answers later than this go through the customer-service API.
    reply_timeout: float = 4.0
    # Requests whose timestamp is further than this from now are refused (replays).
    max_clock_skew: int = 300
    # WeChat's messages are a few KB; anything larger is refused before it is parsed.
    max_body_bytes: int = 64 * 1024
    # Longer texts are cut before NLU (tokenisation cost grows with the square of the length).
    max_text_chars: int = 1000
    backend_url: str = "http://127.0.0.1:8000"
    backend_token: str = "dev-token"
    # How long a message id stays remembered (WeChat retries within ~15 s) and numbered options stay valid.
    dedupe_ttl: int = 600
    options_ttl: int = 1800
    demo_mode: bool = False

    @classmethod
    def load(cls, env: Optional[Mapping[str, str]] = None,
             credentials: Optional[Dict[str, Any]] = None) -> WeChatSettings:
        env = os.environ if env is None else env
        given = {k: v for k, v in (credentials or {}).items() if v not in (None, "")}

        def pick(key: str, name: str, default: str) -> str:
            return str(given.get(key) or env.get(name) or default).strip()

        port = env.get("BACKEND_PORT") or "8000"
        return cls(
            token=pick("token", "WECHAT_TOKEN", DEMO_TOKEN),
            app_id=pick("app_id", "WECHAT_APP_ID", ""),
            app_secret=pick("app_secret", "WECHAT_APP_SECRET", ""),
            encoding_aes_key=pick("encoding_aes_key", "WECHAT_ENCODING_AES_KEY", ""),
            api_base_url=pick("api_base_url", "WECHAT_API_BASE_URL", WECHAT_API).rstrip("/"),
            redis_url=pick("redis_url", "REDIS_URL", _redis_from_host(env)),
            reply_timeout=float(pick("reply_timeout", "WECHAT_REPLY_TIMEOUT", "4.0")),
            max_clock_skew=int(pick("max_clock_skew", "WECHAT_MAX_CLOCK_SKEW", "300")),
            max_body_bytes=int(pick("max_body_bytes", "WECHAT_MAX_BODY_BYTES", str(64 * 1024))),
            max_text_chars=int(pick("max_text_chars", "MAX_MESSAGE_CHARS", "1000")),
            backend_url=pick("backend_url", "BACKEND_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            backend_token=pick("backend_token", "LOGISTICS_API_TOKEN", "dev-token"),
            demo_mode=_truthy(env.get("DEMO_MODE")),
        )

    def check(self) -> None:
        """Refuse settings that cannot work or must not run in production."""
        if not self.token:
            raise ValueError("WECHAT_TOKEN must not be empty")
        if self.token == DEMO_TOKEN and not self.demo_mode:
            raise ValueError("WECHAT_TOKEN is the demo default; set the token of your official account "
                             "(or DEMO_MODE=true for a demo)")
        if not 0 < self.reply_timeout < 5:
            raise ValueError("WECHAT_REPLY_TIMEOUT must be between 0 and 5 seconds (WeChat waits 5 s)")
