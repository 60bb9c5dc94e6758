"""The WeChat Official Account channel: `wechat` at /webhooks/wechat/webhook.

GET  /webhooks/wechat/webhook   URL verification (signature checked, echostr returned)
POST /webhooks/wechat/webhook   messages and events, plaintext or safe mode (AES)

Every request's signature and timestamp are checked before its body is read; the body is bounded and parsed
with DTDs refused (protocol.py). The openid (FromUserName) is the conversation's sender id.

WeChat waits 5 seconds for an answer and then retries the same message, three times in all. The first request
for a message claims it in the store (by MsgId; events by FromUserName + CreateTime) and runs the bot; a retry
never runs it again. When the answer is ready within `reply_timeout` (4 s) and fits one message it is the passive
XML reply (a retry that arrives later gets the same reply); otherwise WeChat gets "success" at once and the answer
goes out through the customer-service API (message/custom/send) when it is ready. The same API carries what the
bot says outside a user's turn: an agent's replies during a handoff, arrival notices, the rating question.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import SlotSet
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.messages import BaseMessage

from addons.wechat import protocol, render
from addons.wechat.api import OutsideWindow, WeChatApi, WeChatApiError, fetch_url
from addons.wechat.backend import Backend, BackendUnavailable
from addons.wechat.protocol import Refused
from addons.wechat.settings import WeChatSettings
from addons.wechat.store import MemoryStore, Store, make_store, options_key, options_value

log = logging.getLogger(__name__)

CHANNEL = "wechat"
# Menu buttons (type "click") whose key is one of these intents start that intent (README, "WeChat").
MENU_INTENTS = frozenset({"track_parcel", "urge_delivery", "report_delay", "report_lost", "report_damaged",
                          "signed_not_received", "file_claim", "claim_status", "check_ticket", "change_address",
                          "customs_inquiry", "request_human", "bind_phone"})
SUBSCRIBED_SLOT = "wechat_subscribed"
# Hidden messages the channel sends on the user's behalf (their intents answer them, domain/wechat.yml).
SUBSCRIBE = "/wechat_subscribe"
UNSUPPORTED = "/wechat_unsupported"
PHOTO = "/send_photo"
POLL_SECONDS = 0.05
EVIDENCE_MAX_BYTES = 8 * 1024 * 1024

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Turn:
    text: str
    metadata: Dict[str, Any]


class TurnCollector(OutputChannel):
    """Collects what the bot says in reply to one message (rendered once the turn is over)."""

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.messages.append(dict(message))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.messages.append({"text": text})


class WeChatOutput(OutputChannel):
    """What the bot says outside a user's turn (Rasa's execute with output_channel=latest): customer-service API."""

    def __init__(self, channel: WeChatInput) -> None:
        self.channel = channel

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        await self.channel.deliver(recipient_id, [message])

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.channel.deliver(recipient_id, [{"text": text}])


def dedupe_key(message: BaseMessage) -> str:
    """WeChat's retries of one message carry the same MsgId; events have none, so FromUserName + CreateTime."""
    if message.type == "event" or not message.id:
        return f"evt:{message.source}:{message.time}"
    return f"msg:{message.id}"


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> WeChatInput:
        settings = WeChatSettings.load(credentials=credentials)
        settings.check()
        return cls(settings)

    def __init__(self, settings: WeChatSettings, store: Optional[Store] = None) -> None:
        self.settings = settings
        self.crypto = protocol.crypto_for(settings.token, settings.encoding_aes_key, settings.app_id)
        self.api = WeChatApi(settings.api_base_url, settings.app_id, settings.app_secret)
        self.backend = Backend(settings.backend_url, settings.backend_token)
        self.store: Store = store or make_store(settings.redis_url)
        self._fallback = MemoryStore()
        self._tasks: Set[asyncio.Task] = set()
        log.info("wechat channel: %s mode, API %s, %s store", "safe" if self.crypto else "plaintext",
                 settings.api_base_url, "redis" if settings.redis_url else "in-process")

    def get_output_channel(self) -> OutputChannel:
        return WeChatOutput(self)

    # --- delivery through the customer-service API ---

    async def _remember_options(self, openid: str, rendered: render.Rendered, said_something: bool) -> None:
        try:
            if rendered.options:
                await self.store.put(options_key(openid), options_value(rendered.options), self.settings.options_ttl)
            elif said_something:
                # Only the newest message's choices count (as in the website widget).
                await self.store.delete(options_key(openid))
        except Exception as exc:  # the store being down must not cost the user the answer
            log.error("wechat options store failed: %s", exc)

    async def deliver(self, openid: str, messages: List[Dict[str, Any]]) -> None:
        rendered = render.render_messages(messages)
        await self._remember_options(openid, rendered, bool(rendered.pieces))
        await self.send_pieces(openid, rendered)

    async def send_pieces(self, openid: str, rendered: render.Rendered) -> None:
        for index, piece in enumerate(rendered.pieces):
            try:
                await self.api.send_text(openid, piece)
            except OutsideWindow as exc:
                await self._keep_for_agent(openid, rendered, rendered.pieces[index:], exc)
                return
            except (WeChatApiError, OSError, asyncio.TimeoutError) as exc:
                log.error("wechat custom/send to %s failed (%s); %d piece(s) not delivered", openid, exc,
                          len(rendered.pieces) - index)
                await self._keep_for_agent(openid, rendered, rendered.pieces[index:], exc)
                return
            except Exception:
                log.exception("wechat custom/send to %s failed", openid)
                return

    async def _keep_for_agent(self, openid: str, rendered: render.Rendered, pieces: List[str],
                              exc: Exception) -> None:
        """A message WeChat would not take: an agent's reply goes back to the handoff's outbox (the console shows
        it as not delivered, to send again once the user writes); anything else stays in the tracker and the log."""
        outside = isinstance(exc, OutsideWindow)
        reason = ("用户超过48小时未互动，微信不允许主动发送；用户再次发消息后可重发" if outside
                  else f"微信发送失败：{exc}"[:300])
        kept = False
        for agent_message in rendered.agent_messages:
            if agent_message.get("handoff_id") and agent_message.get("message_id"):
                try:
                    kept = await self.backend.keep_undelivered(int(agent_message["handoff_id"]),
                                                               int(agent_message["message_id"]), reason) or kept
                except BackendUnavailable as error:
                    log.error("could not return agent message %s to the outbox: %s", agent_message, error)
        log.warning("wechat message to %s not delivered (%s)%s: %s", openid,
                    "45015, outside the 48-hour window" if outside else exc,
                    "; kept in the handoff outbox for the agent" if kept
                    else "; it stays in the conversation's tracker",
                    " | ".join(pieces)[:500])

    # --- the webhook ---

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("wechat_webhook", __name__)

        @bp.listener("before_server_stop")
        async def close_connections(_app: Any, _loop: Any) -> None:
            for closeable in (self.api, self.backend, self.store):
                try:
                    await closeable.close()
                except Exception as exc:  # shutting down: nothing left to do about it
                    log.debug("closing %s: %s", type(closeable).__name__, exc)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                protocol.check_request_signature(self.settings.token, _args(request), self.settings.max_clock_skew)
            except Refused as exc:
                log.warning("wechat verification refused: %s", exc.reason)
                return response.text("forbidden", status=exc.status)
            return response.text(request.args.get("echostr") or "")

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            try:
                incoming = await self._verified(request)
            except Refused as exc:
                log.warning("wechat request refused (%s): %s", exc.status, exc.reason)
                return response.text("refused", status=exc.status)
            return await self._answer(request, incoming, on_new_message, started)

        return bp

    async def _verified(self, request: Request) -> protocol.Incoming:
        args = _args(request)
        protocol.check_request_signature(self.settings.token, args, self.settings.max_clock_skew)
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"body of {declared} bytes")
        body = bytearray()
        while True:
            chunk = await request.stream.read()
            if chunk is None:
                break
            body += chunk
            if len(body) > limit:
                raise Refused(413, f"body over {limit} bytes")
        return protocol.parse(bytes(body), args, token=self.settings.token, crypto=self.crypto)

    async def _store(self, operation: str, *args: Any) -> Any:
        """The shared store, or this process's own when it fails (dedupe then holds within this worker)."""
        try:
            return await getattr(self.store, operation)(*args)
        except Exception as exc:
            log.error("wechat store %s failed (%s); using this process's memory", operation, exc)
            return await getattr(self._fallback, operation)(*args)

    async def _answer(self, request: Request, incoming: protocol.Incoming, on_new_message: OnNewMessage,
                      started: float) -> HTTPResponse:
        message = incoming.message
        key = dedupe_key(message)
        deadline = started + self.settings.reply_timeout
        if await self._store("claim", key, {"state": "processing"}, self.settings.dedupe_ttl):
            task = self._spawn(self._process(request, message, key, on_new_message))
            await asyncio.wait({task}, timeout=max(0.0, deadline - time.monotonic()))
        else:
            log.info("wechat retry of %s: not processed again", key)
        state = await self._wait_for_outcome(key, deadline)
        if state is None or state.get("state") == "processing":
            # Too slow for a passive reply: WeChat gets "success" now, the answer follows through custom/send.
            if await self._store("replace", key, "processing", {"state": "async"}, self.settings.dedupe_ttl):
                return response.text("success")
            state = await self._store("get", key) or {}
        if state.get("state") == "done" and state.get("reply"):
            xml = protocol.render_text_reply(state["reply"], message, crypto=self.crypto,
                                             encrypted=incoming.encrypted, nonce=incoming.nonce)
            return response.text(xml, content_type="application/xml")
        return response.text("success")

    async def _wait_for_outcome(self, key: str, deadline: float) -> Optional[Dict[str, Any]]:
        while True:
            state = await self._store("get", key)
            if not isinstance(state, dict) or state.get("state") != "processing":
                return state
            if time.monotonic() >= deadline:
                return state
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    async def _process(self, request: Request, message: BaseMessage, key: str, on_new_message: OnNewMessage) -> None:
        """Run one message through the bot and put the answer where it belongs (passive reply or custom/send)."""
        openid = message.source
        ttl = self.settings.dedupe_ttl
        try:
            turn = await self._turn(request, message)
            if turn is None:
                await self._store("replace", key, "processing", {"state": "done", "reply": ""}, ttl)
                return
            collector = TurnCollector()
            await on_new_message(UserMessage(turn.text, collector, openid, input_channel=CHANNEL,
                                             message_id=None if message.type == "event" else str(message.id),
                                             metadata=turn.metadata))
        except Exception:
            log.exception("wechat message %s could not be processed", key)
            await self._store("replace", key, "processing", {"state": "failed"}, ttl)
            return
        rendered = render.render_messages(collector.messages)
        await self._remember_options(openid, rendered, bool(rendered.pieces))
        if len(rendered.pieces) <= 1:
            reply = rendered.pieces[0] if rendered.pieces else ""
            if await self._store("replace", key, "processing", {"state": "done", "reply": reply}, ttl):
                return
        else:
            # Several pieces: a passive reply carries one, so all go out in order through custom/send.
            await self._store("replace", key, "processing", {"state": "sending"}, ttl)
        # WeChat already has "success" (or is about to get it): the answer goes out without holding the request.
        self._spawn(self._send_late(openid, rendered, key))

    async def _send_late(self, openid: str, rendered: render.Rendered, key: str) -> None:
        await self.send_pieces(openid, rendered)
        await self._store("put", key, {"state": "sent"}, self.settings.dedupe_ttl)

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        # Keep a reference: the event loop holds only weak ones to running tasks.
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- from WeChat's message to the bot's ---

    async def _turn(self, request: Request, message: BaseMessage) -> Optional[Turn]:
        openid = message.source
        meta: Dict[str, Any] = {"wechat": {"msg_type": message.type, "msg_id": message.id,
                                           "create_time": message.time}}
        if message.type == "text":
            return await self._text_turn(openid, message.content or "", meta)
        if message.type == "voice":
            recognition = (getattr(message, "recognition", None) or "").strip()
            meta["wechat"]["media_id"] = message.media_id
            if not recognition:
                return Turn(UNSUPPORTED, {**meta, "display": "[语音]"})
            meta["display"] = recognition
            return await self._text_turn(openid, recognition, meta)
        if message.type == "image":
            return await self._photo_turn(openid, message, meta)
        if message.type == "event":
            return await self._event_turn(request, message, meta)
        # Video, location, link, file...: say what the bot can read.
        return Turn(UNSUPPORTED, {**meta, "display": f"[{message.type}]"})

    async def _text_turn(self, openid: str, text: str, meta: Dict[str, Any]) -> Optional[Turn]:
        text = text.strip()
        if not text:
            return None
        if len(text) > self.settings.max_text_chars:
            log.info("wechat text of %d characters from %s cut to %d", len(text), openid,
                     self.settings.max_text_chars)
            text = text[: self.settings.max_text_chars]
        options = await self._store("get", options_key(openid))
        picked = render.choice(text, options if isinstance(options, list) else None)
        if picked is not None:
            return Turn(picked["payload"], {**meta, "display": picked["title"], "choice": picked["key"]})
        return Turn(text, meta)

    async def _photo_turn(self, openid: str, message: BaseMessage, meta: Dict[str, Any]) -> Turn:
        """Attach the photo to the conversation's open claim (as the website's upload does), then tell the bot."""
        meta["wechat"].update({"pic_url": message.image, "media_id": message.media_id})
        meta["display"] = "[图片]"
        try:
            ticket = await self.backend.ticket_for_photo(openid)
        except BackendUnavailable as exc:
            log.warning("wechat photo of %s: backend unavailable (%s)", openid, exc)
            return Turn(PHOTO, meta)
        if ticket is None:
            return Turn(PHOTO, meta)
        try:
            data, content_type = await self._photo_bytes(message)
            stored = await self.backend.attach_photo(ticket["id"], data, content_type, f"wechat-{message.id}.jpg")
        except Exception as exc:
            log.warning("wechat photo %s of %s not attached: %s", message.id, openid, exc)
            return Turn(PHOTO, meta)
        meta["evidence"] = {"id": stored.get("id"), "ticket_id": ticket["id"]}
        return Turn(PHOTO, meta)

    async def _photo_bytes(self, message: BaseMessage) -> tuple:
        if message.media_id and self.api.configured:
            try:
                return await self.api.media(message.media_id)
            except Exception as exc:
                log.info("wechat media/get of %s failed (%s); trying PicUrl", message.media_id, exc)
        if not message.image:
            raise ValueError("the photo has neither a downloadable MediaId nor a PicUrl")
        return await fetch_url(10.0, message.image, EVIDENCE_MAX_BYTES)

    async def _event_turn(self, request: Request, message: BaseMessage, meta: Dict[str, Any]) -> Optional[Turn]:
        event = (getattr(message, "event", "") or "").lower()
        meta["wechat"]["event"] = event
        if event in ("subscribe", "subscribe_scan"):
            await self._record_subscription(request, message.source, True)
            return Turn(SUBSCRIBE, {**meta, "display": "[关注]"})
        if event == "unsubscribe":
            await self._record_subscription(request, message.source, False)
            return None
        if event == "click":
            key = (getattr(message, "key", "") or "").strip()
            if key in MENU_INTENTS:
                return Turn(f"/{key}", {**meta, "display": f"[菜单] {key}"})
            log.info("wechat menu key %r is not an intent; ignored", key)
        return None

    async def _record_subscription(self, request: Request, openid: str, subscribed: bool) -> None:
        """Keep (un)subscribing in the conversation's tracker (slot wechat_subscribed) and the log."""
        log.info("wechat user %s %s", openid, "subscribed" if subscribed else "unsubscribed")
        agent = getattr(request.app.ctx, "agent", None)
        processor = getattr(agent, "processor", None)
        if processor is None or SUBSCRIBED_SLOT not in {s.name for s in agent.domain.slots}:
            return
        try:
            async with agent.lock_store.lock(openid):
                # With its session started (as a message would start it), so the next message reads as a turn.
                tracker = await processor.fetch_tracker_and_update_session(openid, TurnCollector())
                tracker.update(SlotSet(SUBSCRIBED_SLOT, subscribed))
                await agent.tracker_store.save(tracker)
        except Exception:
            log.exception("could not record the subscription of %s", openid)


def _args(request: Request) -> Dict[str, str]:
    return {name: request.args.get(name) for name in request.args}
