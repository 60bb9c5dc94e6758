"""The emotion lexicon: levels, urgency, scenes and the signals that decided them."""
from __future__ import annotations

import pytest

from actions.emotion import ANGRY, CALM, UPSET, detect


def test_plain_questions_are_calm():
    emotion = detect(["你好", "我的快递到哪了 SF1402837465912"])
    assert (emotion.level, emotion.urgent, emotion.scene, emotion.signals) == (CALM, False, None, [])


@pytest.mark.parametrize("text", ["什么破快递 气死我了", "你们就是骗子", "再不送我就打12305投诉", "垃圾服务！！！",
                                  "我要去消协曝光你们"])
def test_insults_and_escalation_threats_are_anger(text):
    assert detect([text]).level == ANGRY


def test_repeated_contact_is_upset_and_with_shouting_becomes_anger():
    assert detect(["说了几遍了 还没送到"]).level == UPSET
    assert detect(["说了几遍了 还没送到？？？"]).level == ANGRY


def test_all_caps_counts_but_tracking_numbers_do_not():
    assert "ALL CAPS" in detect(["WHERE IS MY PARCEL"]).signals
    assert detect(["SF1402837465912", "EA528301463AU"]).level == CALM


def test_hotline_digits_inside_a_tracking_number_are_not_a_threat():
    assert detect(["单号 731234567890 到哪了"]).level == CALM


def test_urgency_and_scenes():
    medicine = detect(["里面是药 老人等着吃"])
    assert medicine.scene == "medicine" and medicine.urgent
    assert detect(["生日礼物 明天要用"]).scene == "gift"
    assert detect(["明天要用 急"]).urgent
    assert detect(["海鲜晚了三天 肯定坏了"]).scene == "fresh"
    assert detect(["奶粉在清关"]).scene == "international"


def test_old_anger_counts_half():
    calm_now = detect(["气死了", "好的", "谢谢", "明白了"])
    assert calm_now.level == UPSET
