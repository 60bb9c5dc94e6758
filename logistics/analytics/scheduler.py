"""The detectors on a schedule: a daemon thread of the serving process runs them every ANALYTICS_RUN_SECONDS
(default 900; 0 turns the schedule off). Several backend processes may run it: an alert is opened once per
signal because a run sees the open alerts of the runs before it (the ops_alert ticket's idempotency key is the
alert's id)."""
from __future__ import annotations

import logging
import os
import threading

from logistics import db
from logistics.analytics import conversations, service

log = logging.getLogger(__name__)


def interval() -> int:
    try:
        return max(0, int(os.environ.get("ANALYTICS_RUN_SECONDS", "900")))
    except ValueError:
        return 900


def run_once(app) -> None:
    """Import the conversations handled since the last run (their own transaction: a failure there never stops
    the detectors), then detect."""
    try:
        with db.transaction(app.extensions["session_factory"]) as session:
            conversations.import_conversations(session, app.extensions["settings"].tracker_store_url)
    except Exception:  # noqa: BLE001  (logged; the next run takes the same events again)
        log.exception("analytics: conversation import failed")
    with db.transaction(app.extensions["session_factory"]) as session:
        result = service.run(session)
    if result.opened or result.resolved:
        log.info("analytics: %d alerts opened, %d resolved", len(result.opened), len(result.resolved))


def start(app, seconds: int | None = None) -> threading.Thread | None:
    seconds = interval() if seconds is None else seconds
    if seconds <= 0:
        return None
    stop = threading.Event()

    def loop():
        while not stop.wait(seconds):
            try:
                run_once(app)
            except Exception:  # noqa: BLE001  (a failed run is logged; the next one tries again)
                log.exception("analytics run failed")

    thread = threading.Thread(target=loop, name="analytics-detectors", daemon=True)
    thread.start()
    return thread
