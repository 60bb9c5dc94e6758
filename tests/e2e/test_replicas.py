"""Two Rasa replicas serving one conversation (production: nginx in front of two Rasa servers, deploy/README.md).

Both share the PostgreSQL tracker store (addons/tracker_store.py) and the Redis lock store, on databases of their
own (tests/scaled_stack.py); the event broker publishes to a RabbitMQ queue of their own when RabbitMQ answers.
One bound customer's conversation goes to replica 1, 2, 1, 2, ... and then two messages arrive at the same moment,
one at each replica. Every event must be stored once and in order: each user message exactly once, each followed by
its own complete answer (the answer the user received) before the next message is handled, ids and timestamps
rising, and the urge — asked twice, once on each replica — leaves exactly one ticket. Skipped (with the reason)
when PostgreSQL or Redis is not reachable or no model is trained."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from tests.scaled_stack import (
    AMQP_URL,
    amqp_reachable,
    newest_model,
    postgres_reachable,
    redis_reachable,
    start_scaled_stack,
)

CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    for why in (postgres_reachable(), redis_reachable()):
        if why:
            pytest.skip(why)
    if newest_model() is None:
        pytest.skip("no trained model in models/ (make test trains one before pytest)")
    broker = amqp_reachable() is None
    with start_scaled_stack(tmp_path_factory.mktemp("replicas"), mode="scaled", rasa_replicas=2, rasa_workers=1,
                            actions_workers=2, broker=broker, seed_shipments=50) as stack:
        stack.broker = broker
        yield stack


def _when(hours: float) -> str:
    return (datetime.now(CST) + timedelta(hours=hours)).isoformat(timespec="seconds")


def _customer_with_a_parcel_waiting_at_its_outlet(stack, sender: str) -> str:
    number, phone = "SF7100000000019", "13712340019"
    response = stack.api("POST", "/api/v1/shipments", json={
        "tracking_number": number, "carrier": "sf", "origin": "上海", "destination": "北京", "goods_type": "general",
        "goods_description": "蓝牙耳机",
        "sender": {"name": "李四", "phone": "13912340000", "address": "上海市浦东新区世纪大道1号"},
        "recipient": {"name": "张三", "phone": phone, "address": "北京市朝阳区望京街道10号"}})
    assert response.status_code == 201, response.text
    for hours, status, location in ((-50, "picked_up", "上海青浦网点"), (-30, "at_outlet", "北京朝阳区望京营业部")):
        response = stack.api("POST", f"/api/v1/shipments/{number}/events",
                             json={"time": _when(hours), "status": status, "location": location})
        assert response.status_code == 201, response.text
    response = stack.api("POST", "/api/v1/customers", json={
        "phone": phone, "name": "张三", "bindings": [{"channel": "rest", "external_id": sender}]})
    assert response.status_code in (200, 201), response.text
    return number


def _at_once(stack, sender: str, pair: tuple) -> dict:
    """Send the two texts at the same moment, the first to replica 1, the second to replica 2; their answers."""
    answered = {}
    barrier = threading.Barrier(2)

    def send(replica: int, text: str) -> None:
        barrier.wait()
        answered[text] = _texts(stack.say(sender, text, replica=replica))

    threads = [threading.Thread(target=send, args=(replica, text)) for replica, text in enumerate(pair)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(answered) == set(pair), f"unanswered: {set(pair) - set(answered)}"
    return answered


def _texts(messages: list) -> list:
    return [m.get("text") or "" for m in messages]


def _turns(events: list) -> list:
    """(user text, [bot texts], complete) per user message: complete when action_listen ends it."""
    turns = []
    for event in events:
        if event["event"] == "user":
            turns.append([event["text"], [], False])
        elif turns and event["event"] == "bot":
            turns[-1][1].append(event.get("text") or "")
        elif turns and event["event"] == "action" and event.get("name") == "action_listen":
            turns[-1][2] = True
    return [tuple(t) for t in turns]


def test_one_conversation_served_by_two_replicas_keeps_every_event_once_and_in_order(replicas):
    stack = replicas
    sender = "replica-conversation-1"
    number = _customer_with_a_parcel_waiting_at_its_outlet(stack, sender)
    said, answers = [], []
    for index, text in enumerate(["你好", "我的快递到哪了", "催一下", "再催一下", "什么时候能到"]):
        reply = _texts(stack.say(sender, text, replica=index % 2))
        assert any(reply), f"no answer to {text} on replica {index % 2 + 1}"
        said.append(text)
        answers.append(reply)
    assert number in "".join(answers[1]) and "工单" in "".join(answers[2])

    # Two messages at the same moment, one on each replica, three times: the lock store makes one wait for the other.
    rounds = [("我的快递到哪了", "谢谢"), ("催一下", "什么时候能到"), ("你好", "我的快递到哪了")]
    concurrent = [_at_once(stack, sender, pair) for pair in rounds]

    trackers = [stack.tracker(sender, replica=r) for r in (0, 1)]
    assert trackers[0]["events"] == trackers[1]["events"], "the replicas see different conversations"
    events = trackers[0]["events"]
    turns = _turns(events)
    # Sequential part: every message once, in order, with exactly the answer the user got.
    assert [(t[0], t[1]) for t in turns[:5]] == list(zip(said, answers))
    # Concurrent part: both messages of a round once, in one order or the other, each with its own answer, and
    # the second handled only after the first was answered (else it would come before the first's action_listen).
    for index, answered in enumerate(concurrent):
        pair = turns[5 + 2 * index: 7 + 2 * index]
        assert sorted(t[0] for t in pair) == sorted(answered), _listing(events[-60:])
        for text, bot, _ in pair:
            assert bot == answered[text], _listing(events[-60:])
    assert len(turns) == 5 + 2 * len(rounds) and all(complete for _, _, complete in turns), turns
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps), "events out of order:\n" + _listing(events[-40:])
    # The store holds each event once (a duplicated save would repeat rows), ids rising with timestamps.
    import sqlalchemy as sa

    engine = sa.create_engine(stack.tracker_db_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, timestamp, data FROM events WHERE sender_id = :s ORDER BY id"),
                                  {"s": sender}).all()
    engine.dispose()
    stored = [json.loads(row.data) for row in rows]
    assert len({json.dumps(e, sort_keys=True) for e in stored}) == len(stored), "an event stored twice"
    assert [row.timestamp for row in rows] == sorted(row.timestamp for row in rows)
    assert [e for e in stored if e["event"] == "user"] == [e for e in events if e["event"] == "user"]

    # Urged on replica 1 and again on replica 2: one ticket.
    tickets = stack.api("GET", "/api/v1/tickets", params={"conversation_id": sender}).json()["tickets"]
    assert [t["type"] for t in tickets] == ["urge"], tickets

    if stack.broker:
        published = asyncio.run(_drain(f"{stack.redis['key_prefix']}_events", len(stored)))
        mine = [e for e in published if e.get("sender_id") == sender]
        # Each event reached the broker exactly once; consumers order by timestamp (two publishers, one queue).
        assert sorted(map(_without_sender, mine)) == sorted(json.dumps(e, sort_keys=True) for e in stored)
        assert len(mine) == len(stored)


def _without_sender(event: dict) -> str:
    return json.dumps({k: v for k, v in event.items() if k != "sender_id"}, sort_keys=True)


async def _drain(queue_name: str, expected: int, timeout: float = 20.0) -> list:
    import aio_pika

    connection = await aio_pika.connect_robust(AMQP_URL)
    found = []
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(found) < expected:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            found.append(json.loads(message.body))
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    return found


def _listing(events: list) -> str:
    return "\n".join(f"{e['timestamp']:.4f} {e['event']} {e.get('name') or e.get('text') or ''}" for e in events)
