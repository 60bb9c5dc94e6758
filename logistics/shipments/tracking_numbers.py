"""Tracking-number recognition: per-carrier formats, UPU S10 check digits and extraction from Chinese text."""
from __future__ import annotations

import re
from dataclasses import dataclass

from logistics.textnorm import ascii_digits, fold_digits

CARRIER_CODES: frozenset[str] = frozenset({"sf", "zto", "yto", "sto", "yunda", "jd", "jt", "ems", "postb"})


@dataclass(frozen=True)
class CarrierPattern:
    """One number format of one carrier; `regex` must match the whole normalised number."""

    carrier: str
    regex: str
    description: str
    weight: int
    # Short all-digit formats collide with QQ, order and landline numbers; they are recognised when a customer
    # gives "the tracking number", but never fished out of free text.
    in_text: bool = True


# Formats as printed on Chinese waybills and as accepted by public validators. Many all-digit formats
# are shared between carriers (auto-detection services such as Kuaidi100 智能单号识别 also answer with
# a list), so the ranking by weight is a best guess that the service layer confirms against shipment data.
# Weights: a letter prefix is near-proof (100); long all-digit formats with a distinctive prefix come
# next; short or prefix-free all-digit formats, which several carriers share, come last.
PATTERNS: list[CarrierPattern] = [
    CarrierPattern("sf", r"SF[0-9]{13}", "SF Express: SF + 13 digits, e.g. SF1402837465912", 100),
    CarrierPattern("yto", r"YT[0-9]{13}", "YTO Express: YT + 13 digits, e.g. YT7512345678901", 100),
    CarrierPattern("jt", r"JT[0-9]{13}", "J&T Express: JT + 13 digits, e.g. JT0006968326954", 100),
    CarrierPattern("jd", r"JD[0-9]{13}", "JD Logistics: JD + 13 digits, e.g. JD0012345678901", 100),
    CarrierPattern(
        "jd",
        r"JD[VXK][0-9]{12}",
        "JD Logistics merchant waybill: JDV/JDX/JDK + 12 digits, e.g. JDX012345678901",
        100,
    ),
    CarrierPattern(
        "jd",
        r"JDV[A-E][0-9]{11}",
        "JD Logistics merchant waybill: JDVA..JDVE + 11 digits, e.g. JDVA11408814483",
        100,
    ),
    CarrierPattern(
        "ems",
        r"E[A-Z][0-9]{9}[A-Z]{2}",
        "EMS international (UPU S10, service indicator E), e.g. EA123456785CN; check digit verified",
        95,
    ),
    CarrierPattern(
        "postb",
        r"[A-DF-Z][A-Z][0-9]{9}[A-Z]{2}",
        "China Post or foreign post item (UPU S10, R/L/C/U... indicator), e.g. RR473124829GB; "
        "check digit verified",
        90,
    ),
    CarrierPattern("sto", r"77[0-9]{13}", "STO Express: 15 digits starting 77, e.g. 773012345678901", 80),
    CarrierPattern(
        "zto", r"7[3-68][0-9]{12}", "ZTO Express: 14 digits starting 73/74/75/76/78, e.g. 75312345678901", 80
    ),
    CarrierPattern("yunda", r"[34][0-9]{14}", "Yunda: 15 digits starting 3 or 4, e.g. 462598779470531", 75),
    CarrierPattern(
        "ems",
        r"(?:1[01]|5[01]|9[58])[0-9]{11}",
        "EMS domestic: 13 digits starting 10/11/50/51/95/98, e.g. 1136281381675",
        50,
    ),
    CarrierPattern("sto", r"77[0-9]{11}", "STO Express: 13 digits starting 77 (older range)", 45),
    CarrierPattern(
        "postb", r"9[6-9][0-9]{11}", "China Post domestic parcel (邮政快递包裹): 13 digits starting 96-99", 45
    ),
    CarrierPattern(
        "yunda", r"(?:10|31|43|46)[0-9]{11}", "Yunda (older range): 13 digits starting 10/31/43/46", 40
    ),
    CarrierPattern(
        "sto",
        r"(?:268|368|468|568|668|868|888|900)[0-9]{9}",
        "STO Express legacy: 12 digits starting 268/368/468/568/668/868/888/900",
        40,
    ),
    CarrierPattern("zto", r"[567][0-9]{11}", "ZTO Express legacy: 12 digits starting 5, 6 or 7", 30),
    CarrierPattern("sf", r"[0-9]{12}", "SF Express legacy: any 12 digits (pre-2016 waybills)", 10),
    CarrierPattern(
        "yto",
        r"[0-9]{10}",
        "YTO Express legacy: 10 digits; too ambiguous to pick out of free text",
        5,
        in_text=False,
    ),
]

