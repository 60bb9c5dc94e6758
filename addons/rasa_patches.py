"""The only place that changes Rasa's own behaviour; applied once when the `addons` package is imported (Rasa
imports it to load the pipeline's components, so the server, `rasa shell` and `rasa test` all get it).

Each patch is written for Rasa 3.6 and skipped, with a warning, on any other version; tests/test_rasa_patches.py
proves the patched code gives the same results as Rasa's own.

1. A custom action that cannot run (action server down, timing out or answering 5xx) makes Rasa log the error,
   drop the action's events and go on predicting from stale slots, which repeats the previous turn's answer.
   Here the user gets the apology the backend-down path gives (utter_backend_unavailable) and the bot listens.
2. Rasa validates every action-server response with `jsonschema.validate`, which checks the schema itself against
   its meta-schema on every call (43% of the server's CPU under 20 users). The schema never changes: it is checked
   and compiled once, and each response is validated by the compiled validator.
3. While a conversation is paused for a human, Rasa logs each user message and answers nothing, until an agent
   closes the handoff; /restart did not help (below), and the handoff stayed open. Here
   MessageProcessor._run_prediction_loop — the step of handle_message right after the message was parsed, logged
   and its slots extracted, with the tracker in hand and saved by handle_message afterwards — hands such a message
   to addons/handoff_wait.py: the backend records it and names the answer (place in the queue, the wait ended by
   算了/取消 or by time, the agent's undelivered replies), which Rasa renders from domain/handoff_wait.yml. For
   /restart the backend ends the handoff, then Rasa's action_restart runs (Rasa's own loop let /restart through
   the pause but its restart rule never matched after action_pause_conversation, so it only listened). Every other
   call (a conversation that is not paused, an external intent or a reminder) is Rasa's own code, untouched.
4. The cost of a turn (issue #15, profiled with py-spy under 20 users; README "Load"). (a) Even compiled, the
   response schema checks each event against all ~20 event kinds of a `oneOf`: 9% of a worker. An event whose kind
   has exactly one branch is checked against that branch and the common part, which is the same answer when it is
   valid; anything else (an invalid response, an unknown kind) goes to the compiled validator of 2 for Rasa's own
   error. (b) Event.resolve_by_type walks every Event subclass (and inspect.isabstract on each) for every event
   deserialised, ~80 per turn here: 3% of a worker. The class found for a type name is remembered (names not
   found take Rasa's path each time; an Event subclass defined after a name was resolved is not seen for it).
   (c) EndpointConfig.request opens a new aiohttp session, so a new TCP connection, for every call to the action
   server (and closes it again on both sides). Here the session of an endpoint is kept per event loop and its
   connections reused (kept idle 2 s, less than the action server's 5 s keep-alive, so a reused connection is
   never one the server is closing); the requests and their answers are Rasa's own. (d) Every tracker copy
   (each policy's prior-state walk, each action's temporary tracker) copies the domain's 106 slots with
   copy.copy, the generic reduce/reconstruct path: 7% of a worker. For a plain object (no __copy__, __reduce__,
   __setstate__, __slots__ or custom __new__, nor a copyreg entry) copy.copy is a new instance with the same
   __dict__; that is done directly here, anything else is given to copy.copy.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List

import rasa

log = logging.getLogger(__name__)
WRITTEN_FOR = "3.6."
APOLOGY = "utter_backend_unavailable"
_applied = False
ORIGINAL: Dict[str, Any] = {}


def apply() -> bool:
    """Apply the patches once; False when this Rasa is not the version they were written for."""
    global _applied
    if _applied:
        return True
    if not rasa.__version__.startswith(WRITTEN_FOR):
        log.warning("addons.rasa_patches written for Rasa %sx, found %s: not applied", WRITTEN_FOR,
                    rasa.__version__)
        return False
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    ORIGINAL.update(run=RemoteAction.run, validate=RemoteAction._validate_action_result,
                    prediction_loop=MessageProcessor._run_prediction_loop)
    RemoteAction.run = _run_or_apologise(RemoteAction.run)
    RemoteAction._validate_action_result = _validate_compiled
    MessageProcessor._run_prediction_loop = _answer_while_waiting(MessageProcessor._run_prediction_loop)
    _apply_turn_cost()
    _applied = True
    return True


def _answer_while_waiting(original):
    async def _run_prediction_loop(self, output_channel, tracker) -> None:
        from addons import handoff_wait

        if not handoff_wait.waiting_turn(tracker):
            return await original(self, output_channel, tracker)
        if handoff_wait.is_restart(tracker):
            return await handoff_wait.restart(self, output_channel, tracker)
        return await handoff_wait.handle(self, output_channel, tracker)

    _run_prediction_loop.__wrapped__ = original
    return _run_prediction_loop


def _run_or_apologise(original):
    async def run(self, output_channel, nlg, tracker, domain) -> List[Any]:
        from rasa.core.actions.action import ActionExecutionRejection, create_bot_utterance
        from rasa.shared.core.events import FollowupAction
        from rasa.shared.exceptions import RasaException

        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except RasaException as exc:
            log.error("custom action %s failed (%s): apologising instead of a stale answer", self.name(), exc)
            message = await nlg.generate(APOLOGY, tracker, output_channel.name())
            events: List[Any] = [create_bot_utterance(message)] if message else []
            # Listen next: the rules would otherwise act on the slots of the previous turn.
            return events + [FollowupAction("action_listen")]

    run.__wrapped__ = original
    return run


_compiled = None


def _validator():
    global _compiled
    if _compiled is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _compiled = cls(schema)
    return _compiled


def _validate_compiled(self, result: Dict[str, Any]) -> bool:
    """Rasa's RemoteAction._validate_action_result with the schema compiled once."""
    from jsonschema import ValidationError, exceptions

    try:
        error = exceptions.best_match(_validator().iter_errors(result))
        if error is not None:
            raise error
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            "For more information about the format visit "
            "https://rasa.com/docs/rasa/custom-actions"
        )
        raise e


