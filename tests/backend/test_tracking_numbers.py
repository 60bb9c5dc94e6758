"""Tests of carrier number formats, UPU S10 check digits and tracking-number extraction from Chinese text."""
from __future__ import annotations

import re

import pytest

from logistics.shipments.tracking_numbers import (
    CARRIER_CODES,
    PATTERNS,
    PHONE_NUMBER_REGEX,
    PHONE_TAIL_REGEX,
    TRACKING_NUMBER_REGEX,
    candidates,
    find_in_text,
    is_valid_s10,
    normalize,
    s10_check_digit,
)

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10(prefix: str, serial: str, country: str) -> str:
    """Build an S10 number with an independently computed check digit."""
    check = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS)) % 11
    check = 0 if check == 10 else 5 if check == 11 else check
    return f"{prefix}{serial}{check}{country}"


def wrong_check(number: str) -> str:
    return number[:10] + str((int(number[10]) + 1) % 10) + number[11:]


# --- the table ---


def test_carrier_codes_are_the_agreed_lower_case_set():
    assert CARRIER_CODES == {"sf", "zto", "yto", "sto", "yunda", "jd", "jt", "ems", "postb"}


def test_every_pattern_names_a_known_carrier_and_describes_itself():
    for pattern in PATTERNS:
        assert pattern.carrier in CARRIER_CODES
        assert pattern.description.strip()
        assert pattern.weight >= 0
        re.compile(pattern.regex)


def test_every_carrier_has_at_least_one_pattern():
    assert {pattern.carrier for pattern in PATTERNS} == CARRIER_CODES


# --- normalize ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sf1402837465912", "SF1402837465912"),
        (" SF 1402 8374 65912 ", "SF1402837465912"),
        ("7730-1234-5678-901", "773012345678901"),
        ("ＳＦ１４０２８３７４６５９１２", "SF1402837465912"),
        ("ｊｄ００１２３４５６７８９０１", "JD0012345678901"),
        ("EA\u3000123456785\u3000cn", "EA123456785CN"),
        ("773\u2014012345678901", "773012345678901"),
        ("773－012345678901", "773012345678901"),
        ("\t462598779470531\n", "462598779470531"),
    ],
)
def test_normalize_strips_separators_folds_width_and_upper_cases(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent():
    assert normalize(normalize(" ｓｆ 1402-837465912 ")) == "SF1402837465912"


# --- S10 ---


def test_s10_check_digit_of_the_classic_example_rr473124829gb_is_9():
    assert s10_check_digit("47312482") == 9


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("12345678", 5),
        ("00000001", 4),
        ("10000000", 3),
        ("00000008", 0),  # 11 - 10 -> 0
        ("00000000", 5),  # 11 - 0 -> 5
        ("11111111", 5),
        ("13579246", 1),
    ],
)
def test_s10_check_digit_follows_the_upu_weights_and_special_cases(serial, expected):
    assert s10_check_digit(serial) == expected


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567A", "", "１２３４５６７８"])
def test_s10_check_digit_rejects_anything_but_eight_ascii_digits(serial):
    with pytest.raises(ValueError):
        s10_check_digit(serial)


@pytest.mark.parametrize(
    "number",
    [
        "RR473124829GB",
        "rr473124829gb",
        "EA123456785CN",
        s10("EE", "00000008", "CN"),
        s10("LK", "00000000", "CN"),
        s10("CP", "98765432", "US"),
        s10("RB", "13579246", "CN"),
    ],
)
def test_valid_s10_numbers_are_accepted(number):
    assert is_valid_s10(number)


@pytest.mark.parametrize(
    "number",
    [
        "RR473124828GB",
        "EA123456784CN",
        wrong_check(s10("EE", "00000008", "CN")),
        "RR47312482GB",
        "RR4731248299GB",
        "R1473124829GB",
        "RR473124829G",
        "",
    ],
)
def test_invalid_s10_numbers_are_rejected(number):
    assert not is_valid_s10(number)


def test_s10_with_wrong_check_digit_is_rejected():
    assert candidates("RR473124828GB") == []
    assert candidates(wrong_check(s10("EA", "12345678", "CN"))) == []


