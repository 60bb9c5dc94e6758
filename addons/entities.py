"""Numbers belong to the regexes: the CRF's tracking and phone numbers are dropped, and its other entities yield
to a regex match on the same span. The patterns are exact; the model guesses (QQ numbers, landlines...)."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START
from rasa.shared.nlu.training_data.message import Message

REGEX_EXTRACTOR = "RegexEntityExtractor"
REGEX_ONLY = {"tracking_number", "phone_number"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PreferRegexEntities(GraphComponent):
    """Keeps one entity per span: the RegexEntityExtractor's when it found one there."""

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> PreferRegexEntities:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES, [])
            exact = [e for e in entities if e.get("extractor") == REGEX_EXTRACTOR]
            kept = list(exact)
            for entity in entities:
                if entity.get("extractor") == REGEX_EXTRACTOR or entity.get("entity") in REGEX_ONLY:
                    continue
                if any(_overlaps(entity, other) or entity["entity"] == other["entity"] for other in exact):
                    continue
                kept.append(entity)
            kept.sort(key=lambda e: e.get(ENTITY_ATTRIBUTE_START, 0))
            message.set(ENTITIES, kept, add_to_output=True)
        return messages


def _overlaps(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a.get(ENTITY_ATTRIBUTE_START, 0) < b.get(ENTITY_ATTRIBUTE_END, 0) and \
        b.get(ENTITY_ATTRIBUTE_START, 0) < a.get(ENTITY_ATTRIBUTE_END, 0)
