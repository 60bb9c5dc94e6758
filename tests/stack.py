"""The whole assistant as it runs in production: backend, action server and Rasa server as real processes
on free ports, over a seeded SQLite database of their own. Started once per test session and shared by the
end-to-end conversation tests (tests/e2e) and the browser tests (tests/browser); tests/conftest.py exposes it."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.wechat.fake_api import FakeWeChatApi

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, deadline: float, procs: list) -> None:
    while time.time() < deadline:
        for name, proc, log in procs[-3:]:
            if proc.poll() is not None and name != "backend":
                raise RuntimeError(f"{name} exited early:\n{Path(log).read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not healthy in time")


# Every bot reply the end-to-end and browser tests receive is scanned: a full mobile number is a failure.
FULL_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
REPLIES_SCANNED = {"replies": 0, "full_phones": 0}


def check_no_full_phone(messages: list[dict]) -> None:
    for message in messages:
        text = json.dumps(message, ensure_ascii=False)
        REPLIES_SCANNED["replies"] += 1
        found = FULL_PHONE.findall(text)
        if found:
            REPLIES_SCANNED["full_phones"] += len(found)
            raise AssertionError(f"a reply quotes a full mobile number {found}: {text[:300]}")


class Stack:
    def __init__(self, rasa_url: str, backend_url: str, token: str, start_backend=None, work: Path | None = None):
        self.rasa_url = rasa_url
        self.work = work
        self.backend_url = backend_url
        self.token = token
        self._start_backend = start_backend
        self.backend = None

    def stop_backend(self) -> None:
        """Take the backend down (as an outage would) while Rasa and the action server keep running."""
        os.killpg(self.backend.pid, signal.SIGTERM)
        self.backend.wait(timeout=15)

    def start_backend(self) -> None:
        self.backend = self._start_backend()
        _wait(f"{self.backend_url}/health", time.time() + 60, [])

    def tickets(self, tracking_number: str) -> list[dict]:
        response = requests.get(f"{self.backend_url}/api/v1/tickets", params={"tracking_number": tracking_number},
                                headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        return response.json()["tickets"]

    def say(self, sender: str, text: str) -> list[dict]:
        """One user turn over the REST channel; the bot's messages (each checked for full mobile numbers)."""
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=30)
        response.raise_for_status()
        messages = response.json()
        check_no_full_phone(messages)
        return messages

    def stop_actions(self) -> None:
        """Take the action server down while Rasa and the backend keep running."""
        os.killpg(self.actions.pid, signal.SIGTERM)
        self.actions.wait(timeout=15)

    def start_actions(self) -> None:
        self.actions = self._start_actions()
        _wait(f"{self.actions_url}/health", time.time() + 60, [])


def newest_model() -> Path | None:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if newest_model() is None:
        pytest.skip("no trained model in models/ (make test trains one before pytest)")
    with start_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@contextmanager
def start_stack(work: Path) -> Iterator[Stack]:
    """Start the three processes over a fresh seeded database in `work`; stop them afterwards."""
    model = newest_model()
    if model is None:
        raise RuntimeError("no trained model in models/")
    ports = {"BACKEND_PORT": _free_port(), "ACTIONS_PORT": _free_port(), "RASA_PORT": _free_port()}
    # The WeChat channel talks to a local fake of WeChat's API (access token, custom/send, media).
    wechat = FakeWeChatApi().start()
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DATABASE_URL": f"sqlite:///{work / 'logistics.db'}",
           "LOGISTICS_API_TOKEN": "e2e-token",
           "RASA_URL": f"http://127.0.0.1:{ports['RASA_PORT']}", "RASA_TOKEN": "e2e-rasa-token",
           "BACKEND_URL": f"http://127.0.0.1:{ports['BACKEND_PORT']}",
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['ACTIONS_PORT']}/webhook",
           "TRACKER_DB": str(work / "tracker.db"),
           "ACTION_SERVER_TOKEN": "e2e-action-token", "DEMO_MODE": "true",
           "WECHAT_API_BASE_URL": wechat.url, "WECHAT_TOKEN": "e2e-wechat-token", "WECHAT_APP_ID": "wxe2e",
           "WECHAT_APP_SECRET": "e2e-wechat-secret",
           "SEED_SHIPMENTS": "400",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, "-m", "logistics", "init"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    commands = {
        "backend": [sys.executable, "-m", "logistics", "serve"],
        "actions": [sys.executable, "-m", "actions.server", "--port", str(ports["ACTIONS_PORT"])],
        "rasa": [str(VENV_BIN / "rasa"), "run", "--enable-api", "--auth-token", "e2e-rasa-token",
                 "--port", str(ports["RASA_PORT"]), "--cors", "*",
                 "--credentials", "credentials.yml", "--endpoints", "endpoints.yml", "--model", str(model)],
    }
    procs = []

    def start(name: str) -> subprocess.Popen:
        log = work / f"{name}.log"
        proc = subprocess.Popen(commands[name], cwd=ROOT, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append((name, proc, log))
        return proc

    try:
        backend = start("backend")
        start("actions")
        start("rasa")
        # Loading the model takes ~30 s on an idle machine; a busy shared one needs far longer.
        deadline = time.time() + float(os.environ.get("STACK_START_TIMEOUT") or 180)
        _wait(f"http://127.0.0.1:{ports['BACKEND_PORT']}/health", deadline, procs)
        _wait(f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health", deadline, procs)
        _wait(f"http://127.0.0.1:{ports['RASA_PORT']}/", deadline, procs)
        stack = Stack(f"http://127.0.0.1:{ports['RASA_PORT']}", f"http://127.0.0.1:{ports['BACKEND_PORT']}",
                      "e2e-token", start_backend=lambda: start("backend"), work=work)
        stack.backend = backend
        stack.actions = procs[1][1]
        stack.actions_url = f"http://127.0.0.1:{ports['ACTIONS_PORT']}"
        stack._start_actions = lambda: start("actions")
        stack.action_token = env["ACTION_SERVER_TOKEN"]
        stack.rasa_token = env["RASA_TOKEN"]
        stack.wechat, stack.wechat_token = wechat, env["WECHAT_TOKEN"]
        yield stack
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        wechat.stop()
