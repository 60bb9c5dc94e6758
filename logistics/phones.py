"""Chinese mobile numbers: validation and the 138****1234 masking every answer uses."""
from __future__ import annotations

import re

MOBILE = re.compile(r"1[3-9]\d{9}")


def normalize_phone(value: object) -> str:
    """Strip separators and a +86 prefix; raise ValueError unless a mainland mobile number remains."""
    if not isinstance(value, str):
        raise ValueError("phone must be a string of 11 digits")
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE.fullmatch(digits):
        raise ValueError("phone must be a mainland mobile number such as 13812345678")
    return digits


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
