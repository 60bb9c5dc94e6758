"""Time handling: the database keeps naive UTC, the API speaks ISO 8601 in China Standard Time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def utcnow() -> datetime:
    """Current time as naive UTC, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601; a time without offset is taken as China Standard Time. Returns naive UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def to_iso(value: datetime | None) -> str | None:
    """Render a stored naive-UTC time as ISO 8601 with the +08:00 offset."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(CST).isoformat(timespec="seconds")