# --- candidates ---


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("SF1402837465912", "sf"),
        ("sf1402837465912", "sf"),
        ("123456789012", "sf"),
        ("75312345678901", "zto"),
        ("73123456789012", "zto"),
        ("78123456789012", "zto"),
        ("531234567890", "zto"),
        ("YT7512345678901", "yto"),
        ("1234567890", "yto"),
        ("773012345678901", "sto"),
        ("7712345678901", "sto"),
        ("268123456789", "sto"),
        ("888123456789", "sto"),
        ("462598779470531", "yunda"),
        ("312345678901234", "yunda"),
        ("3112345678901", "yunda"),
        ("JD0012345678901", "jd"),
        ("JDX012345678901", "jd"),
        ("JDV012345678901", "jd"),
        ("JDVA11408814483", "jd"),
        ("JDVC11408814483", "jd"),
        ("JT0006968326954", "jt"),
        ("1136281381675", "ems"),
        ("5012345678901", "ems"),
        ("9512345678901", "ems"),
        ("EA123456785CN", "ems"),
        ("9912345678901", "postb"),
        ("RR473124829GB", "postb"),
        (s10("LK", "00000000", "CN"), "postb"),
    ],
)
def test_valid_number_is_recognised_with_its_carrier_first(number, carrier):
    assert candidates(number)[0] == carrier


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("SF140283746591", "sf"),  # 12 digits after SF
        ("SF14028374659123", "sf"),  # 14 digits after SF
        ("SX1402837465912", "sf"),
        ("79123456789012", "zto"),  # 14 digits, prefix 79
        ("77123456789012", "zto"),  # 14 digits, prefix 77 belongs to STO's 15-digit range
        ("YT751234567890", "yto"),
        ("YT75123456789012", "yto"),
        ("123456789", "yto"),
        ("783012345678901", "sto"),  # 15 digits not starting 77
        ("7701234567890123", "sto"),
        ("512345678901234", "yunda"),  # 15 digits starting 5
        ("JD001234567890", "jd"),
        ("JDZ012345678901", "jd"),
        ("JDVF11408814483", "jd"),
        ("JT000696832695", "jt"),
        ("JT00069683269541", "jt"),
        ("1236281381675", "ems"),  # 13 digits starting 12
        ("EA12345678CN", "ems"),
    ],
)
def test_invalid_number_does_not_fit_that_carrier(number, carrier):
    assert carrier not in candidates(number)


@pytest.mark.parametrize("number", ["", "ABC", "13812345678", "12345", "SF", "我的单号", "1" * 30])
def test_non_numbers_and_phone_numbers_fit_nothing(number):
    assert candidates(number) == []


def test_ambiguous_number_lists_every_fitting_carrier_best_first():
    assert candidates("1012345678901") == ["ems", "yunda"]
    assert candidates("9812345678901") == ["ems", "postb"]
    assert candidates("568123456789") == ["sto", "zto", "sf"]


def test_candidates_normalises_before_matching():
    assert candidates(" ｓｆ1402-8374-65912 ") == ["sf"]


def test_candidates_has_no_duplicate_carriers():
    for number in ["JDV012345678901", "568123456789", "7712345678901"]:
        result = candidates(number)
        assert len(result) == len(set(result))


