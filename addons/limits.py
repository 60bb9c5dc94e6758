"""How much of a message the assistant reads: shared by the input channels (addons/channels.py) and the NLU
tokenizer (addons/tokenizer.py).

Jieba's tokenisation time grows with the square of the text's length and runs on Rasa's event loop, so one long
message stalls every conversation (64,000 characters: ~15 s; 1 MB: over 20 minutes). Nothing a customer writes
to a courier needs more than a few hundred characters.
"""
from __future__ import annotations

import os

# Characters of text (Python str length) a message may have; set by MAX_MESSAGE_CHARS.
DEFAULT_MAX_MESSAGE_CHARS = 1000
# Raw bytes of one REST body or one socket.io packet / long-polling POST; set by MAX_MESSAGE_BYTES.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
# Room for the JSON around the text: sender or session id, metadata, escapes (\uXXXX is 6 bytes per character).
BYTES_PER_CHAR = 6
ENVELOPE_BYTES = 8 * 1024


def _positive_int(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def max_message_chars() -> int:
    """The longest message text read (MAX_MESSAGE_CHARS, default 1,000 characters)."""
    return _positive_int("MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS)


def max_message_bytes(max_chars: int | None = None) -> int:
    """The largest raw payload accepted (MAX_MESSAGE_BYTES; default 64 KiB, or more when MAX_MESSAGE_CHARS is
    raised so far that a message at the limit would not fit)."""
    chars = max_message_chars() if max_chars is None else max_chars
    default = max(DEFAULT_MAX_MESSAGE_BYTES, chars * BYTES_PER_CHAR + ENVELOPE_BYTES)
    return _positive_int("MAX_MESSAGE_BYTES", default)
