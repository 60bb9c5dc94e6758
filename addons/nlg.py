"""The responses of domain/ rendered as a customer should read them, whatever values are missing.

Rasa's templated NLG fills `{slot}` with whatever the slot holds, so a parcel created without a promised time reads
「原本承诺前送达」 and an empty place reads 「在沈阳转运中心（）」. Here (selected in endpoints.yml as `nlg: type:
addons.nlg.ResponseRenderer`):

- `[[ ... ]]` marks an optional segment: it is dropped when any `{slot}` inside it is empty (None or "");
  segments may nest. Every slot that an action may leave empty belongs inside one (tests/test_responses.py).
- After filling: empty brackets go, doubled or mixed punctuation is reduced to one mark, and a space between two
  Chinese characters (a slot that was empty, or a template's padding) is removed.
- A new turn is never answered with the bot's previous message word for word when the response has another
  variation that fits.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator

SEGMENT = re.compile(r"\[\[((?:(?!\[\[|\]\]).)*)\]\]", re.S)
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
CJK = r"\u3400-\u9fff\uf900-\ufaff"
CLEANUPS = (
    (re.compile(r"（\s*）|\(\s*\)|「\s*」|【\s*】"), ""),
    (re.compile(rf"(?<=[{CJK}，。！？；：、）」])[ \t]+(?=[{CJK}，。！？；：、（「])"), ""),
    (re.compile(r"[，、；：]+\s*([。！？])"), r"\1"),
    (re.compile(r"([。！？])\s*[，、；。]+"), r"\1"),
    (re.compile(r"，{2,}"), "，"),
    (re.compile(r"^[，。；、：\s]+"), ""),
    (re.compile(r"[ \t]+\n"), "\n"),
)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def drop_empty_segments(text: str, values: Dict[str, Any]) -> str:
    """Resolve `[[...]]` innermost first: keep the inside when every slot in it has a value, else drop it."""
    while True:
        replaced = SEGMENT.sub(
            lambda m: "" if any(is_empty(values.get(name)) for name in PLACEHOLDER.findall(m.group(1)))
            else m.group(1), text)
        if replaced == text:
            return text
        text = replaced


def tidy(text: str, spaces: bool = True) -> str:
    for pattern, replacement in CLEANUPS:
        if spaces or pattern is not CLEANUPS[1][0]:
            text = pattern.sub(replacement, text)
    return text.strip()


def render(template: str, values: Dict[str, Any], spaces: bool = True) -> str:
    """A template as the customer reads it: segments resolved, slots filled (empty ones as ""), tidied; with
    spaces=False the spaces between words stay (button titles list fields separated by spaces)."""
    text = drop_empty_segments(template, values)
    text = PLACEHOLDER.sub(lambda m: "" if is_empty(values.get(m.group(1))) else str(values[m.group(1)]), text)
    return tidy(text, spaces)


class ResponseRenderer(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Any = None, domain: Any = None,
                 responses: Optional[Dict[str, List[Dict[str, Any]]]] = None) -> None:
        super().__init__(responses if responses is not None else (domain.responses if domain else {}))

    async def generate(self, utter_action: str, tracker: Any, output_channel: str,
                       **kwargs: Any) -> Optional[Dict[str, Any]]:
        filled = tracker.current_slot_values()
        previous = _last_bot_text(tracker)  # a new turn is not answered with the previous reply verbatim
        response = None
        for _ in range(6):
            response = self.generate_from_slots(utter_action, filled, output_channel, **kwargs)
            if response is None or response.get("text") != previous:
                break
        return response

    def _fill_response(self, response: Dict[str, Any], filled_slots: Optional[Dict[str, Any]] = None,
                       **kwargs: Any) -> Dict[str, Any]:
        values = self._response_variables(filled_slots, kwargs)
        text = response.pop("text", None)
        titles = [button.pop("title", None) for button in response.get("buttons") or []]
        # Payloads, custom data and the rest: Rasa's own interpolation ({{ }} in JSON payloads stays valid).
        response = super()._fill_response(response, filled_slots, **kwargs)
        if isinstance(text, str):
            response["text"] = render(text, values)
        for button, title in zip(response.get("buttons") or [], titles):
            if isinstance(title, str):
                button["title"] = render(title, values, spaces=False)
        return response


def _last_bot_text(tracker: Any) -> Optional[str]:
    """The bot's last message before the user's latest one (what the user read before asking again)."""
    seen_user = False
    for event in reversed(getattr(tracker, "events", [])):
        kind = getattr(event, "type_name", None)
        if kind == "user":
            if seen_user:
                return None
            seen_user = True
        elif kind == "bot" and seen_user:
            return getattr(event, "text", None)
    return None