# --- extraction from text ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SF1402837465912催投一直没送", ["SF1402837465912"]),
        ("单号是773012345678901麻烦查下", ["773012345678901"]),
        ("jd0012345678901到哪了", ["JD0012345678901"]),
        ("EA123456785CN清关", ["EA123456785CN"]),
        ("我的快递ＳＦ１４０２８３７４６５９１２怎么还没到", ["SF1402837465912"]),
        ("电话13812345678，单号YT7512345678901", ["YT7512345678901"]),
        ("手机号15912345678帮我查一下", []),
        ("中通75312345678901三天没动了", ["75312345678901"]),
        ("韵达462598779470531显示已签收但我没收到", ["462598779470531"]),
        ("极兔jt0006968326954派送失败", ["JT0006968326954"]),
        ("两个单号SF1402837465912和SF1402837465913都查一下", ["SF1402837465912", "SF1402837465913"]),
        ("订单号20231105123456789012不是快递单号", []),
        ("EA123456784CN这个单号对吗", []),
        ("rr473124829gb国际小包到哪了", ["RR473124829GB"]),
        ("京东JDVA11408814483买的东西还没发", ["JDVA11408814483"]),
        ("ems单号1136281381675寄到北京", ["1136281381675"]),
        ("申通老单号268123456789能查吗", ["268123456789"]),
        ("尾号5678的手机收件人", []),
        ("重复发了SF1402837465912，SF1402837465912", ["SF1402837465912"]),
        ("+8613812345678是我的电话", []),
        ("单号：SF1402837465912。", ["SF1402837465912"]),
        ("圆通YT75123456789012多了一位", []),
        ("QQ号1234567890加我", []),
        ("单号 SF1402837465912 谢谢", ["SF1402837465912"]),
        ("我的快递单号是：中通 75312345678901，收件人电话 138-1234-5678", ["75312345678901"]),
        ("１３８１２３４５６７８是手机，７７３０１２３４５６７８９０１是单号", ["773012345678901"]),
        ("JDX012345678901和jt0006968326954一起查", ["JDX012345678901", "JT0006968326954"]),
        ("邮政包裹9912345678901到哪里了", ["9912345678901"]),
        ("", []),
        ("你好，我想查快递", []),
    ],
)
def test_find_in_text_extracts_tracking_numbers_from_chinese_text(text, expected):
    assert find_in_text(text) == expected


def test_find_in_text_never_returns_a_mobile_number():
    text = "收件人13812345678，寄件人18600001111，单号773012345678901"
    found = find_in_text(text)
    assert found == ["773012345678901"]
    assert not any(re.fullmatch(PHONE_NUMBER_REGEX, number) for number in found)


def test_find_in_text_does_not_return_substrings_of_longer_digit_runs():
    assert find_in_text("流水号7730123456789012345") == []
    assert find_in_text("编号A773012345678901") == []


# --- regex strings for Rasa ---


@pytest.mark.parametrize("regex", [TRACKING_NUMBER_REGEX, PHONE_NUMBER_REGEX, PHONE_TAIL_REGEX])
def test_exported_regexes_compile_without_flags_or_named_groups(regex):
    compiled = re.compile(regex)
    assert compiled.flags == re.UNICODE
    assert "(?P" not in regex
    assert compiled.groups == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SF1402837465912催投一直没送", "SF1402837465912"),
        ("单号是773012345678901麻烦查下", "773012345678901"),
        ("jd0012345678901到哪了", "jd0012345678901"),
        ("EA123456785CN清关", "EA123456785CN"),
        ("中通75312345678901三天没动了", "75312345678901"),
        ("韵达462598779470531显示已签收", "462598779470531"),
    ],
)
def test_tracking_number_regex_finds_numbers_next_to_cjk_without_help(text, expected):
    match = re.search(TRACKING_NUMBER_REGEX, text)
    assert match is not None
    assert match.group(0) == expected


@pytest.mark.parametrize(
    "text", ["手机号15912345678帮我查一下", "订单号20231105123456789012", "QQ1234567890", "尾号5678"]
)
def test_tracking_number_regex_ignores_phones_long_runs_and_short_numbers(text):
    assert re.search(TRACKING_NUMBER_REGEX, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我手机13812345678", ["13812345678"]),
        ("电话是19912345678谢谢", ["19912345678"]),
        ("12812345678", []),
        ("单号773012345678901", []),
        ("138123456789", []),
    ],
)
def test_phone_number_regex_finds_mobiles_outside_longer_digit_runs(text, expected):
    assert re.findall(PHONE_NUMBER_REGEX, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机尾号5678", ["5678"]),
        ("后四位是1234吧", ["1234"]),
        ("12345", []),
        ("13812345678", []),
        ("尾号是 0021 和 1189", ["0021", "1189"]),
    ],
)
def test_phone_tail_regex_finds_four_digits_outside_longer_digit_runs(text, expected):
    assert re.findall(PHONE_TAIL_REGEX, text) == expected
