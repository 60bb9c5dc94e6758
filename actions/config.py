"""The action server's settings: the only place in this process that reads the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class ActionSettings:
    backend_url: str
    api_token: str
    connect_timeout: float
    read_timeout: float
    retries: int


def load(env: Mapping[str, str] | None = None) -> ActionSettings:
    """Settings from the environment with the demo defaults of .env.example."""
    env = os.environ if env is None else env
    port = env.get("BACKEND_PORT") or "8000"
    return ActionSettings(
        backend_url=(env.get("BACKEND_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        api_token=env.get("LOGISTICS_API_TOKEN") or "dev-token",
        # Rasa waits up to 300 s for an action; users do not. Keep every call short and bounded.
        connect_timeout=float(env.get("BACKEND_CONNECT_TIMEOUT") or 1.0),
        read_timeout=float(env.get("BACKEND_READ_TIMEOUT") or 3.0),
        retries=int(env.get("BACKEND_RETRIES") or 2),
    )
