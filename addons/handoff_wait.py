"""Waiting for a human is never silence: what Rasa does with a user message while the conversation is paused for a
handoff (installed into Rasa's MessageProcessor by addons/rasa_patches.py).

Rasa 3.6 logs such a message and runs nothing, so the user heard nothing until an agent closed the handoff. Here
the message (already logged on the tracker, where the agent console reads it) is posted to the backend,
POST /api/v1/handoffs/waiting (logistics/handoffs/waiting.py), which records it for the agent and decides the
answer — the handoff side, never the bot's NLU. Rasa renders the response it names (domain/handoff_wait.yml) with
its own NLG and the values given, and sends it on the user's channel:

- wait: the place in the queue and a rough wait; the first message after an agent took the conversation gets a
  short acknowledgement, later ones none (the agent answers them). Replies of the agent that never reached the
  user are delivered with it, and on rest and cmdline (`rasa shell`), where only the answer to a request reaches
  the user, the agent's replies relayed since the user's previous message are repeated in this answer (socket.io
  and WeChat had them pushed already).
- resume: the wait ended (算了 / 不转了 / 取消…, a wait past the limit, or the handoff ended meanwhile): the tracker is
  resumed and the user told why; the bot answers the next message.
- /restart: the backend ends the handoff, Rasa's action_restart restarts the conversation and the user is told.

The events logged are those of action_handoff_wait (the action the backend runs when a wait expires while the user
is silent) followed by its response, as data/rules/handoff_wait.yml describes them. When the backend cannot be
reached the user is told their message is kept (utter_handoff_wait_recorded: the agent reads it from the tracker).

Settings from the environment, as the action server's: BACKEND_URL (default http://127.0.0.1:$BACKEND_PORT) and
LOGISTICS_API_TOKEN.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Dict, List, Optional

log = logging.getLogger(__name__)

ROUTE = "/api/v1/handoffs/waiting"
ACTION_NAME = "action_handoff_wait"
RELAY_ACTION = "action_relay_agent_reply"
NOTICE_SLOT = "handoff_notice"
RECORDED = "recorded"
RESPONSE_PREFIX = "utter_handoff_wait_"
CHANNELS = ("rest", "socketio", "wechat", "cmdline")
# Channels whose user sees only the answer to their own request: what the bot said in between went nowhere.
PULL_CHANNELS = ("rest", "cmdline")
MAX_TEXT = 4000
NO_TEXT = "（非文字消息）"
CONNECT_TIMEOUT, TOTAL_TIMEOUT, ATTEMPTS = 1.0, 3.0, 2


def backend_url() -> str:
    return (os.environ.get("BACKEND_URL") or f"http://127.0.0.1:{os.environ.get('BACKEND_PORT') or 8000}").rstrip("/")


def api_token() -> str:
    return os.environ.get("LOGISTICS_API_TOKEN") or "dev-token"


def waiting_turn(tracker: Any) -> bool:
    """A user's message has just been logged on a conversation paused for a human (not an external intent or a
    reminder, and nothing has run since)."""
    from rasa.shared.core.constants import IS_EXTERNAL
    from rasa.shared.core.events import ActionExecuted, UserUttered

    if not tracker.is_paused():
        return False
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            return False
        if isinstance(event, UserUttered):
            return not (event.metadata or {}).get(IS_EXTERNAL)
    return False


def is_restart(tracker: Any) -> bool:
    from rasa.shared.core.constants import USER_INTENT_RESTART

    latest = tracker.latest_message
    return latest is not None and (latest.intent or {}).get("name") == USER_INTENT_RESTART


def request_body(tracker: Any) -> Dict[str, Any]:
    """What the backend needs: the conversation, the channel, the text and Rasa's timestamp (retries are deduped
    by text and timestamp)."""
    latest = tracker.latest_message
    channel = latest.input_channel if latest.input_channel in CHANNELS else "rest"
    text = (latest.text or "").strip()[:MAX_TEXT] or NO_TEXT
    return {"conversation_id": tracker.sender_id, "channel": channel, "text": text,
            "timestamp": float(latest.timestamp), "restart": is_restart(tracker)}


async def ask_backend(body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """POST the message; the answer, or None when the backend cannot be reached or refuses it. A retry is safe:
    the backend records a message once and answers a retry the same."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)
    headers = {"Authorization": f"Bearer {api_token()}"}
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.post(backend_url() + ROUTE, json=body, headers=headers) as response:
                    if response.status in (200, 201):
                        answer = await response.json()
                        if isinstance(answer, dict) and answer.get("action") in ("wait", "resume"):
                            return answer
                        log.error("handoff waiting route answered %s without an action", response.status)
                        return None
                    detail = (await response.text())[:200]
                    if response.status < 500:
                        log.error("handoff waiting route refused the message (%s): %s", response.status, detail)
                        return None
                    log.warning("handoff waiting route answered %s (attempt %d): %s", response.status, attempt,
                                detail)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            log.warning("handoff waiting route unreachable (attempt %d): %s", attempt, type(exc).__name__)
    return None


