"""addons/rasa_patches.py: the patched Rasa code gives Rasa's own results, and a failed custom action apologises."""
from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, FollowupAction, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from addons import rasa_patches

ROOT = Path(__file__).resolve().parents[1]

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "tracking_number", "value": "SF1234567890123"}],
     "responses": [{"response": "utter_greet"}]},
    {"events": [{"event": "bot", "text": "hi", "data": {}}], "responses": [{"text": "hi", "buttons": []}]},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [{"event": 5}]},
    {"responses": "x"},
    {},
    {"events": [{"event": "slot", "name": "a", "value": {"nested": [1, 2, {"deep": None}]}}]},
]


def _outcome(validate, result):
    try:
        return ("ok", validate(RemoteAction("a", None), result))
    except ValidationError as exc:
        return ("invalid", exc.message, list(exc.path))


def test_patches_are_applied_for_this_rasa():
    assert rasa_patches.apply() is True
    # The compiled validator of 2, behind the check by event kind of 4 (issue #15).
    assert RemoteAction._validate_action_result.__wrapped__ is rasa_patches._validate_compiled


@pytest.mark.parametrize("result", RESPONSES)
def test_compiled_validation_gives_rasas_own_result(result):
    assert _outcome(rasa_patches._validate_compiled, result) == _outcome(rasa_patches.ORIGINAL["validate"], result)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_action_server_gets_the_apology_and_the_bot_listens():
    domain = Domain.load(str(ROOT / "domain"))
    tracker = DialogueStateTracker.from_events("down-1", [
        ActionExecuted("action_listen"), UserUttered("SF1234567890123 收到破损了")], domain.slots)
    action = RemoteAction("action_track_parcel", EndpointConfig(f"http://127.0.0.1:{_closed_port()}/webhook"))
    events = asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
                                    tracker, domain))
    texts = [e.text for e in events if isinstance(e, BotUttered)]
    apology = domain.responses[rasa_patches.APOLOGY][0]["text"]
    assert texts == [apology]
    assert any(isinstance(e, FollowupAction) and e.action_name == "action_listen" for e in events)


# --- 3. a message while the conversation waits for a human ---


class _Loop:
    """Stands in for Rasa's own prediction loop: records its calls."""

    def __init__(self):
        self.calls = []

    async def __call__(self, processor, output_channel, tracker):
        self.calls.append((processor, output_channel, tracker))
        return "rasa's own result"


def _processor(domain):
    """A MessageProcessor with what the waiting path uses (the domain, the project's NLG), no model."""
    from rasa.core.processor import MessageProcessor

    from addons.nlg import ResponseRenderer

    processor = MessageProcessor.__new__(MessageProcessor)
    processor.domain = domain
    processor.nlg = ResponseRenderer(domain=domain)
    return processor


def _paused(domain, sender, *texts, intent="inform", channel="rest"):
    from rasa.shared.core.events import ConversationPaused, SlotSet

    events = [ActionExecuted("action_listen"), UserUttered("转人工", {"name": "request_human"}, input_channel=channel),
              ActionExecuted("action_request_human"), SlotSet("handoff_outcome", "queued"),
              ActionExecuted("utter_handoff_queued"), ActionExecuted("action_pause_conversation"),
              ConversationPaused()]
    events += [UserUttered(text, {"name": intent}, input_channel=channel) for text in texts]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def _say(domain, tracker, text, intent="inform", channel="rest"):
    """What Rasa's handle_message does before the loop: log the user's message; then the (patched) loop."""
    from rasa.core.processor import MessageProcessor

    tracker.update(UserUttered(text, {"name": intent}, input_channel=channel), domain)
    output = CollectingOutputChannel()
    asyncio.run(MessageProcessor._run_prediction_loop(_processor(domain), output, tracker))
    return output.messages


@pytest.fixture()
def backend_env(monkeypatch, backend_url):
    from tests.support import TOKEN

    monkeypatch.setenv("BACKEND_URL", backend_url)
    monkeypatch.setenv("LOGISTICS_API_TOKEN", TOKEN)


def _queue(api, sender: str) -> dict:
    from tests.backend.test_handoffs import body

    response = api.post("/api/v1/handoffs", json=body(sender, channel="rest"))
    assert response.status_code == 201, response.text
    return response.json()


def test_the_waiting_patch_is_installed_on_rasas_message_processor():
    from rasa.core.processor import MessageProcessor

    assert rasa_patches.apply() is True
    patched = MessageProcessor._run_prediction_loop
    assert patched.__wrapped__ is rasa_patches.ORIGINAL["prediction_loop"]


