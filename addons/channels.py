"""Rasa's REST and socket.io input channels with limits, so one message cannot stall every conversation.

Registered in credentials.yml by module path; the names stay `rest` and `socketio`, so the webhook URL
(/webhooks/rest/webhook), the socket.io path, the tracker's input channel (customer bindings, `output_channel=latest`)
and the widget are unchanged.

- A text longer than MAX_MESSAGE_CHARS characters (default 1,000; addons/limits.py) is refused before NLU: the user
  gets the response `utter_message_too_long` (domain/channels.yml, read once at start-up, so no model is needed)
  and nothing reaches NLU, the dialogue or the tracker store. Refused rather than truncated: an answer to half a
  message (a claim opened from its first paragraph) is worse than asking for the point, and a customer's point
  (a tracking number, "where is it", "it is broken") fits in a few lines.
- REST: a body over MAX_MESSAGE_BYTES (default 64 KiB) is answered 413 before any JSON parsing; a body that is not
  a JSON object with a string `sender` and a string `message` is answered 400 with `{"error", "message"}`,
  never 500.
- socket.io: Engine.IO refuses a packet or long-polling POST over MAX_MESSAGE_BYTES (`max_http_buffer_size`, also
  announced to clients as `maxPayload`) and closes that connection; a `user_uttered` or `session_request` of the
  wrong shape is ignored with a warning instead of raising inside the server.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Sequence

import yaml
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.limits import max_message_bytes, max_message_chars

logger = logging.getLogger(__name__)

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain" / "channels.yml"
TOO_LONG_RESPONSE = "utter_message_too_long"
# Rasa's SQL tracker store keeps sender ids in a VARCHAR(255).
MAX_SENDER_CHARS = 255
REST_USAGE = 'send a JSON object {"sender": "<conversation id>", "message": "<text>"}'
JSON_KINDS = {list: "a JSON array", str: "a JSON string", int: "a JSON number", float: "a JSON number",
              bool: "a JSON boolean", type(None): "JSON null"}

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def load_reply(channel: str, max_chars: int, path: Path = DOMAIN_FILE) -> str:
    """The text of `utter_message_too_long` for this channel (a variation for the channel first, else the first
    one without a channel), with {max_chars} filled in."""
    try:
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ValueError(f"cannot read the response {TOO_LONG_RESPONSE} from {path}: {error}") from None
    variations = [v for v in (domain.get("responses") or {}).get(TOO_LONG_RESPONSE) or []
                  if isinstance(v, dict) and isinstance(v.get("text"), str) and v["text"].strip()]
    chosen = ([v for v in variations if v.get("channel") == channel]
              or [v for v in variations if not v.get("channel")])
    if not chosen:
        raise ValueError(f"{path} has no text for the response {TOO_LONG_RESPONSE}")
    return chosen[0]["text"].replace("{max_chars}", str(max_chars))


@dataclass(frozen=True)
class MessageLimits:
    max_chars: int
    max_bytes: int
    reply: str

    @classmethod
    def load(cls, channel: str) -> MessageLimits:
        """From the environment and the domain, at start-up (a bad setting stops Rasa with a clear error)."""
        chars = max_message_chars()
        return cls(max_chars=chars, max_bytes=max_message_bytes(chars), reply=load_reply(channel, chars))

    def too_long(self, text: Any) -> bool:
        return isinstance(text, str) and len(text) > self.max_chars

    def guard(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """`on_new_message` for texts within the limit; the friendly reply, and nothing else, for longer ones."""

        async def handle(message: UserMessage) -> None:
            if self.too_long(message.text):
                logger.warning("Refused a message of %d characters (limit %d) from %s on %s",
                               len(message.text), self.max_chars, message.sender_id, message.input_channel)
                await message.output_channel.send_text_message(message.sender_id, self.reply)
                return
            await on_new_message(message)

        return handle


def _error(status: int, code: str, message: str, **extra: Any) -> HTTPResponse:
    return response.json({"error": code, "message": message, **extra}, status=status)


class LimitedRestInput(RestInput):
    """The `rest` channel: bodies checked and capped, long texts refused (module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> LimitedRestInput:
        return cls()

    def __init__(self, limits: Optional[MessageLimits] = None) -> None:
        self.limits = limits or MessageLimits.load(self.name())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = super().blueprint(self.limits.guard(on_new_message))

        @webhook.on_request
        async def check_body(request: Request) -> Optional[HTTPResponse]:
            # The blueprint's only POST route is /webhook; its GET / health check passes.
            return self.check_body(request) if request.method == "POST" else None

        return webhook

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        """The client address as the server saw it (the backend's per-address phone-tail lock counts it);
        remote_addr when Sanic is configured to trust a proxy's forwarded header, else the peer."""
        given = super().get_metadata(request)
        return {**(given if isinstance(given, dict) else {}), "client_address": (request.remote_addr or request.ip
                                                                                  or "")[:64]}

    def check_body(self, request: Request) -> Optional[HTTPResponse]:
        """None when the body is fine (it is then parsed once, here); else the 400 or 413 answer."""
        body = request.body or b""
        if len(body) > self.limits.max_bytes:
            logger.warning("Refused a REST body of %d bytes (limit %d)", len(body), self.limits.max_bytes)
            return _error(413, "payload_too_large", self.limits.reply, max_bytes=self.limits.max_bytes,
                          max_chars=self.limits.max_chars)
        if not body.strip():
            return _error(400, "empty_body", f"The body is empty: {REST_USAGE}.")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _error(400, "invalid_json", f"The body is not valid UTF-8 JSON: {REST_USAGE}.")
        if not isinstance(payload, dict):
            kind = JSON_KINDS.get(type(payload), "JSON")
            return _error(400, "not_an_object", f"The body is {kind}, not an object: {REST_USAGE}.")
        sender = payload.get("sender")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
            return _error(400, "invalid_sender",
                          f"`sender` must be a non-empty string of at most {MAX_SENDER_CHARS} characters: "
                          f"{REST_USAGE}.")
        if not isinstance(payload.get("message"), str):
            return _error(400, "invalid_message", f"`message` must be a string: {REST_USAGE}.")
        if payload.get("metadata") is not None and not isinstance(payload["metadata"], dict):
            return _error(400, "invalid_metadata", "`metadata`, when given, must be a JSON object.")
        # Rasa lets a REST body name any input channel; customers are bound per channel (DESIGN.md), so a REST
        # caller must not pass for a socket.io or WeChat user.
        if payload.get("input_channel") not in (None, self.name()):
            return _error(400, "invalid_input_channel",
                          f"`input_channel` cannot be set over REST; messages here are `{self.name()}` messages.")
        request.parsed_json = payload  # RestInput reads request.json: no second parse
        return None


class LimitedSocketIOInput(SocketIOInput):
    """The `socketio` channel (same settings in credentials.yml) with payload limits (module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, limits: Optional[MessageLimits] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or MessageLimits.load(self.name())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = super().blueprint(self.limits.guard(on_new_message))
        sio = self.sio
        # Enforced by Engine.IO on long-polling POSTs and WebSocket frames alike, and sent to clients as maxPayload.
        sio.eio.max_http_buffer_size = self.limits.max_bytes
        handlers = sio.handlers[self.namespace or "/"]
        rasa_message, rasa_session_request = handlers[self.user_message_evt], handlers["session_request"]

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, *args: Any) -> None:
            problem = self.message_problem(args)
            if problem:
                logger.warning("Ignored a socket.io %s from %s: %s", self.user_message_evt, sid, problem)
                return
            await rasa_message(sid, args[0])

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, *args: Any) -> None:
            data = args[0] if args else None
            if data is not None and not isinstance(data, dict):
                problem = "the payload is not an object"
            else:
                problem = _session_id_problem((data or {}).get("session_id"))
            if problem:
                logger.warning("Ignored a socket.io session_request from %s: %s", sid, problem)
                return
            await rasa_session_request(sid, data)

        return webhook

    def message_problem(self, args: Sequence[Any]) -> Optional[str]:
        """Why Rasa's handler would fail on this `user_uttered` (None when it would not)."""
        if len(args) != 1 or not isinstance(args[0], dict):
            return "the payload is not one object"
        data = args[0]
        if not isinstance(data.get("message", ""), str):
            return "`message` is not a string"
        problem = _session_id_problem(data.get("session_id"))
        if problem:
            return problem
        metadata = data.get(self.metadata_key)
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except (ValueError, RecursionError):
                return "`metadata` is a string but not JSON"
        if metadata is not None and not isinstance(metadata, dict):
            return "`metadata` is not an object"
        return None


def _session_id_problem(session_id: Any) -> Optional[str]:
    if session_id is None or (isinstance(session_id, str) and len(session_id) <= MAX_SENDER_CHARS):
        return None  # a missing one: Rasa makes one (session_request) or ignores the message with a warning
    return f"`session_id` is not a string of at most {MAX_SENDER_CHARS} characters"
