"""The bot's messages as WeChat text: buttons as numbered options, the timeline as lines, pieces under the limit.

WeChat shows plain text only (passive replies and customer-service messages alike) and cuts a text at about
2,048 bytes, so a turn's messages are joined with blank lines and split at line ends (never inside a character)
into pieces that fit.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

# WeChat's limit for one text message (passive reply or custom/send), in UTF-8 bytes.
MAX_TEXT_BYTES = 2048
# How many scans of a trajectory a chat message shows (newest first); the rest is counted.
TIMELINE_EVENTS = 5

CHOOSE_HINT = "（回复数字即可选择）"
AGENT_PREFIX = "【{agent}】"


@dataclass
class Option:
    key: str
    title: str
    payload: str


@dataclass
class Rendered:
    """One turn's output: the text pieces to send, in order, and the options a number answers (None when the
    turn offered no choice)."""

    pieces: List[str] = field(default_factory=list)
    options: Optional[List[Option]] = None
    # Agent replies among the messages, for bookkeeping when delivery fails: {"handoff_id", "message_id"}.
    agent_messages: List[Dict[str, Any]] = field(default_factory=list)


def options_from(buttons: Iterable[Dict[str, Any]]) -> List[Option]:
    """Buttons numbered 1, 2, 3... in the order the bot gave them."""
    found = []
    for button in buttons:
        payload = str(button.get("payload") or button.get("title") or "")
        title = str(button.get("title") or payload)
        if payload:
            found.append(Option(key=str(len(found) + 1), title=title, payload=payload))
    return found


def render_options(options: List[Option]) -> str:
    return "\n".join(f"{o.key}. {o.title}" for o in options) + "\n" + CHOOSE_HINT


def choice(text: str, options: Optional[List[Dict[str, Any]]]) -> Optional[Dict[str, Any]]:
    """The option a reply such as "2" (or "２", "2.") picks from the options offered last; None otherwise."""
    if not options or not text:
        return None
    key = unicodedata.normalize("NFKC", text).strip().rstrip(".。、)")
    if not re.fullmatch(r"\d{1,2}", key):
        return None
    key = str(int(key))
    return next((o for o in options if o.get("key") == key), None)


def _time(iso: Optional[str]) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%m-%d %H:%M")
    except ValueError:
        return str(iso)[:16]


def timeline_text(data: Dict[str, Any]) -> str:
    """The trajectory payload the web widget draws, as readable lines (newest first)."""
    head = " ".join(str(x) for x in (data.get("carrier_name") or data.get("carrier"), data.get("tracking_number"))
                    if x)
    status = data.get("status_label") or data.get("status")
    lines = [f"📦 {head}" + (f"（{status}）" if status else "")]
    events = data.get("events") or []
    for event in events[:TIMELINE_EVENTS]:
        words = [_time(event.get("time")), event.get("location") or "",
                 event.get("description") or event.get("status_label") or event.get("status") or ""]
        lines.append("· " + " ".join(w for w in words if w))
    if len(events) > TIMELINE_EVENTS:
        lines.append(f"…… 共 {len(events)} 条记录")
    return "\n".join(lines)


def custom_text(custom: Any) -> Optional[str]:
    """A custom payload as text, when it is one WeChat users should see."""
    data = custom.get("data") if isinstance(custom, dict) and isinstance(custom.get("data"), dict) else custom
    if not isinstance(data, dict):
        return None
    if data.get("type") == "timeline":
        return timeline_text(data)
    return None


def render_messages(messages: Iterable[Dict[str, Any]], limit: int = MAX_TEXT_BYTES) -> Rendered:
    """A turn's bot messages (as Rasa's output channels receive them) rendered for WeChat."""
    out = Rendered()
    blocks: List[str] = []
    for message in messages:
        custom = message.get("custom")
        data = custom.get("data") if isinstance(custom, dict) else None
        text = (message.get("text") or "").strip()
        if isinstance(data, dict) and data.get("type") == "agent_message":
            # The agent's words arrive as the text; the payload says who wrote them.
            out.agent_messages.append({"handoff_id": data.get("handoff_id"), "message_id": data.get("message_id")})
            text = AGENT_PREFIX.format(agent=data.get("agent") or "人工客服") + (text or str(data.get("text") or ""))
        buttons = message.get("buttons") or message.get("quick_replies")
        if buttons:
            options = options_from(buttons)
            if options:
                out.options = options
                text = (text + "\n" if text else "") + render_options(options)
        if text:
            blocks.append(text)
        if custom is not None and not (isinstance(data, dict) and data.get("type") == "agent_message"):
            extra = custom_text(custom)
            if extra:
                blocks.append(extra)
        for key, label in (("image", "图片"), ("attachment", "附件")):
            if message.get(key):
                blocks.append(f"[{label}] {message[key]}")
    out.pieces = split_text("\n\n".join(blocks), limit)
    return out


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _hard_split(text: str, limit: int) -> List[str]:
    """Cut a line longer than the limit between characters."""
    pieces, current = [], ""
    for char in text:
        if _size(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    if current:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> List[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at paragraph, then line ends, then between characters."""
    text = text.strip()
    if not text:
        return []
    if _size(text) <= limit:
        return [text]
    pieces: List[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if _size(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            pieces.append(current.strip("\n"))
        if _size(line) <= limit:
            current = line
        else:
            *full, current = _hard_split(line, limit)
            pieces.extend(full)
    if current.strip():
        pieces.append(current.strip("\n"))
    return pieces
