"""Message limits against the running stack (addons/channels.py, addons/tokenizer.py): jieba's time grows with the
square of a message's length on Rasa's event loop, so a long message must be refused before NLU — with a friendly
reply — and a bystander's 「你好」 must be answered as usual while an attacker sends megabytes. Bad REST bodies get
400, never 500. Run with -s to see the bystander's times."""
from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
import requests

from addons.channels import MAX_SENDER_CHARS, load_reply
from addons.limits import max_message_bytes, max_message_chars
from tests.e2e.test_e2e_conversations import fresh, texts

MAX_CHARS = max_message_chars()  # the stack inherits this process's environment
MEGABYTE_TEXT = "我" * 1_000_000  # 1,000,000 characters, 3 MB in UTF-8: the reported attack
SOCKET_TEXT = "我" * 64_000  # 192 KB in UTF-8: the reported socket.io attack
LONG_TEXT = "我" * 5_000  # over the text limit, well within the byte limit: a user who pasted too much
BYSTANDER_BOUND = 5.0  # seconds; 「你好」 takes ~0.1 s on a quiet machine, the attacks took 14 s to 20+ minutes
RASA_TOKEN = "e2e-rasa-token"  # tests/stack.py


def reply(channel: str = "rest") -> str:
    return load_reply(channel, MAX_CHARS)


def post_raw(stack, body: bytes, timeout: float = 60) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", data=body,
                         headers={"Content-Type": "application/json"}, timeout=timeout)


def utf8_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


@contextmanager
def attacking(*attacks: Callable[[], Any]) -> Iterator[list]:
    """Each attack repeated on a thread of its own until the block ends; yields what they returned (or raised)."""
    stop, outcomes = threading.Event(), []

    def repeat(attack: Callable[[], Any]) -> None:
        while not stop.is_set():
            try:
                outcomes.append(attack())
            except Exception as error:  # the test asserts the outcomes
                outcomes.append(error)

    threads = [threading.Thread(target=repeat, args=(attack,), daemon=True) for attack in attacks]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the attacks are in flight before the bystander speaks
    try:
        yield outcomes
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)


def rest_bystander(stack, turns: int = 3) -> float:
    """The slowest of a few 「你好」 turns of new REST users; each must be greeted."""
    slowest = 0.0
    for _ in range(turns):
        started = time.perf_counter()
        answer = texts(stack.say(fresh("bystander"), "你好"))
        slowest = max(slowest, time.perf_counter() - started)
        assert "您好" in answer, answer
    return slowest


class SocketUser:
    """A website visitor on Rasa's socket.io channel (python-socketio client, long-polling as in tests/e2e)."""

    def __init__(self, stack):
        import socketio

        self.received: queue.Queue = queue.Queue()
        self.closed = threading.Event()
        confirmed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self.received.put)
        self.client.on("session_confirm", lambda _: confirmed.set())
        self.client.on("disconnect", self.closed.set)
        self.client.connect(stack.rasa_url, socketio_path="/socket.io", transports=["polling"], wait_timeout=20)
        self.session_id = uuid.uuid4().hex
        self.client.emit("session_request", {"session_id": self.session_id})
        assert confirmed.wait(20), "no session_confirm"

    def say(self, text: str, timeout: float = 30) -> tuple[str, float]:
        """The first bot message's text and how long it took."""
        while not self.received.empty():
            self.received.get_nowait()
        started = time.perf_counter()
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        first = self.received.get(timeout=timeout)
        return first.get("text") or "", time.perf_counter() - started

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def polling_attack(stack, text: str) -> str:
    """Connect over long-polling, send `text`, report whether the server closed the connection."""
    user = SocketUser(stack)
    try:
        user.client.emit("user_uttered", {"message": text, "session_id": user.session_id})
        return "closed" if user.closed.wait(15) else "open"
    finally:
        user.close()


