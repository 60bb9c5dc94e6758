"""Time handling: the database keeps naive UTC, the API speaks ISO 8601 in China Standard Time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def utcnow() -> datetime:
    """Current time as naive UTC, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Times the system accepts from clients: scans, promises, due times. Outside this range a time is a typo or an
# attack (year 1 or 9999 with a -23:59 offset overflows datetime when converted to UTC or back to +08:00).
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601; a time without offset is taken as China Standard Time. Returns naive UTC.

    ValueError (with a message fit for the client) unless it is a valid time in EARLIEST_YEAR..LATEST_YEAR."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an ISO 8601 date-time string such as 2026-11-25T10:00:00+08:00")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time (such as 2026-11-25T10:00:00+08:00): {text[:40]!r}") from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"time must be between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31, not {text[:40]}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def to_iso(value: datetime | None) -> str | None:
    """Render a stored naive-UTC time as ISO 8601 with the +08:00 offset."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(CST).isoformat(timespec="seconds")
