"""WeChat passive-reply latency: from WeChat's POST (signed as WeChat signs it) to the XML reply in hand.

A bound follower (张伟's phone, bound to the bench openid) asks 「我的快递到哪了」 N times, after one warm-up; every
request is a new message (MsgId). Prints p50 / p95 / max and how many answers missed the passive window and went
out through the customer-service API instead, and the same turn over REST interleaved (what the channel adds under
the same load). Runs against `make run` when its Rasa answers (--rasa-url, token
WECHAT_TOKEN), otherwise starts its own stack (backend, action server, Rasa on free ports, a fake WeChat API).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wechat.sender import WeChatServer, openid, text_xml  # noqa: E402

QUESTION = "我的快递到哪了"
PHONE = "13800000001"  # 张伟: one parcel held at the 杭州 hub
REST_SENDER = "demo-zhang"  # the same customer, bound to the REST channel by the seed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def bench(rasa_url: str, backend_url: str, api_token: str, wechat_token: str, n: int, question: str) -> None:
    user = openid()
    bound = requests.post(f"{backend_url}/api/v1/customers", json={
        "phone": PHONE, "bindings": [{"channel": "wechat", "external_id": user}]},
        headers={"Authorization": f"Bearer {api_token}"}, timeout=10)
    bound.raise_for_status()
    server = WeChatServer(f"{rasa_url}/webhooks/wechat/webhook", wechat_token)
    server.post(text_xml(user, question))  # warm-up (first turn of the conversation)
    requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": REST_SENDER, "message": question}, timeout=30)
    times, rest_times, late = [], [], 0
    for _ in range(n):
        xml = text_xml(user, question)
        started = time.perf_counter()
        response = server.post(xml, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        if server.reply(response) is None:
            late += 1
        # The same turn over REST right after, for the channel's own share under the same load.
        started = time.perf_counter()
        requests.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": REST_SENDER, "message": question},
                      timeout=30).raise_for_status()
        rest_times.append((time.perf_counter() - started) * 1000)
    print(f"WeChat passive reply, {question} (bound user), n={n}: p50 {statistics.median(times):.0f} ms, "
          f"p95 {percentile(times, 0.95):.0f} ms, max {max(times):.0f} ms, min {min(times):.0f} ms; "
          f"{late} answered late through custom/send")
    print(f"REST, the same turn ({REST_SENDER}), interleaved: p50 {statistics.median(rest_times):.0f} ms, "
          f"p95 {percentile(rest_times, 0.95):.0f} ms, max {max(rest_times):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL") or "http://127.0.0.1:5005")
    parser.add_argument("--backend-url", default=os.environ.get("BACKEND_URL") or "http://127.0.0.1:8000")
    args = parser.parse_args()
    running = up(f"{args.rasa_url}/webhooks/wechat/") and up(f"{args.backend_url}/health")
    if running:
        print(f"against the running stack at {args.rasa_url}")
        context = nullcontext(None)
    else:
        from tests.stack import newest_model, start_stack

        if newest_model() is None:
            raise SystemExit("no trained model in models/: run make train first")
        print("starting a stack of its own (about a minute)")
        context = start_stack(Path(tempfile.mkdtemp(prefix="bench-wechat-")))
    with context as stack:
        if stack is None:
            bench(args.rasa_url, args.backend_url, os.environ.get("LOGISTICS_API_TOKEN") or "dev-token",
                  os.environ.get("WECHAT_TOKEN") or "dev-wechat-token", args.n, args.question)
        else:
            bench(stack.rasa_url, stack.backend_url, stack.token, stack.wechat_token, args.n, args.question)


if __name__ == "__main__":
    main()