def is_agent_message(event: Any) -> bool:
    custom = (getattr(event, "data", None) or {}).get("custom")
    data = custom.get("data") if isinstance(custom, dict) else None
    return isinstance(data, dict) and data.get("from") == "agent"


def relayed_since_last_message(tracker: Any) -> List[Any]:
    """The agent's replies relayed after the user's previous message (BotUttered events, oldest first)."""
    from rasa.shared.core.events import BotUttered, UserUttered

    events = list(tracker.events)
    users = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if not users:
        return []
    start = users[-2] + 1 if len(users) > 1 else 0
    return [e for e in events[start:users[-1]] if isinstance(e, BotUttered) and is_agent_message(e)]


def agent_payload(message: Dict[str, Any]) -> Dict[str, Any]:
    """The marker of an agent's own words, as action_relay_agent_reply sends it (actions/handoff.py)."""
    return {"type": "agent_message", "from": "agent", "agent": message.get("agent_name") or "人工客服",
            "message_id": message.get("id"), "handoff_id": message.get("handoff_id"), "text": message.get("text")}


async def _notice(processor: Any, tracker: Any, output_channel: Any, outcome: str,
                  values: Dict[str, Any]) -> List[Any]:
    """action_handoff_wait's events: the outcome in the handoff_notice slot, then the outcome's response
    (utter_handoff_wait_<outcome>) rendered by Rasa's NLG with the values."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.events import ActionExecuted, SlotSet

    response = RESPONSE_PREFIX + outcome
    if response not in processor.domain.responses:
        log.error("no response %s in the domain; telling the user their message is kept", response)
        outcome, response, values = RECORDED, RESPONSE_PREFIX + RECORDED, {}
    events: List[Any] = [ActionExecuted(ACTION_NAME)]
    if _has_slot(processor.domain, NOTICE_SLOT):
        events.append(SlotSet(NOTICE_SLOT, outcome))
    message = await processor.nlg.generate(response, tracker, output_channel.name(),
                                           **{str(key): value for key, value in (values or {}).items()})
    if message:
        message["utter_action"] = response
        events += [ActionExecuted(response), create_bot_utterance(message)]
    return events


def _has_slot(domain: Any, name: str) -> bool:
    return any(slot.name == name for slot in domain.slots)


async def _log_and_send(processor: Any, output_channel: Any, tracker: Any, events: List[Any]) -> None:
    """Log the events on the tracker, as an action's are, and send its bot messages on the channel."""
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted

    events = events + [ActionExecuted(ACTION_LISTEN_NAME)]
    for event in events:
        tracker.update(event, processor.domain)
    await processor.execute_side_effects(events, tracker, output_channel)


async def handle(processor: Any, output_channel: Any, tracker: Any) -> None:
    """Answer a message (not /restart) written while the conversation waits for a human."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import ActionExecuted, ConversationResumed, SlotSet

    body = request_body(tracker)
    if body["channel"] in PULL_CHANNELS and isinstance(output_channel, CollectingOutputChannel):
        for event in relayed_since_last_message(tracker):
            await output_channel.send_response(tracker.sender_id, event.message())
    answer = await ask_backend(body)
    if answer is None:
        await _log_and_send(processor, output_channel, tracker,
                            await _notice(processor, tracker, output_channel, RECORDED, {}))
        return
    events: List[Any] = []
    delivered = [m for m in answer.get("agent_messages") or [] if isinstance(m, dict) and m.get("text")]
    if delivered:
        events.append(ActionExecuted(RELAY_ACTION))
        events += [create_bot_utterance({"text": m["text"], "custom": {"data": agent_payload(m)}}) for m in delivered]
    if answer["action"] == "resume":
        events.append(ConversationResumed())
        if _has_slot(processor.domain, "handoff_outcome"):
            events.append(SlotSet("handoff_outcome", None))
    response = str(answer.get("response") or "")
    if response:
        outcome = response[len(RESPONSE_PREFIX):] if response.startswith(RESPONSE_PREFIX) else RECORDED
        events += await _notice(processor, tracker, output_channel, outcome, answer.get("values") or {})
    await _log_and_send(processor, output_channel, tracker, events)


async def restart(processor: Any, output_channel: Any, tracker: Any) -> None:
    """/restart while waiting: the backend ends the handoff, Rasa's action_restart restarts the conversation (which
    lifts the pause), and the user is told the handoff was cancelled with it.

    Rasa lets /restart through a pause but predicts it with its default restart rule, which needs the turn to
    follow action_listen; here it follows action_pause_conversation or an answer of the wait, so Rasa's own loop
    only listened and the conversation stayed paused. The action is run as the rule would have run it."""
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.constants import ACTION_RESTART_NAME

    answer = await ask_backend(request_body(tracker))
    await processor._run_action(processor._get_action(ACTION_RESTART_NAME), tracker, output_channel, processor.nlg,
                                PolicyPrediction.for_action_name(processor.domain, ACTION_RESTART_NAME))
    events: List[Any] = []
    if answer and answer.get("outcome") == "restarted":
        events = await _notice(processor, tracker, output_channel, "restarted", answer.get("values") or {})
    await _log_and_send(processor, output_channel, tracker, events)
