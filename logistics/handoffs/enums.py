"""Handoff statuses, reasons and the figures behind the queue's rough waiting time."""
from __future__ import annotations

from enum import Enum


class HandoffStatus(str, Enum):
    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({HandoffStatus.QUEUED.value, HandoffStatus.ACTIVE.value})

# Why a conversation went to a person; flows may add their own disputes.
REASON_LABEL = {
    "request_human": "用户要求转人工",
    "misunderstood": "机器人连续两次未理解",
    "anger": "用户情绪激动",
    "claim_dispute": "理赔金额争议",
    "delivery_dispute": "送货上门争议",
}
EMOTION_LABEL = {"calm": "平静", "upset": "不满", "angry": "愤怒"}
SCENE_LABEL = {"fresh": "生鲜", "medicine": "药品", "gift": "礼物", "international": "国际件"}
CHANNEL_LABEL = {"rest": "API", "socketio": "网站", "wechat": "微信公众号", "cmdline": "命令行"}

# Priority 1 is served first: anger, urgency, medicine and disputes; 2: upset or misunderstood; 3: the rest.
PRIORITY_LABEL = {1: "紧急", 2: "较急", 3: "普通"}
# A rough figure for the wait we announce: minutes an agent spends per conversation (operations replace it with
# the measured average).
HANDLE_MINUTES = 6

# Why a handoff ended: the agent closed it, or the wait ended without an agent (logistics/handoffs/waiting.py).
CLOSE_REASON_LABEL = {
    "agent": "客服结束",
    "cancelled": "用户取消等待",
    "restart": "用户重新开始",
    "expired": "排队超时",
}