def websocket_attack(stack, text: str) -> str:
    """Send `text` over a WebSocket, speaking Engine.IO 4 / Socket.IO 5 frames directly (python-socketio's own
    WebSocket client needs a newer aiohttp than Rasa 3.6 allows); the reply's text, or how the server closed."""
    websockets = pytest.importorskip("websockets")
    url = stack.rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    session_id = uuid.uuid4().hex

    async def attack() -> str:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # 0{"sid": ..., "maxPayload": ...}
            await ws.send("40")
            await ws.recv()  # 40{"sid": ...}
            await ws.send("42" + json.dumps(["session_request", {"session_id": session_id}]))
            await ws.recv()  # 42["session_confirm", ...]
            try:
                # The server may close (1009, over its frame limit) while the frame is still being sent.
                await ws.send("42" + json.dumps(["user_uttered", {"message": text, "session_id": session_id}],
                                                ensure_ascii=False))
                while True:
                    frame = await asyncio.wait_for(ws.recv(), 30)
                    if frame == "2":
                        await ws.send("3")
                    elif frame.startswith('42["bot_uttered"'):
                        return json.loads(frame[2:])[1].get("text") or ""
            except websockets.ConnectionClosed as closed:
                return f"closed {closed.rcvd.code if closed.rcvd else ''}".strip()

    return asyncio.run(attack())


# --- REST ---


@pytest.mark.parametrize("body", [
    b"[1,2,3]", b'"hello"', b"null", b"", b"   ", b"42", b"true", b"{", b"\xff\xfe\x00", b"[" * 20_000,
    b'{"message": "hi"}', b'{"sender": 1, "message": "hi"}', b'{"sender": null, "message": "hi"}',
    b'{"sender": "", "message": "hi"}', b'{"sender": ["x"], "message": "hi"}',
    b'{"sender": "x"}', b'{"sender": "x", "message": null}', b'{"sender": "x", "message": 5}',
    b'{"sender": "x", "message": {"text": "hi"}}', b'{"sender": "x", "message": "hi", "metadata": [1]}',
    b'{"sender": "x", "message": "hi", "input_channel": "wechat"}',
    utf8_json({"sender": "x" * (MAX_SENDER_CHARS + 1), "message": "hi"}),
], ids=lambda body: body[:40].decode("utf-8", "replace") or "empty")
def test_a_bad_rest_body_gets_400_with_a_readable_message(stack, body):
    response = post_raw(stack, body, timeout=30)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert isinstance(answer["error"], str) and answer["error"]
    assert isinstance(answer["message"], str) and len(answer["message"]) > 10


def test_a_good_body_still_works_with_metadata_and_the_rest_channel_named(stack):
    body = utf8_json({"sender": fresh(), "message": "你好", "metadata": {"k": "v"}, "input_channel": "rest"})
    response = post_raw(stack, body, timeout=30)
    assert response.status_code == 200
    assert "您好" in texts(response.json())


def test_a_long_text_gets_the_friendly_reply_and_never_reaches_the_dialogue(stack):
    sender = fresh("long")
    messages = stack.say(sender, LONG_TEXT)
    assert messages == [{"recipient_id": sender, "text": reply()}]
    assert f"超过{MAX_CHARS}字" in reply() and "{" not in reply()
    tracker = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": RASA_TOKEN},
                           timeout=10).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    # The same user is answered normally right after.
    assert "您好" in texts(stack.say(sender, "你好"))


def test_a_text_at_the_limit_is_read(stack):
    text = ("我的快递到哪了" * MAX_CHARS)[:MAX_CHARS]
    messages = stack.say(fresh("limit"), text)
    assert messages and reply() not in texts(messages)


