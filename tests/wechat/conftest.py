"""Fixtures of the WeChat channel tests: the fake WeChat API, the channel served by Sanic (tests/wechat/stub_app.py)
in processes of their own, and a Redis server when one is installed."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest
import requests

from tests.support import TOKEN
from tests.wechat.fake_api import FakeWeChatApi
from tests.wechat.sender import AES_KEY, APP_ID, WeChatServer

ROOT = Path(__file__).resolve().parents[2]
WECHAT_TOKEN = "test-wechat-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChannelServer:
    def __init__(self, base: str, log: Path, server: WeChatServer):
        self.base = base
        self.log = log
        self.wechat = server

    @property
    def webhook(self) -> str:
        return f"{self.base}/webhooks/wechat/webhook"

    def processed(self, sender: Optional[str] = None) -> list:
        found = requests.get(f"{self.base}/stub/processed", timeout=5).json()
        return [m for m in found if sender is None or m["sender_id"] == sender]

    def push(self, sender: str, message: dict) -> None:
        requests.post(f"{self.base}/stub/push", json={"sender": sender, "message": message}, timeout=15)


@contextmanager
def channel_server(tmp: Path, env: Dict[str, str], aes_key: Optional[str] = None) -> Iterator[ChannelServer]:
    port = free_port()
    log = tmp / f"channel-{port}.log"
    full_env = {**os.environ, "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": "secret",
                "WECHAT_ENCODING_AES_KEY": aes_key or "", "DEMO_MODE": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONWARNINGS": "ignore", **env}
    proc = subprocess.Popen([sys.executable, "-m", "tests.wechat.stub_app", "--port", str(port)], cwd=ROOT,
                            env=full_env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the channel server exited:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{base}/webhooks/wechat/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"the channel server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield ChannelServer(base, log, WeChatServer(f"{base}/webhooks/wechat/webhook", WECHAT_TOKEN, aes_key))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeWeChatApi]:
    fake = FakeWeChatApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def channel(fake_api, backend_url, tmp_path_factory) -> Iterator[ChannelServer]:
    """The channel in plaintext mode, a passive-reply window of 1.5 s (so slow answers are quick to test)."""
    env = {"WECHAT_API_BASE_URL": fake_api.url, "BACKEND_URL": backend_url, "LOGISTICS_API_TOKEN": TOKEN,
           "WECHAT_REPLY_TIMEOUT": "1.5", "WECHAT_MAX_BODY_BYTES": str(16 * 1024)}
    with channel_server(tmp_path_factory.mktemp("wechat"), env) as server:
        yield server


@pytest.fixture(scope="module")
def safe_channel(fake_api, backend_url, tmp_path_factory) -> Iterator[ChannelServer]:
    """The channel in safe mode (AES)."""
    env = {"WECHAT_API_BASE_URL": fake_api.url, "BACKEND_URL": backend_url, "LOGISTICS_API_TOKEN": TOKEN,
           "WECHAT_REPLY_TIMEOUT": "1.5"}
    with channel_server(tmp_path_factory.mktemp("wechat-safe"), env, aes_key=AES_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A Redis server of its own on a free port (skipped when redis-server is not installed)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
