"""Locale formatting of data for responses (times as Chinese users read them); the phrasing stays in the domain."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))


def _parse(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def scan_time(iso: str | None, now: datetime | None = None) -> str:
    """'11月24日 18:05' from an ISO 8601 time; the year only when it is not this year."""
    if not iso:
        return ""
    moment = _parse(iso).astimezone(CST)
    now = (now or datetime.now(CST)).astimezone(CST)
    day = f"{moment.month}月{moment.day}日" if moment.year == now.year else \
        f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{day} {moment:%H:%M}"


def _part_of_day(hour: int) -> str:
    if hour < 6:
        return "凌晨"
    if hour < 12:
        return "上午"
    if hour < 14:
        return "中午"
    if hour < 18:
        return "下午"
    return "晚上"


def clock_phrase(iso: str | None, now: datetime | None = None) -> str:
    """'今晚 20 点' / '明天上午 10 点' / '11月28日下午 3 点': a promise people can hold us to, to the hour."""
    if not iso:
        return ""
    moment = _parse(iso).astimezone(CST)
    now = (now or datetime.now(CST)).astimezone(CST)
    # Round up to the next full hour: "20 点前" must not be earlier than the estimate.
    if moment.minute or moment.second:
        moment = (moment + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    days = (moment.date() - now.date()).days
    hour = moment.hour
    display = hour if hour <= 12 or hour >= 18 else hour - 12
    if days == 0:
        day = "今晚" if hour >= 18 else "今天" + _part_of_day(hour)
    elif days == 1:
        day = "明晚" if hour >= 18 else "明天" + _part_of_day(hour)
    elif days == 2:
        day = "后天" + _part_of_day(hour)
    else:
        day = f"{moment.month}月{moment.day}日" + _part_of_day(hour)
    if hour >= 18:
        display = hour
    return f"{day} {display} 点"


def duration_phrase(hours: float) -> str:
    """'3 天' / '5 小时' / '40 分钟' for how long something has waited."""
    if hours >= 36:
        return f"{int(round(hours / 24))} 天"
    if hours >= 1:
        return f"{int(round(hours))} 小时"
    return f"{max(int(hours * 60), 1)} 分钟"


def mask_number(number: str) -> str:
    """SF14****5912: enough to tell one's parcels apart on a button."""
    return number if len(number) <= 8 else f"{number[:4]}****{number[-4:]}"


# A mainland mobile number anywhere in a user's words (also written 139 1234 5678 or +86-139-...).
MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")


def mask_phones(text: str) -> str:
    """139****5678 for every mobile number, so the bot never quotes a full one back."""
    return MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text or "")
