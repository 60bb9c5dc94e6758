"""How the user feels, from what they wrote: a small lexicon, pure functions, no model (reused for empathy).

`detect(texts)` reads the user's messages (oldest first) and returns the level (calm, upset, angry), whether the
matter is urgent, the scene that changes what we say (fresh food, medicine, a gift, an international parcel) and
the signals that decided it, so an agent or a test can see why. Anger weighs the latest messages most: a user who
was angry three messages ago and calm now is upset, not angry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, List, Optional

CALM, UPSET, ANGRY = "calm", "upset", "angry"

# Words that alone mean anger: insults, threats to escalate (12305 is the postal complaint line, 消协 the
# consumer association), swearing.
ANGRY_WORDS = (
    "垃圾", "骗子", "什么破", "破快递", "气死", "投诉你们", "曝光", "消协", "找媒体", "举报", "妈的", "他妈",
    "tmd", "傻逼", "滚蛋", "坑人", "黑心", "忍无可忍", "无语死了", "太过分", "欺负人", "不要脸", "去死",
)
# Words of frustration: repeated contact, waiting, disappointment.
UPSET_WORDS = (
    "投诉", "几遍了", "说了多少遍", "多次", "重复", "又是", "还没", "一直", "到底", "怎么回事", "失望", "无语",
    "离谱", "太慢", "好几天", "着急", "急死", "烦", "催了", "不满意", "差评", "搞什么",
)
URGENT_WORDS = ("急", "马上", "今天必须", "今天一定", "救命", "立刻", "赶紧", "等着用", "明天要用", "来不及")
SCENES = {
    "medicine": ("药", "医院", "病人", "胰岛素", "处方"),
    "fresh": ("生鲜", "海鲜", "水果", "冷链", "冻品", "螃蟹", "大闸蟹", "车厘子", "坏了", "臭了", "化了"),
    "gift": ("礼物", "生日", "纪念日", "送人", "惊喜"),
    "international": ("国际", "海外", "进口", "清关", "海关", "直邮", "跨境"),
}
# The scene that matters most when several appear (health first).
SCENE_ORDER = ("medicine", "fresh", "gift", "international")
# Complaint hotlines as whole numbers only: digits inside a tracking number are not a threat.
_HOTLINES = re.compile(r"(?<![0-9])(?:12305|315)(?![0-9])")
_PUNCT_RUN = re.compile(r"[!！]{3,}|[?？]{3,}|[!！?？]{4,}")
_CAPS = re.compile(r"(?<![A-Za-z])[A-Z]{4,}(?![A-Za-z])")
# Shouted carrier codes and tracking numbers are not anger.
_NOT_SHOUTING = re.compile(r"^(?:[A-Z]{2}\d+|[A-Z]{2}\d+[A-Z]{2})$")


@dataclass(frozen=True)
class Emotion:
    level: str = CALM
    urgent: bool = False
    scene: Optional[str] = None
    signals: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"level": self.level, "urgent": self.urgent, "scene": self.scene, "signals": list(self.signals)}


def _signals(text: str) -> tuple[int, int, list[str]]:
    """Anger and frustration points of one message and the words that scored them."""
    anger, upset, found = 0, 0, []
    lower = text.lower()
    for word in ANGRY_WORDS:
        if word.lower() in lower:
            anger += 2
            found.append(word)
    for word in UPSET_WORDS:
        if word in text:
            upset += 1
            found.append(word)
    if _HOTLINES.search(text):
        anger += 2
        found.append(_HOTLINES.search(text).group(0))
    if _PUNCT_RUN.search(text):
        anger += 1
        found.append("!!!/???")
    caps = [w for w in _CAPS.findall(text) if not _NOT_SHOUTING.match(w)]
    if caps:
        anger += 1
        found.append("ALL CAPS")
    return anger, upset, found


def detect(texts: Iterable[str]) -> Emotion:
    """The user's emotion over their messages (oldest first); the last three count fully, earlier ones half."""
    messages = [t for t in texts if t]
    anger = upset = 0.0
    signals: list[str] = []
    urgent = False
    scene_hits: set[str] = set()
    for index, text in enumerate(messages):
        weight = 1.0 if index >= len(messages) - 3 else 0.5
        a, u, found = _signals(text)
        anger += a * weight
        upset += u * weight
        signals.extend(s for s in found if s not in signals)
        hits = [w for w in URGENT_WORDS if w in text]
        if hits:
            urgent = True
            signals.extend(f"urgent:{w}" for w in hits if f"urgent:{w}" not in signals)
        for scene, words in SCENES.items():
            if any(w in text for w in words):
                scene_hits.add(scene)
    if anger >= 2 or (anger >= 1 and upset >= 2):
        level = ANGRY
    elif anger >= 1 or upset >= 1:
        level = UPSET
    else:
        level = CALM
    scene = next((s for s in SCENE_ORDER if s in scene_hits), None)
    if scene == "medicine":
        urgent = True
    return Emotion(level=level, urgent=urgent, scene=scene, signals=signals)