def test_a_conversation_that_is_not_paused_runs_rasas_own_loop_untouched():
    from rasa.shared.core.events import ConversationPaused

    domain = Domain.load(str(ROOT / "domain"))
    loop = _Loop()
    patched = rasa_patches._answer_while_waiting(loop)
    output = CollectingOutputChannel()
    unpaused = DialogueStateTracker.from_events("w-0", [ActionExecuted("action_listen"), UserUttered("你好")],
                                                domain.slots)
    before = list(unpaused.events)
    assert asyncio.run(patched("processor", output, unpaused)) == "rasa's own result"
    # A reminder or an external intent on a paused conversation: Rasa's own loop too (which does nothing then).
    external = DialogueStateTracker.from_events("w-1", [ConversationPaused(), UserUttered.create_external(
        "remind", [])], domain.slots)
    assert asyncio.run(patched("processor", output, external)) == "rasa's own result"
    assert [call[2] for call in loop.calls] == [unpaused, external]
    assert list(unpaused.events) == before and output.messages == []


def test_each_message_while_waiting_is_answered_by_the_handoff_side(api, backend_env):
    domain = Domain.load(str(ROOT / "domain"))
    sender = f"wait-{uuid.uuid4().hex[:8]}"
    handoff = _queue(api, sender)
    tracker = _paused(domain, sender)
    messages = _say(domain, tracker, "我家是老小区没电梯，麻烦快点", intent="change_address")
    assert len(messages) == 1 and "人工客服" in messages[0]["text"] and "分钟" in messages[0]["text"]
    assert tracker.is_paused()
    # Logged as action_handoff_wait's steps (data/rules/handoff_wait.yml), the user's message kept before them.
    tail = list(tracker.events)[-6:]
    assert isinstance(tail[0], UserUttered) and tail[0].text == "我家是老小区没电梯，麻烦快点"
    assert [getattr(e, "action_name", None) for e in tail if isinstance(e, ActionExecuted)] == [
        "action_handoff_wait", f"utter_handoff_wait_{tracker.get_slot('handoff_notice')}", "action_listen"]
    assert tracker.get_slot("handoff_notice") in ("queued", "next")
    assert api.get(f"/api/v1/handoffs/{handoff['id']}").json()["status"] == "queued"

    second = _say(domain, tracker, "还要多久")
    # Every message is answered with the place in the queue (the wording may repeat: the queue is the news).
    assert len(second) == 1 and "分钟" in second[0]["text"]
    cancelled = _say(domain, tracker, "算了", intent="deny")
    assert not tracker.is_paused() and tracker.get_slot("handoff_notice") == "cancelled"
    assert tracker.get_slot("handoff_outcome") is None
    assert "取消转人工" in cancelled[0]["text"]
    assert api.get(f"/api/v1/handoffs/{handoff['id']}").json()["close_reason"] == "cancelled"


def test_agent_replies_relayed_since_the_last_message_reach_a_rest_user(api, backend_env, backend_url, engine):
    from addons.handoff_wait import agent_payload
    from tests.backend.test_handoffs import agent_session

    domain = Domain.load(str(ROOT / "domain"))
    sender = f"wait-{uuid.uuid4().hex[:8]}"
    handoff = _queue(api, sender)
    tracker = _paused(domain, sender, "在吗")
    # The relay ran while the user was silent: on REST its output went nowhere.
    tracker.update(ActionExecuted("action_relay_agent_reply"), domain)
    tracker.update(BotUttered("您好，我是客服小林", {"custom": {"data": agent_payload(
        {"id": 1, "text": "您好，我是客服小林", "agent_name": "客服小林"})}}), domain)
    events_before = len(tracker.events)
    messages = _say(domain, tracker, "好的")
    assert messages[0]["text"] == "您好，我是客服小林" and messages[1]["custom"]["data"]["from"] == "agent"
    # Shown again, not logged again.
    assert [e.text for e in list(tracker.events)[events_before:] if isinstance(e, BotUttered)] == [
        messages[-1]["text"]]
    # Socket.io had it pushed: nothing repeated there.
    socket_tracker = _paused(domain, sender, "在吗", channel="socketio")
    socket_tracker.update(BotUttered("您好", {"custom": {"data": {"from": "agent"}}}), domain)
    assert all(m.get("text") != "您好" for m in _say(domain, socket_tracker, "好的", channel="socketio"))

    # An agent's reply Rasa could not relay is delivered with the answer to the user's next message.
    console = agent_session(backend_url, engine)
    assert console.post(f"/agent/api/handoffs/{handoff['id']}/messages", json={"text": "马上帮您查"}).status_code == 201
    messages = _say(domain, tracker, "谢谢")
    texts = [m.get("text") for m in messages if m.get("text")]
    assert texts[0] == "马上帮您查" and "人工客服已经接入（客服小王）" in texts[-1] and len(texts) == 2
    relayed = [e for e in tracker.events if isinstance(e, BotUttered) and e.text == "马上帮您查"]
    assert relayed and relayed[0].data["custom"]["data"]["agent"] == "客服小王"
    assert api.get(f"/api/v1/handoffs/{handoff['id']}/outbox").json()["messages"] == []


