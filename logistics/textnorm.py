"""Text a person typed, made canonical before it is validated, stored or looked up: every script's digits as ASCII.

Chinese input methods type full-width digits and letters (１３７ＳＦ), the ideographic space and full-width
dashes; Arabic and Persian keyboards type ٠١٢ / ۰۱۲, Indian ones ०१२. Phone numbers, phone tails and tracking numbers
are the same whichever were typed, so they are folded to ASCII before anything else looks at them.
"""
from __future__ import annotations

import unicodedata


def fold_digits(text: str) -> str:
    """Every decimal digit of any script (Unicode category Nd) as its ASCII digit, one character for one, so
    positions found in the result are valid in the original text."""
    if text.isascii():
        return text
    return "".join(_ascii_digit(ch) for ch in text)


def _ascii_digit(ch: str) -> str:
    if ch.isascii():
        return ch
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def ascii_digits(text: str) -> str:
    """NFKC (full-width ASCII, the ideographic space, compatibility forms such as ² or ①) and then the other
    scripts' decimal digits as ASCII digits."""
    if text.isascii():
        return text
    return fold_digits(unicodedata.normalize("NFKC", text))


def ascii_code(value: str) -> str:
    """A one-time code typed on any keyboard (１２３４５６, ١٢٣٤٥٦) as ASCII digits; ValueError unless 1-12 digits."""
    code = ascii_digits(value).strip()
    if not (0 < len(code) <= 12 and code.isascii() and code.isdigit()):
        raise ValueError("code must be digits")
    return code
