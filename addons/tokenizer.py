"""JiebaTokenizer that reads at most MAX_MESSAGE_CHARS characters of a message (addons/limits.py).

The channels (addons/channels.py) refuse longer texts before NLU; this is the defence in depth for the entries
that bypass them (Rasa's HTTP API /model/parse and /conversations/{id}/messages, rasa shell): jieba's time grows
with the square of the length and runs on Rasa's event loop. At prediction time a longer text is cut to the limit
before tokenising, and every later component (regexes, the intent classifier, the CRF) sees the same cut text, so
tokens and offsets agree. Training data is tokenised whole, as JiebaTokenizer does.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.limits import max_message_chars

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class LimitedJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer (same settings) with a cap on the text read at prediction time."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # max_chars: None reads MAX_MESSAGE_CHARS (default 1,000) when the model is loaded, like the channels.
        return {**JiebaTokenizer.get_default_config(), "max_chars": None}

    def __init__(self, config: Dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.max_chars = int(config.get("max_chars") or max_message_chars())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > self.max_chars:
                logger.warning("NLU read the first %d of %d characters of a message", self.max_chars, len(text))
                message.set(TEXT, text[: self.max_chars])
        return super().process(messages)