def test_restart_while_waiting_ends_the_handoff_and_the_conversation_restarts(api, backend_env):
    from rasa.shared.core.events import Restarted

    domain = Domain.load(str(ROOT / "domain"))
    sender = f"wait-{uuid.uuid4().hex[:8]}"
    handoff = _queue(api, sender)
    tracker = _paused(domain, sender)
    loop = _Loop()
    processor = _processor(domain)
    processor.action_endpoint = None
    tracker.update(UserUttered("/restart", {"name": "restart"}, input_channel="rest"), domain)
    output = CollectingOutputChannel()
    asyncio.run(rasa_patches._answer_while_waiting(loop)(processor, output, tracker))
    # Rasa's own loop only listened here (its restart rule needs action_listen before the turn): not called.
    assert loop.calls == [] and not tracker.is_paused()
    events = list(tracker.events)
    restart_at = max(i for i, e in enumerate(events) if isinstance(e, Restarted))
    assert isinstance(events[restart_at - 1], ActionExecuted) and events[restart_at - 1].action_name == "action_restart"
    assert [m["text"] for m in output.messages] == [domain.responses["utter_handoff_wait_restarted"][0]["text"]]
    assert isinstance(events[-1], ActionExecuted) and events[-1].action_name == "action_listen"
    assert api.get(f"/api/v1/handoffs/{handoff['id']}").json()["close_reason"] == "restart"


def test_an_unreachable_backend_still_answers_and_keeps_the_message(monkeypatch):
    monkeypatch.setenv("BACKEND_URL", f"http://127.0.0.1:{_closed_port()}")
    domain = Domain.load(str(ROOT / "domain"))
    tracker = _paused(domain, "wait-down")
    messages = _say(domain, tracker, "有人吗")
    assert [m["text"] for m in messages] in ([v["text"]] for v in domain.responses["utter_handoff_wait_recorded"])
    assert tracker.is_paused() and tracker.get_slot("handoff_notice") == "recorded"
    assert any(isinstance(e, UserUttered) and e.text == "有人吗" for e in tracker.events)


# --- 4. the cost of a turn (issue #15): same results as Rasa's own code ---


def _every_kind_of_event() -> list:
    """One serialised event of every kind Rasa has, built by Rasa itself."""
    from rasa.shared.core import events as ev

    made = [ev.UserUttered("我的快递到哪了", {"name": "track_parcel", "confidence": 0.9},
                           [{"entity": "carrier", "value": "sf", "start": 0, "end": 2}], input_channel="rest",
                           message_id="m1"),
            ev.BotUttered("您好", {"buttons": [{"title": "是", "payload": "/affirm"}]}, {"utter_action": "x"}),
            ev.SlotSet("tracking_number", "SF1"), ev.SlotSet("shipment_choices", [{"a": [1, None]}]),
            ev.Restarted(), ev.UserUtteranceReverted(), ev.AllSlotsReset(), ev.ReminderScheduled("greet", None),
            ev.ReminderCancelled(name="r"), ev.ActionReverted(), ev.StoryExported(), ev.FollowupAction("utter_x"),
            ev.ConversationPaused(), ev.ConversationResumed(), ev.ActionExecuted("action_listen", "RulePolicy", 1.0),
            ev.AgentUttered("hi"), ev.ActiveLoop("form"), ev.LegacyForm("form"), ev.LoopInterrupted(True),
            ev.LegacyFormValidation(False), ev.ActionExecutionRejected("a", "p", 0.5), ev.SessionStarted(),
            ev.EntitiesAdded([{"entity": "carrier", "value": "sf"}]), ev.DefinePrevUserUtteredFeaturization(True)]
    found = []
    for event in made:
        try:
            found.append(event.as_dict())
        except Exception:  # noqa: BLE001 - an event this Rasa cannot serialise has no response to check
            pass
    return found


