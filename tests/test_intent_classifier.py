"""The custom intent classifier (addons/classifier.py): masking, training, persistence and prediction."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from addons.classifier import EMOJI_WORD, CharNgramIntentClassifier, build_masks, compile_masks, normalise

TRACKING = r"(?<![A-Za-z0-9])[Ss][Ff][0-9]{13}(?![A-Za-z0-9])"


def _data() -> TrainingData:
    examples = {
        "track_parcel": ["我的快递到哪了", "查一下物流", "帮我查查包裹在哪", "快递到哪里了", "物流信息查询",
                         "SF1234567890123到哪了", "包裹现在在哪", "查快递"],
        "urge_delivery": ["催一下快递", "帮我催催", "快点送啊", "赶紧派送", "催件", "SF1234567890124 催一下",
                          "麻烦催下派送", "让快递员快点送"],
        "greet": ["你好", "在吗", "hi", "您好", "哈喽", "早上好", "喂", "有人吗"],
    }
    messages = [Message(data={"text": text, "intent": intent})
                for intent, texts in examples.items() for text in texts]
    return TrainingData(messages, regex_features=[{"name": "tracking_number", "pattern": TRACKING}],
                        lookup_tables=[{"name": "carrier", "elements": ["顺丰", "顺丰速运", "极兔"]}])


def test_numbers_and_carriers_become_placeholder_words():
    masks = compile_masks(build_masks(_data(), {"tracking_number": "单号", "carrier": "快递公司"}))
    assert normalise("SF1234567890123催一下", masks).split() == ["单号", "催一下"]
    # The longest carrier name wins, whatever the letter case.
    assert normalise("是顺丰速运的", masks).split() == ["是", "快递公司", "的"]
    assert normalise("😭😭", masks).endswith(EMOJI_WORD)
    assert normalise("好的", masks) == "好的"
    # A number no carrier's format fits still reads as a number.
    others = compile_masks(build_masks(_data(), {"tracking_number": "单号"}, other_numbers="单号"))
    assert normalise("78345612098到哪里了", others).split() == ["单号", "到哪里了"]
    assert normalise("尾号1234", others) == "尾号1234"


def test_places_are_masked_but_pickup_points_and_borders_stay_words():
    places = ["北京", "杭州", "朝阳区", "菜鸟驿站", "丰巢柜", "香港", "杭州转运中心"]
    data = TrainingData([], lookup_tables=[{"name": "location", "elements": places}])
    config = CharNgramIntentClassifier.get_default_config()
    masks = compile_masks(build_masks(data, {"location": "地名"}, keep=config["unmasked"]))
    assert normalise("寄到北京朝阳区的", masks).split() == ["寄到", "地名", "地名", "的"]
    assert normalise("放菜鸟驿站了", masks) == "放菜鸟驿站了"
    assert normalise("在丰巢柜里", masks) == "在丰巢柜里"
    assert normalise("香港的件要清关吗", masks) == "香港的件要清关吗"
    # A hub keeps its kind; its city reads as any city.
    assert normalise("杭州转运中心", masks).split() == ["地名", "转运中心"]


@pytest.fixture
def classifier(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    config = dict(CharNgramIntentClassifier.get_default_config(), calibration_folds=3)
    trained = CharNgramIntentClassifier.create(config, storage, resource, context)
    trained.train(_data())
    return CharNgramIntentClassifier.load(config, storage, resource, context)


def test_a_loaded_model_ranks_every_intent_with_calibrated_confidences(classifier):
    message = Message(data={"text": "SF9876543210987 催一下 急"})
    classifier.process([message])
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "urge_delivery"
    assert [r["name"] for r in ranking][0] == "urge_delivery" and len(ranking) == 3
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6
    assert all(0.0 <= r["confidence"] <= 1.0 for r in ranking)


def test_an_untrained_classifier_leaves_messages_alone(tmp_path):
    context = ExecutionContext(GraphSchema({}), "test")
    empty = CharNgramIntentClassifier.load(CharNgramIntentClassifier.get_default_config(),
                                           LocalModelStorage(tmp_path), Resource("nothing"), context)
    message = Message(data={"text": "你好"})
    empty.process([message])
    assert message.get("intent") is None
