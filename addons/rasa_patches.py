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
