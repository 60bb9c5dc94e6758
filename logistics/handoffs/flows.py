"""Orchestrations that cross into the Rasa server: relaying an agent's reply, giving the conversation back.

The database transaction is committed before Rasa is called, because the action Rasa runs calls this backend
back (to read the outbox and mark messages delivered) from another request.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy.orm import Session

from logistics.handoffs import service
from logistics.handoffs.models import Handoff
from logistics.rasa_client import RasaClient, RasaUnavailable

log = logging.getLogger(__name__)

RELAY_ACTION = "action_relay_agent_reply"
CLOSED_ACTION = "action_handoff_closed"


def rasa() -> RasaClient:
    """The app's Rasa client (tests may replace app.extensions["rasa"])."""
    client = current_app.extensions.get("rasa")
    if client is None:
        settings = current_app.extensions["settings"]
        client = current_app.extensions["rasa"] = RasaClient(settings.rasa_url, settings.rasa_token)
    return client


def relay(*, session: Session, handoff: Handoff) -> bool:
    """Have the bot deliver the undelivered replies on the user's channel; False when Rasa is unreachable."""
    session.commit()
    try:
        rasa().execute(handoff.conversation_id, RELAY_ACTION)
    except RasaUnavailable as exc:
        log.warning("relay of handoff %s failed: %s", handoff.id, exc)
        service.record_delivery_failure(session=session, handoff=handoff, error="机器人服务不可达，消息排队待重发")
        session.commit()
        return False
    session.expire_all()
    return not service.outbox(session=session, handoff=handoff)


def resume(*, session: Session, handoff: Handoff) -> bool:
    """Give the conversation back to the bot and have it ask for a rating; False when Rasa is unreachable.

    action_listen is run last so the next user message starts a turn as it would after any bot answer."""
    session.commit()
    client = rasa()
    try:
        client.append_events(handoff.conversation_id, [{"event": "resume"}])
        client.execute(handoff.conversation_id, CLOSED_ACTION)
        client.execute(handoff.conversation_id, "action_listen")
    except RasaUnavailable as exc:
        log.warning("resume of handoff %s failed: %s", handoff.id, exc)
        return False
    service.mark_resumed(session=session, handoff=handoff)
    session.commit()
    return True


NOTICE_ACTION = "action_handoff_wait"


def tell_ended(*, session: Session, handoff_ids: list[int]) -> list[int]:
    """Give each conversation whose wait the backend ended (expired while the user was silent) back to the bot,
    whose action_handoff_wait tells the user the stored notice; the ids told.

    resumed_at is set before Rasa is called, so a message the user writes meanwhile is not told the notice a second
    time (the waiting route gives it only while resumed_at is empty); it is cleared again when Rasa is unreachable,
    and the user is then told when they next write."""
    session.commit()
    client = rasa()
    told = []
    for handoff_id in handoff_ids:
        handoff = service.get(session=session, handoff_id=handoff_id)
        if handoff is None or handoff.resumed_at is not None:
            continue
        service.mark_resumed(session=session, handoff=handoff)
        session.commit()
        try:
            client.append_events(handoff.conversation_id, [{"event": "resume"}])
            client.execute(handoff.conversation_id, NOTICE_ACTION)
            client.execute(handoff.conversation_id, "action_listen")
        except RasaUnavailable as exc:
            log.warning("the end of handoff %s's wait was not announced: %s", handoff.id, exc)
            handoff.resumed_at = None
            session.commit()
            continue
        told.append(handoff.id)
    return told