# --- 4. the cost of a turn (issue #15) ---


def _apply_turn_cost() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from rasa.utils.endpoints import EndpointConfig

    ORIGINAL.update(resolve_by_type=Event.resolve_by_type, endpoint_session=EndpointConfig.session)
    RemoteAction._validate_action_result = _validate_by_kind(RemoteAction._validate_action_result)
    Event.resolve_by_type = staticmethod(_remember_event_classes(Event.resolve_by_type))
    EndpointConfig.session = _kept_sessions(EndpointConfig.session)
    from rasa.shared.core import trackers

    ORIGINAL.update(trackers_copy_module=trackers.copy)
    trackers.copy = _ShallowCopyModule(trackers.copy)


_by_kind = None


def _kind_validators():
    """(validator of the response without its events' items, {event kind: validator of an event of that kind}),
    or None when the schema is not shaped so that this is exact (then every response takes the full check)."""
    global _by_kind
    if _by_kind is None:
        import json

        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        _by_kind = (None, {})
        try:
            events = schema["properties"]["events"]
            item = events["items"]
            branches = item["oneOf"]
        except (KeyError, TypeError):
            return _by_kind
        if "$ref" in json.dumps(schema) or "event" not in item.get("required", []):
            return _by_kind
        kinds: Dict[str, list] = {}
        for branch in branches:
            const = (branch.get("properties") or {}).get("event", {}).get("const")
            if not isinstance(const, str):
                return _by_kind  # a branch that may match any kind: only the full check is exact
            kinds.setdefault(const, []).append(branch)
        cls = validator_for(schema)
        common = {key: value for key, value in item.items() if key != "oneOf"}
        outer = {**schema, "properties": {**schema["properties"],
                                          "events": {k: v for k, v in events.items() if k != "items"}}}
        _by_kind = (cls(outer), {kind: cls({**common, "allOf": found}) for kind, found in kinds.items()
                                 if len(found) == 1})
    return _by_kind


def valid_by_kind(result: Any) -> bool:
    """True only when the response is valid (then Rasa's validation passes too); False means "check fully"."""
    outer, kinds = _kind_validators()
    if outer is None or not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        validator = kinds.get(event.get("event")) if isinstance(event, dict) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_by_kind(full):
    def _validate_action_result(self, result: Dict[str, Any]) -> bool:
        if valid_by_kind(result):
            return True
        return full(self, result)

    _validate_action_result.__wrapped__ = full
    return _validate_action_result


def _remember_event_classes(original):
    found: Dict[str, Any] = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name)
        if cls is not None:
            return cls
        cls = original(type_name, default)
        if cls is not None and cls is not default and getattr(cls, "type_name", None) == type_name:
            found[type_name] = cls
        return cls

    resolve_by_type.__wrapped__ = original
    return resolve_by_type


class _Kept:
    """`async with endpoint.session() as session` for a session that stays open for the next call."""

    def __init__(self, session):
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc) -> None:
        return None


KEEP_IDLE_SECONDS = 2.0


def _kept_sessions(original):
    import asyncio
    import weakref

    kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> {endpoint: session}

    def session(self):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)
        import aiohttp

        per_loop = kept.setdefault(loop, {})
        found = per_loop.get(id(self))
        if found is None or found[1].closed or found[0]() is not self:
            from rasa.utils import endpoints

            # Rasa's EndpointConfig.session (headers, auth, timeout) with a connector that keeps connections.
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
                if self.basic_auth else None
            fresh = aiohttp.ClientSession(
                headers=self.headers, auth=auth,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_IDLE_SECONDS))
            found = (weakref.ref(self), fresh)
            per_loop[id(self)] = found
        return _Kept(found[1])

    session.__wrapped__ = original
    return session


class _ShallowCopyModule:
    """Stands in for the `copy` module inside rasa.shared.core.trackers: copy.copy of plain objects (the slots)
    without the reduce/reconstruct detour; every other name is the real module's."""

    def __init__(self, module):
        self._module = module
        self._plain: Dict[type, bool] = {}

    def __getattr__(self, name):
        return getattr(self._module, name)

    def _is_plain(self, cls: type) -> bool:
        import copyreg

        plain = self._plain.get(cls)
        if plain is None:
            plain = (getattr(cls, "__copy__", None) is None and cls not in copyreg.dispatch_table
                     and cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__
                     and getattr(cls, "__setstate__", None) is None and cls.__new__ is object.__new__
                     and not copyreg._slotnames(cls)
                     and getattr(cls, "__getstate__", object.__getstate__ if hasattr(object, "__getstate__")
                                 else None) is getattr(object, "__getstate__", None))
            self._plain[cls] = plain
        return plain

    def copy(self, x):
        cls = type(x)
        if not self._is_plain(cls):
            return self._module.copy(x)
        y = object.__new__(cls)
        y.__dict__.update(x.__dict__)
        return y