def test_a_megabyte_over_rest_is_refused_while_a_bystander_chats(stack):
    quiet = rest_bystander(stack)
    body = utf8_json({"sender": fresh("attacker"), "message": MEGABYTE_TEXT})
    assert len(body) > 3_000_000

    def attack() -> tuple[int, dict, float]:
        started = time.perf_counter()
        response = post_raw(stack, body)
        return response.status_code, response.json(), time.perf_counter() - started

    with attacking(attack, attack) as outcomes:
        slowest = rest_bystander(stack, turns=5)
    print(f"\nREST: bystander 「你好」 slowest of 5 turns {slowest:.3f} s under two threads posting "
          f"{len(body):,}-byte bodies ({len(outcomes)} sent); {quiet:.3f} s without the attack")
    assert slowest < BYSTANDER_BOUND
    assert outcomes and not [o for o in outcomes if isinstance(o, Exception)], outcomes[:3]
    for status, answer, elapsed in outcomes:
        assert status == 413
        assert answer["error"] == "payload_too_large" and answer["message"] == reply()
        assert answer["max_bytes"] == max_message_bytes(MAX_CHARS)
        assert elapsed < BYSTANDER_BOUND


def test_model_parse_reads_only_the_limit_while_a_bystander_chats(stack):
    """Rasa's own HTTP API bypasses the channels: the tokenizer cuts the text (defence in depth)."""

    def attack() -> tuple[int, int, float]:
        started = time.perf_counter()
        response = requests.post(f"{stack.rasa_url}/model/parse", params={"token": RASA_TOKEN},
                                 json={"text": MEGABYTE_TEXT}, timeout=120)
        return response.status_code, len(response.json()["text"]), time.perf_counter() - started

    with attacking(attack) as outcomes:
        slowest = rest_bystander(stack)
    print(f"\n/model/parse: bystander 「你好」 slowest of 3 turns {slowest:.3f} s under 1,000,000-character "
          f"parses ({len(outcomes)} sent)")
    assert slowest < BYSTANDER_BOUND
    assert outcomes and not [o for o in outcomes if isinstance(o, Exception)], outcomes[:3]
    assert all(status == 200 and read == MAX_CHARS for status, read, _ in outcomes)


# --- socket.io ---


def test_a_long_text_over_socketio_gets_the_friendly_reply(stack):
    user = SocketUser(stack)
    try:
        text, _ = user.say(LONG_TEXT)
        assert text == reply("socketio")
        greeting, _ = user.say("你好")
        assert "您好" in greeting
    finally:
        user.close()
    # Over a WebSocket the 64,000 characters fit the transport's limit (Engine.IO counts characters there) and
    # meet the text limit.
    assert websocket_attack(stack, SOCKET_TEXT) == reply("socketio")


def test_a_megabyte_over_socketio_is_refused_while_a_bystander_chats(stack):
    bystander = SocketUser(stack)
    try:
        _, quiet = bystander.say("你好")
        attacks = (lambda: polling_attack(stack, MEGABYTE_TEXT), lambda: polling_attack(stack, SOCKET_TEXT),
                   lambda: websocket_attack(stack, MEGABYTE_TEXT))
        with attacking(*attacks) as outcomes:
            times = []
            for _ in range(5):
                greeting, elapsed = bystander.say("你好")
                assert "您好" in greeting, greeting
                times.append(elapsed)
                time.sleep(0.2)
    finally:
        bystander.close()
    print(f"\nsocket.io: bystander 「你好」 slowest of 5 turns {max(times):.3f} s while attackers sent 1,000,000 and "
          f"64,000 characters over long-polling and 1,000,000 over a WebSocket ({len(outcomes)} sent); "
          f"{quiet:.3f} s without the attack")
    assert max(times) < BYSTANDER_BOUND
    assert not [o for o in outcomes if isinstance(o, Exception)], [o for o in outcomes if isinstance(o, Exception)][:3]
    # Long-polling: Engine.IO refuses the POST (over max_http_buffer_size) and closes the connection; WebSocket:
    # the frame is over the limit (Sanic closes with 1009, message too big).
    assert "closed" in outcomes and "open" not in outcomes
    assert any(o.startswith("closed 1009") for o in outcomes if o != "closed")
