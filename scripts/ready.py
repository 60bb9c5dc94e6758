"""Waits until backend, action server and Rasa answer their health checks, then says where to chat."""
from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request

CHECKS = (
    ("backend", f"http://127.0.0.1:{os.environ.get('BACKEND_PORT', '8000')}/health"),
    ("action server", f"http://127.0.0.1:{os.environ.get('ACTIONS_PORT', '5055')}/health"),
    ("rasa", f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}/"),
)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> int:
    started = float(os.environ.get("RUN_STARTED_AT") or time.time())
    deadline = time.time() + float(os.environ.get("READY_TIMEOUT", "300"))
    pending = dict(CHECKS)
    while pending and time.time() < deadline:
        for name, url in list(pending.items()):
            if healthy(url):
                print(f"{name} is up ({url})", flush=True)
                del pending[name]
        time.sleep(0.5)
    if pending:
        print(f"not ready after the timeout: {', '.join(pending)}", flush=True)
        return 1
    rasa_port = os.environ.get("RASA_PORT", "5005")
    if (os.environ.get("DEMO_MODE") or "").lower() not in ("1", "true", "yes", "on"):
        # make run-prod: no demo customers, no demo secrets (deploy/README.md).
        print(f"""
================ 快递物流智能客服 (production mode) is ready in {time.time() - started:.0f} s ================
Rasa behind nginx: http://127.0.0.1:{rasa_port} (REST, socket.io, WeChat); backend and chat page:
http://127.0.0.1:{os.environ.get('BACKEND_PORT', '8000')}/chat. Secrets: the environment or var/prod/secrets.env.
Agents: .venv/bin/python -m logistics agent-add <name> (with scripts/prod_env.sh sourced). Ctrl-C stops all.
""", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    print(
        f"""
================ 快递物流智能客服 is ready in {time.time() - started:.0f} s ================
Website chat (widget on a demo courier page): http://127.0.0.1:{os.environ.get('BACKEND_PORT', '8000')}/chat
Chat over REST (as the demo customer 张伟, phone bound to sender id demo-zhang):
  curl -s localhost:{rasa_port}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
       -d '{{"sender": "demo-zhang", "message": "我的快递到哪了"}}'
WeChat Official Account callback: http://<this host>:{rasa_port}/webhooks/wechat/webhook (token WECHAT_TOKEN,
  demo dev-wechat-token; README "WeChat Official Account")
Or in a terminal: make shell        (Ctrl-C here stops all three processes)
Try: 我的快递到哪了 | 查一下 731234567890 (then the phone tail 5678) | 你好
API docs: http://127.0.0.1:{os.environ.get('BACKEND_PORT', '8000')}/openapi.json
===========================================================================
""",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # honcho stops every process when one exits, so this one stays until Ctrl-C.
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
