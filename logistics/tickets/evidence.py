"""Evidence photos: what an upload may contain (JPEG, PNG or WebP by their bytes, at most 8 MiB) and how it is read."""
from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from logistics.errors import ApiError

MAX_BYTES = 8 * 1024 * 1024
# Multipart boundaries, part headers and the other fields of an upload stay well below this.
FORM_OVERHEAD = 64 * 1024
MAX_PER_TICKET = 20
ALLOWED_TYPES = ("image/jpeg", "image/png", "image/webp")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# Declared types that say nothing about the content; some phone apps send these for every file.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_DATA_URL = re.compile(r"^data:([\w.+/-]*)(?:;[\w=.-]+)*;base64,", re.IGNORECASE)


def too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"an evidence file may be at most {MAX_BYTES // (1024 * 1024)} MiB")


def max_body(mimetype: str) -> int:
    """The largest request body worth reading for an upload of this kind."""
    if mimetype == "application/json":
        # Base64 grows the data by a third; line-wrapped base64 (escaped newlines in JSON) by a little more.
        return MAX_BYTES * 3 // 2 + FORM_OVERHEAD
    return MAX_BYTES + FORM_OVERHEAD


def sniff(data: bytes) -> str | None:
    """The image type the bytes themselves show, whatever the client declared."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def content_type_of(data: bytes, declared: str | None) -> str:
    """Check an upload and return its real type; 400 when empty, 415 when it is not an accepted image."""
    if not data:
        raise ApiError(400, "empty_file", "the uploaded file is empty")
    if len(data) > MAX_BYTES:
        raise too_large()
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if declared and declared not in GENERIC_TYPES and declared not in ALLOWED_TYPES:
        raise ApiError(415, "unsupported_media_type",
                       f"evidence must be a photo ({', '.join(ALLOWED_TYPES)}), not {declared[:80]}")
    detected = sniff(data)
    if detected is None:
        raise ApiError(415, "unsupported_media_type",
                       "the file is not a JPEG, PNG or WebP image (its content was checked, not only its name)")
    # A photo renamed .png that is really a JPEG is still a photo: the bytes decide the stored type.
    return detected


def clean_filename(name: str | None, content_type: str) -> str:
    """A display-safe file name: no directories or control characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not base:
        base = f"evidence.{EXTENSIONS[content_type]}"
    return base[-200:]


def decode_base64(text: str) -> tuple[bytes, str | None]:
    """Decode standard base64, optionally as a data: URL; return the bytes and the URL's declared type."""
    declared = None
    match = _DATA_URL.match(text)
    if match:
        declared = match.group(1) or None
        text = text[match.end():]
    compact = "".join(text.split())
    if len(compact) > (MAX_BYTES + 2) // 3 * 4:
        raise too_large()
    if not compact:
        raise ApiError(400, "empty_file", "data_base64 is empty")
    try:
        return base64.b64decode(compact, validate=True), declared
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_base64", "data_base64 is not valid base64") from None