def _responses_to_check() -> list:
    kinds = _every_kind_of_event()
    broken = []
    for event in kinds:
        for key in event:
            if key != "event":
                broken.append({**event, key: 12345})
                broken.append({**event, key: {"nested": ["x"]}})
        broken.append({k: v for k, v in event.items() if k != "event"})
        broken.append({**event, "event": "no_such_kind"})
        broken.append({**event, "event": 7})
    return RESPONSES + [{"events": [e], "responses": []} for e in kinds + broken] + [
        {"events": kinds, "responses": [{"text": "a"}, {"response": "utter_greet"}]},
        {"events": kinds + [{"event": "slot"}]}, {"events": [None]}, {"events": [[]]}, [], "x", None,
        {"responses": [{"text": 5}]}, {"events": [], "responses": [5]}]


def test_checking_an_event_by_its_kind_gives_rasas_own_result_for_every_kind_and_many_broken_ones():
    rasa_patches.apply()
    patched = RemoteAction._validate_action_result
    responses = _responses_to_check()
    fast = 0
    for result in responses:
        assert _outcome(patched, result) == _outcome(rasa_patches.ORIGINAL["validate"], result), result
        if isinstance(result, dict) and rasa_patches.valid_by_kind(result):
            fast += 1
            assert _outcome(rasa_patches.ORIGINAL["validate"], result)[0] == "ok", result
    assert fast >= len(_every_kind_of_event())  # the valid ones took the short path


def test_the_event_class_of_a_type_name_is_rasas_own():
    from rasa.shared.core.events import ActionExecuted, Event
    from rasa.shared.utils.common import all_subclasses

    rasa_patches.apply()
    original = rasa_patches.ORIGINAL["resolve_by_type"]
    for _ in range(2):  # the second round is answered from memory
        for cls in all_subclasses(Event):
            assert Event.resolve_by_type(cls.type_name) is original(cls.type_name)
        assert Event.resolve_by_type("topic") is original("topic") is None
        assert Event.resolve_by_type("no_such", ActionExecuted) is original("no_such", ActionExecuted)
        with pytest.raises(ValueError):
            Event.resolve_by_type("no_such")


def test_slots_are_copied_as_copy_copy_copies_them():
    import copy

    from rasa.shared.core import trackers
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.slots import TextSlot

    rasa_patches.apply()
    domain = Domain.load(str(ROOT / "domain"))
    shim = trackers.copy
    for slot in domain.slots:
        ours, theirs = shim.copy(slot), copy.copy(slot)
        assert type(ours) is type(theirs) and ours.__dict__ == theirs.__dict__ and ours is not slot
        assert shim._is_plain(type(slot))

    class Special(TextSlot):
        type_name = "special_copy_test"

        def __copy__(self):
            return "copied by __copy__"

    assert shim.copy(Special("s", [])) == "copied by __copy__"
    assert shim.deepcopy is copy.deepcopy
    # A tracker built with the shim has Rasa's slots: same values, independent objects.
    tracker = DialogueStateTracker.from_events("copy-1", [ActionExecuted("action_listen"),
                                                          UserUttered("SF1", {"name": "inform"})], domain.slots)
    tracker.update(SlotSet("tracking_number", "SF1"))
    twin = tracker.copy()
    assert twin.current_slot_values() == tracker.current_slot_values()
    assert all(twin.slots[name] is not tracker.slots[name] for name in tracker.slots)
    assert all(slot.value is None for slot in domain.slots if slot.name == "tracking_number")


def test_an_endpoint_keeps_one_connection_for_many_calls_with_rasas_answers():
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    rasa_patches.apply()
    peers = []

    async def echo(request):
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"got": await request.json(), "auth": request.headers.get("Authorization")})

    async def scenario():
        app = web.Application()
        app.router.add_post("/webhook", echo)
        runner = web.AppRunner(app)
        await runner.setup()
        port = _closed_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"})
            answers = [await endpoint.request(json={"n": n}, method="post") for n in range(5)]
            async with rasa_patches.ORIGINAL["endpoint_session"](endpoint) as session:
                async with session.post(f"http://127.0.0.1:{port}/webhook", json={"n": 9}) as response:
                    rasas = await response.json()
            return answers, rasas
        finally:
            await runner.cleanup()

    answers, rasas = asyncio.run(scenario())
    assert answers == [{"got": {"n": n}, "auth": "Bearer t"} for n in range(5)]
    assert rasas == {"got": {"n": 9}, "auth": "Bearer t"}
    assert len(set(peers[:5])) == 1  # one connection for the five calls (Rasa's own session: one each)
