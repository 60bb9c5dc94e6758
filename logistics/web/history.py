"""A web conversation's history as the widget draws it, read from Rasa's tracker, each message with a stable id."""
from __future__ import annotations

import hashlib
import json

from logistics.rasa_client import messages

# Messages the widget sends on the user's behalf (a photo's notice to the bot) carry metadata saying what to show.
HIDDEN_PREFIX = "/"


def message_id(role: str, time: float | None, text: str, index: int) -> str:
    """Stable across reads of the same tracker: the same event always gets the same id.

    The index among identical (role, time, text) triples keeps two equal messages in the same second apart.
    """
    raw = f"{role}|{time!r}|{text}|{index}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _custom(value):
    # On socket.io custom payloads travel as {"data": {...}} (what Rasa's channel emits); unwrap for the widget.
    if isinstance(value, dict) and set(value) == {"data"} and isinstance(value["data"], dict):
        return value["data"]
    return value


def widget_messages(tracker: dict) -> list[dict]:
    """The user's and the bot's messages, oldest first, shaped like what the socket delivers live."""
    metadata = _user_metadata(tracker)
    out = []
    seen: dict[tuple, int] = {}
    for n, item in enumerate(messages(tracker)):
        text = item.get("text") or ""
        key = (item["role"], item.get("time"), text)
        seen[key] = seen.get(key, -1) + 1
        entry = {"id": message_id(item["role"], item.get("time"), text, seen[key]), "role": item["role"],
                 "time": item.get("time"), "text": text}
        if item["role"] == "user":
            meta = metadata.get(n) or {}
            display = meta.get("display")
            if isinstance(display, str) and display:
                entry["text"] = display[:500]
            elif text.startswith(HIDDEN_PREFIX):
                entry["hidden"] = True
            evidence = meta.get("evidence")
            if isinstance(evidence, dict) and str(evidence.get("id", "")).isdigit():
                entry["evidence_id"] = int(evidence["id"])
                entry.pop("hidden", None)
                entry["text"] = ""
            out.append(entry)
        else:
            out.extend(_bot_parts(entry, item))
    return out


def _bot_parts(entry: dict, item: dict) -> list[dict]:
    """A bot message as the socket.io channel delivers it: text split at blank lines, buttons on the last part."""
    for extra in ("image", "attachment"):
        if item.get(extra):
            entry[extra] = item[extra]
    if item.get("custom"):
        entry["custom"] = _custom(item["custom"])
    replies = item.get("quick_replies") or item.get("buttons") or []
    parts = entry["text"].strip().split("\n\n") if entry["text"] else [""]
    out = []
    for n, part in enumerate(parts):
        piece = {**entry, "text": part}
        if n:
            piece["id"] = f"{entry['id']}.{n}"
        out.append(piece)
    if replies:
        out[-1]["quick_replies"] = [{"title": r.get("title"), "payload": r.get("payload")}
                                    for r in replies if isinstance(r, dict)]
    return out


def _user_metadata(tracker: dict) -> dict[int, dict]:
    """The metadata of each user message, by its position among messages (as rasa_client.messages orders them)."""
    found: dict[int, dict] = {}
    position = 0
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        if kind == "user":
            meta = event.get("metadata")
            if isinstance(meta, str):
                try:
                    meta = json.loads(meta)
                except ValueError:
                    meta = None
            if isinstance(meta, dict):
                found[position] = meta
        position += 1
    return found
