"""The complaint taxonomy: the DESIGN codes, in step with the backend's, and everyday phrasings recognised."""
from __future__ import annotations

import pytest

from actions import complaints, handoff
from actions.problems import COMPLAINT_WORDS, complaint_category
from logistics.tickets.complaints import COMPLAINT_LABEL

DESIGN_CODES = {"locker_no_notice", "no_door_delivery", "fake_signature", "courier_attitude", "rough_handling",
                "delay", "lost", "extra_fee", "no_call", "left_unattended", "pickup_code_missing",
                "outlet_unreachable"}


def test_the_taxonomy_has_the_design_codes_and_matches_the_backend():
    assert DESIGN_CODES <= set(complaints.CATEGORIES) and len(complaints.CATEGORIES) >= 12
    assert complaints.LABELS == COMPLAINT_LABEL
    assert set(COMPLAINT_WORDS) == set(complaints.CATEGORIES)
    # The handoff package names every category in its own words.
    assert set(handoff.COMPLAINTS) == set(complaints.CATEGORIES)


@pytest.mark.parametrize("text, code", [
    ("快递放在丰巢但没通知", "locker_no_notice"),
    ("快递放在丰巢了但是没人通知我", "locker_no_notice"),
    ("没打招呼就把快递放驿站了", "locker_no_notice"),
    ("快递员直接给我放快递柜了", "locker_no_notice"),
    ("快递员把快递放丰巢没跟我说一声", "locker_no_notice"),
    ("快递员不送上门 让我自己下楼拿", "no_door_delivery"),
    ("快递员说太远了不肯送上门", "no_door_delivery"),
    ("我没签收却显示已签收", "fake_signature"),
    ("显示本人签收 可是我人都不在家", "fake_signature"),
    ("快递员态度太差了还骂人", "courier_attitude"),
    ("快递被扔在地上摔坏了", "rough_handling"),
    ("说好昨天到今天还没送到 派送太慢了", "delay"),
    ("你们把我的快递弄丢了", "lost"),
    ("送上楼还要加钱", "extra_fee"),
    ("送货前也不打个电话", "no_call"),
    ("快递放门口被人拿走了", "left_unattended"),
    ("放楼道里被人偷了", "left_unattended"),
    ("一直没收到取件码", "pickup_code_missing"),
    ("驿站电话一直打不通", "outlet_unreachable"),
    ("快递送错地址了", "wrong_delivery"),
    ("根本没来却说联系不上我", "fake_attempt"),
    ("我一直在家 却显示无人签收派送失败", "fake_attempt"),
    ("我要投诉", "other"),
])
def test_everyday_phrasings_are_recognised(text, code):
    assert complaint_category(text) == code
