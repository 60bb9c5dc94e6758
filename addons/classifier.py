"""Intent classification by a linear model over character n-grams, chosen by measurement (README, Quality).

Chinese users write without spaces, with typos, homophones and mixed English; character 1-2-grams weighted by
TF-IDF and a linear SVM handle that better than DIET did on our data (5-fold CV and JDDC, README), train in seconds
instead of minutes and load without building a TensorFlow graph. Before featurising, tracking and phone numbers
(the regexes of data/nlu/regex.yml) and carrier names (the lookup table) become placeholder words, so
"催下件 75810683228893" reads as "催下件 单号" and "是极兔的" like "是顺丰的"; emoji add the word 表情, so an emoji
the model never saw still reads as one. Confidences come from sigmoid calibration (cross-validated), so
FallbackClassifier's threshold means what it says.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Pattern, Tuple

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

MODEL_FILE = "char_ngram_intent.joblib"
INTENT_RANKING = "intent_ranking"


# Pictographs and symbols: an emoji the model never saw still reads as "an emoji".
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]")
EMOJI_WORD = "表情"
LONG_DIGITS = "(?<![0-9])[0-9]{8,}(?![0-9])"
ENGLISH_WORD = "[a-zA-Z]{2,}"


def build_masks(training_data: TrainingData, wanted: Dict[str, str], other_numbers: Optional[str] = None,
                keep: Optional[str] = None) -> List[Tuple[str, str]]:
    """(pattern, placeholder) pairs from the regexes and lookup tables whose names are in `wanted` (lookup
    elements matching `keep` stay words), then any digit run left that is long enough to be a number."""
    masks = [(feature["pattern"], wanted[feature["name"]])
             for feature in training_data.regex_features if feature["name"] in wanted]
    kept = re.compile(keep) if keep else None
    for table in training_data.lookup_tables:
        if table["name"] not in wanted:
            continue
        # Longest first, so 顺丰速运 wins over 顺丰.
        elements = sorted({str(e) for e in table["elements"] if not (kept and kept.search(str(e)))},
                          key=len, reverse=True)
        if elements:
            masks.append(("(?i)(?:" + "|".join(re.escape(e) for e in elements) + ")", wanted[table["name"]]))
    if other_numbers:
        masks.append((LONG_DIGITS, other_numbers))
    return masks


def masks_for(training_data: TrainingData, config: Dict[str, Any]) -> List[Tuple[str, str]]:
    """The masks a classifier with this config builds from this training data."""
    return build_masks(training_data, config["masks"], config.get("other_numbers"), config.get("unmasked"))


def vectorizer(config: Dict[str, Any]) -> FeatureUnion:
    """The features: TF-IDF over character n-grams inside space-separated chunks, and over English words
    ("damaged", "customs"), which two characters cannot tell apart."""
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", sublinear_tf=True,
                                  ngram_range=(config["min_ngram"], config["max_ngram"]))),
        ("english", TfidfVectorizer(analyzer="word", token_pattern=ENGLISH_WORD, sublinear_tf=True)),
    ])


def compile_masks(masks: List[Tuple[str, str]]) -> List[Tuple[Pattern[str], str]]:
    return [(re.compile(pattern), placeholder) for pattern, placeholder in masks]


# Sentence-final particles say how, not what: 「怎么还没到啊」 is 「怎么还没到」 (CV unchanged within noise).
TRAILING_PARTICLES = re.compile(r"(?<=\S)[啊呀呢嘛哇啦呐]+(?=[~～!！?？。.,， ]*$)")


def normalise(text: str, masks: List[Tuple[Pattern[str], str]]) -> str:
    """Replaces every mask match by its placeholder word, and marks emoji; the rest of the text stays."""
    text = TRAILING_PARTICLES.sub("", text)
    for pattern, placeholder in masks:
        text = pattern.sub(f" {placeholder} ", text)
    if EMOJI.search(text):
        text = f"{text} {EMOJI_WORD}"
    return text


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CharNgramIntentClassifier(GraphComponent, IntentClassifier):
    """TF-IDF over character n-grams, a calibrated linear SVM, number masking."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "min_ngram": 1,
            "max_ngram": 2,
            "C": 1.5,
            # Regexes and lookup tables (data/nlu/) whose matches are replaced by a placeholder word.
            # four_digits: a bare 4-digit run is almost always a phone tail we asked for.
            # location: a city or district reads as any other place ("寄到北京的" like "寄到洛阳的").
            "masks": {"tracking_number": "单号", "phone_number": "手机号", "four_digits": "四位数",
                      "carrier": "快递公司", "location": "地名"},
            # ...but where a parcel waits (驿站, 快递柜), a hub, or a place across a border (customs) says
            # something about the request, so those stay words.
            "unmasked": "驿站|柜|网点|代收点|快递点|中心|中转|枢纽|菜鸟|丰巢|兔喜|香港|澳门|台湾|台北",
            # Any other run of 8+ digits (a mistyped or unknown number) reads as a number too, not as noise.
            "other_numbers": "单号",
            "calibration_folds": 5,
            "ranking_length": LABEL_RANKING_LENGTH,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Pipeline] = None, masks: Optional[List[Tuple[str, str]]] = None) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._mask_sources = masks or []
        self._masks = compile_masks(self._mask_sources)

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CharNgramIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        labels = [m.get(INTENT) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("CharNgramIntentClassifier needs at least two intents; it will predict nothing.")
            return self._resource
        self._mask_sources = masks_for(training_data, self._config)
        self._masks = compile_masks(self._mask_sources)
        texts = [normalise(m.get(TEXT), self._masks) for m in examples]
        smallest = min(labels.count(label) for label in set(labels))
        folds = max(2, min(self._config["calibration_folds"], smallest))
        self._model = Pipeline([
            ("features", vectorizer(self._config)),
            ("svm", CalibratedClassifierCV(LinearSVC(C=self._config["C"]), cv=folds, method="sigmoid")),
        ])
        # scikit-learn 1.1's calibration counts classes correctly only on an array of labels.
        self._model.fit(texts, np.array(labels))
        self.persist()
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if self._model is None or not text:
                continue
            probabilities = self._model.predict_proba([normalise(text, self._masks)])[0]
            order = np.argsort(probabilities)[::-1]
            classes = self._model.classes_
            ranking = [{INTENT_NAME_KEY: str(classes[i]), PREDICTED_CONFIDENCE_KEY: float(probabilities[i])}
                       for i in order[: self._config["ranking_length"]]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING, ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        if self._model is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump({"model": self._model, "masks": self._mask_sources}, directory / MODEL_FILE)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CharNgramIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                saved = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            logger.warning("No trained CharNgramIntentClassifier found; intents will not be predicted.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, saved["model"], saved["masks"])
