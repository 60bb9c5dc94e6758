"""Per-turn latency of tracking turns over the REST channel (single user); run against `make run`."""
from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import requests


def turn(url: str, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30)
    response.raise_for_status()
    assert response.json(), "the bot said nothing"
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}")
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    turn(args.url, "bench-warmup", "你好")
    scenarios = {
        "bound user, one parcel (我的快递到哪了)": lambda i: [("demo-zhang", "我的快递到哪了")],
        "bound user, several parcels (choice)": lambda i: [("demo-li", "我的快递到哪了")],
        "unbound: number then phone tail (2 turns)": lambda i: [(f"bench-{uuid.uuid4().hex[:6]}", "查一下731234567890"),
                                                               (None, "5678")],
    }
    print(f"{'scenario':48} {'turns':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, make in scenarios.items():
        timings = []
        for i in range(args.turns):
            sender = None
            for who, text in make(i):
                sender = who or sender
                timings.append(turn(args.url, sender, text))
        print(f"{name:48} {len(timings):5d} {statistics.median(timings):8.1f} {percentile(timings, 0.95):8.1f} "
              f"{max(timings):8.1f}")


if __name__ == "__main__":
    main()
