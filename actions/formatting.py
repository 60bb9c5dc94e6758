"""Locale formatting of data for responses (dates the way Chinese users read them); no phrasing here."""
from __future__ import annotations

from datetime import datetime


def scan_time(iso: str | None, now: datetime | None = None) -> str:
    """'11月24日 18:05' from an ISO 8601 time with offset; the year only when it is not this year."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    now = now or datetime.now(moment.tzinfo)
    day = f"{moment.month}月{moment.day}日" if moment.year == now.year else \
        f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{day} {moment:%H:%M}"
