"""Every response variant in domain/, rendered as addons/nlg.py renders it, with each combination of present and
absent values the actions can produce: no empty brackets, no dangling words, no doubled or mixed punctuation,
no None, no template variable left over."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import yaml

from addons.nlg import PLACEHOLDER, SEGMENT, render

ROOT = Path(__file__).resolve().parents[1]

# Values an action always sets before the responses that use them are uttered; every other slot may be empty
# (a parcel created without a promised time, goods description, insured value, outlet phone, ETA or place).
ALWAYS_PRESENT = {
    "tracking_number", "carrier_name", "status_label", "ticket_ref", "ticket_due", "ticket2_ref", "ticket2_due",
    "ticket_age", "ticket_count", "tickets_text", "review_days", "evidence_ticket_ref", "evidence_count",
    "evidence_review_hours", "bind_phone_masked", "bind_demo_code", "bind_attempts_left", "choice_count",
    "handoff_position", "handoff_wait", "handoff_summary", "rating", "tail_attempts_left", "lock_minutes",
    "max_chars", "late_by", "followup_ref", "followup_process", "supplement_text",
    # actions/followup.py followup_slots: the ticket's status label (else its status) and its review or SLA due
    # time (tickets.sla_due_at is NOT NULL), set together with followup_ref before utter_followup.
    "followup_status", "followup_due",
    # actions/problems.py handle_supplement: supplement_noted only when the parcel has open tickets, whose refs
    # it names.
    "supplement_refs",
    # actions/tracking.py choice_slots: a title (carrier, masked number, ...) for each of the choice_count parcels
    # shown; each chooser variation's buttons use only the first choice_count of them.
    "choice_1_title", "choice_2_title", "choice_3_title", "choice_4_title",
}
SAMPLES = {
    "last_scan_time": "12月7日 08:00", "last_scan_location": "成都武侯区科华北路营业部", "eta_delivery": "今晚 20 点",
    "eta_next": "明天上午 10 点", "last_scan_description": "快件已到达营业部", "waited": "5 小时",
    "promised_time": "12月7日 18 点", "late_by": "13 小时", "ticket_due": "今天 16:30", "ticket_ref": "T12",
    "tracking_number": "SF1234567890123", "carrier_name": "顺丰速运", "status_label": "派送中",
    "courier_phone": "138****0000", "courier_name": "王*", "insured_value": "2000", "max_payout": "2000",
    "terms_summary": "按保价金额赔付", "next_stop": "成都转运中心", "hold_reason": "暴雨导致中转场积压",
    "outlet_name": "科华北路营业部", "promised_hours": "24", "complaint_place": "科华北路营业部",
    "signed_by": "门卫代签", "customs_days": "3 天", "origin": "上海", "destination": "北京",
    "goods_description": "大闸蟹(6只装)",
    "choice_hint_goods": "大闸蟹", "choice_hint_place": "上海", "choice_count": "3",
    "choice_1_title": "中通快递 7581****7465 大闸蟹(8只装) 上海→北京 到达转运中心",
    "choice_2_title": "圆通速递 YT88****6912 连衣裙 广州→北京 派送中",
    "choice_3_title": "EMS EA52****63AU 奶粉(海外直邮) 澳大利亚悉尼→北京 清关中",
    "choice_4_title": "京东快递 JD00****9806 蓝牙耳机 深圳→北京 已入柜",
    "ticket2_ref": "T13", "ticket2_due": "明天上午 10 点", "ticket_age": "20 分钟", "review_days": "3",
    "followup_ref": "T12", "followup_process": "理赔", "followup_status": "处理中", "followup_due": "明天下午 3 点",
    "supplement_text": "我家是老小区没电梯", "supplement_refs": "理赔单 T12",
    "pickup_place": "妈妈驿站(明珠小区店)", "arrived_time": "今天上午 10 点",
    "evidence_ticket_ref": "T12", "evidence_count": "3", "evidence_review_hours": "24",
    "handoff_position": "2", "handoff_wait": "5", "outlet_phone": "028-8888****",
}
BROKEN = [
    (re.compile(r"（\s*）|\(\s*\)|「\s*」|【\s*】"), "empty brackets"),
    (re.compile(r"None|null|\{|\}|\[\[|\]\]"), "a template variable or None left in"),
    (re.compile(r"[，、；：]\s*[。！？，]|[。！？]\s*[，、；。]"), "doubled or mixed punctuation"),
    (re.compile(r"^[，。；、：]"), "text starting with punctuation"),
    (re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])"), "a stray space between Chinese characters"),
    (re.compile(r"(?:预计|承诺|在|于|到|由|已等|还有|约)(?:[，。！？（]|前|后送达)|：\s*[，。]"),
     "a dangling word where a value is missing"),
]
COUNTS = {"variants": 0, "renderings": 0}


def _responses() -> list:
    found = []
    for path in sorted((ROOT / "domain").glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            for index, variant in enumerate(variants):
                for field, text in _texts(variant):
                    found.append(pytest.param(name, text, id=f"{name}[{index}].{field}"))
    return found


def _texts(variant: dict):
    if isinstance(variant.get("text"), str):
        yield "text", variant["text"]
    for i, button in enumerate(variant.get("buttons") or []):
        if isinstance(button.get("title"), str):
            yield f"button{i}", button["title"]


RESPONSES = _responses()


@pytest.mark.parametrize(("name", "template"), RESPONSES)
def test_optional_values_sit_inside_optional_segments(name, template):
    outside = PLACEHOLDER.findall(_without_segments(template))
    loose = sorted(set(outside) - ALWAYS_PRESENT)
    assert not loose, f"{name}: {loose} may be empty but is not inside [[...]]: {template}"


@pytest.mark.parametrize(("name", "template"), RESPONSES)
def test_every_combination_of_present_and_absent_values_reads_well(name, template):
    optional = sorted(set(PLACEHOLDER.findall(template)) - ALWAYS_PRESENT)
    COUNTS["variants"] += 1
    combos = list(itertools.product((True, False), repeat=len(optional)))[:512]
    for combo in combos:
        values = {slot: SAMPLES.get(slot, "示例") for slot in PLACEHOLDER.findall(template)}
        values.update({slot: (SAMPLES.get(slot, "示例") if present else "") for slot, present in zip(optional, combo)})
        text = render(template, values)
        COUNTS["renderings"] += 1
        assert text.strip(), f"{name} renders empty with {values}"
        for pattern, what in BROKEN:
            match = pattern.search(text)
            assert match is None, f"{name}: {what} ({match.group(0)!r}) in {text!r} with absent " \
                                  f"{[s for s, p in zip(optional, combo) if not p]}"


def test_the_counts_are_reported():
    print(f"response variants rendered: {len(RESPONSES)}; renderings checked so far: {COUNTS['renderings']}")
    assert len(RESPONSES) > 100


def _without_segments(template: str) -> str:
    previous = None
    while previous != template:
        previous, template = template, SEGMENT.sub("", template)
    return template
