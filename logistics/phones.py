"""Chinese mobile numbers: validation and the 138****1234 masking every answer uses."""
from __future__ import annotations

import re

from logistics.textnorm import ascii_digits

MOBILE = re.compile(r"1[3-9][0-9]{9}")
TAIL = re.compile(r"[0-9]{4}")
_SEPARATORS = re.compile(r"[\s\-()\u2010-\u2015\u2212]")
# Far longer than any way of writing a phone number: refused before any work is done on it.
_MAX_TYPED = 40


def normalize_phone(value: object) -> str:
    """Digits of any script as ASCII (１３８, ١٣٨), separators and a +86 prefix stripped; raise ValueError unless a
    mainland mobile number remains. The result is the one form stored and looked up."""
    if not isinstance(value, str):
        raise ValueError("phone must be a string of 11 digits")
    if len(value) > _MAX_TYPED:
        raise ValueError("phone must be a mainland mobile number such as 13812345678")
    digits = _SEPARATORS.sub("", ascii_digits(value))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE.fullmatch(digits):
        raise ValueError("phone must be a mainland mobile number such as 13812345678")
    return digits


def normalize_tail(value: object) -> str:
    """The last four digits of a phone as ASCII (５５５５ and ٥٥٥٥ are 5555); ValueError otherwise."""
    if not isinstance(value, str) or len(value) > _MAX_TYPED:
        raise ValueError("phone_tail must be the last 4 digits of a phone number")
    tail = _SEPARATORS.sub("", ascii_digits(value))
    if not TAIL.fullmatch(tail):
        raise ValueError("phone_tail must be the last 4 digits of a phone number")
    return tail


def mask_phone(phone: str | None) -> str | None:
    """138****1234: enough for a person to recognise their own number, not enough to call it."""
    if not phone:
        return phone
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "****"


def mask_name(name: str | None) -> str | None:
    """张** for a Chinese name; first letter and stars otherwise."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(1[3-9]\d)(\d{4})(\d{4})(?![0-9])")


def mask_phones_in_text(text: str | None) -> str | None:
    """Mask every mobile number inside free text (scan descriptions often carry a courier's or station's)."""
    if not text:
        return text
    return _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