_COMPILED = [(pattern, re.compile(pattern.regex)) for pattern in PATTERNS]
_S10_SHAPE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as Chinese input methods produce them.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALF_WIDTH[0x3000] = 0x20
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def _to_half_width(text: str) -> str:
    return text.translate(_HALF_WIDTH)


def normalize(raw: str) -> str:
    """Canonical form of a number a person typed: NFKC (half-width letters and digits), other scripts' digits as
    ASCII (٠١٢ -> 012), no spaces or dashes, upper-case letters."""
    return _SEPARATORS.sub("", ascii_digits(raw)).upper()


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of an 8-digit serial number."""
    if len(serial) != 8 or not (serial.isascii() and serial.isdigit()):
        raise ValueError("an S10 serial number has exactly 8 digits")
    check = 11 - sum(int(digit) * weight for digit, weight in zip(serial, _S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(check, check)


def is_valid_s10(number: str) -> bool:
    """True for a well-formed UPU S10 identifier (two letters, 8 digits, check digit, country code)."""
    number = normalize(number)
    return bool(_S10_SHAPE.fullmatch(number)) and s10_check_digit(number[2:10]) == int(number[10])


def candidates(number: str) -> list[str]:
    """Carrier codes whose format fits the whole number, most likely first."""
    number = normalize(number)
    if _S10_SHAPE.fullmatch(number) and not is_valid_s10(number):
        return []
    best: dict[str, int] = {}
    for pattern, compiled in _COMPILED:
        if compiled.fullmatch(number) and pattern.weight > best.get(pattern.carrier, -1):
            best[pattern.carrier] = pattern.weight
    # sorted() is stable, so equal weights keep the order of PATTERNS.
    return sorted(best, key=lambda carrier: -best[carrier])


def _case_insensitive(regex: str) -> str:
    """Rewrite upper-case letters as [Xx] so the pattern needs no IGNORECASE flag (Rasa copies it as is)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
                out.append(char)
            elif char.isupper() and regex[i + 1 : i + 2] == "-" and regex[i + 2 : i + 3].isupper():
                out.append(f"{regex[i:i + 3]}{regex[i:i + 3].lower()}")
                i += 3
                continue
            elif char.isupper():
                out.append(char + char.lower())
            else:
                out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
        elif char.isupper():
            out.append(f"[{char}{char.lower()}]")
        else:
            out.append(char)
        i += 1
    return "".join(out)


# One flag-free regex for every text-safe format. CJK characters count as \w, so \b cannot delimit a
# number glued to Chinese text; the fixed-width lookarounds instead refuse to start or end inside a run
# of letters and digits, which also keeps substrings of longer digit runs and 11-digit mobile numbers out.
TRACKING_NUMBER_REGEX: str = (
    "(?<![A-Za-z0-9])(?:"
    + "|".join(_case_insensitive(pattern.regex) for pattern in PATTERNS if pattern.in_text)
    + ")(?![A-Za-z0-9])"
)
PHONE_NUMBER_REGEX: str = r"(?<![A-Za-z0-9])1[3-9][0-9]{9}(?![0-9])"
PHONE_TAIL_REGEX: str = r"(?<![0-9])[0-9]{4}(?![0-9])"

_TRACKING_IN_TEXT = re.compile(TRACKING_NUMBER_REGEX)


def find_in_text(text: str) -> list[str]:
    """Every plausible tracking number in free text, normalised, in order of appearance, without repeats."""
    found: list[str] = []
    # The half-width mapping and the digit folding are one character for one, so match positions stay meaningful.
    for match in _TRACKING_IN_TEXT.finditer(fold_digits(_to_half_width(text))):
        number = match.group(0).upper()
        if number not in found and candidates(number):
            found.append(number)
    return found
