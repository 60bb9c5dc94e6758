"""Website chat latency as a user sees it: from pressing Enter on a tracking question to the first bot bubble.

Uses headless chromium (/usr/bin/chromium) on the demo page. Runs against `make run` when its backend answers
(--url), otherwise starts its own stack (backend, action server, Rasa on free ports, as the tests do).
The clock is the page's own (performance.now() at the Enter keydown and when the bubble is added to the DOM),
so Playwright's round trips are not counted.
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

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
QUESTION = "我的快递到哪了"
# Records the Enter keydown and the first bot bubble added after it, in the page's clock.
PROBE = """() => {
  window.__bench = {start: null, first: null};
  const input = document.querySelector('.lw-input');
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey) { window.__bench = {start: performance.now(), first: null}; }
  }, true);
  new MutationObserver(records => {
    const b = window.__bench;
    if (b.start === null || b.first !== null) return;
    for (const r of records) for (const n of r.addedNodes) {
      if (n.classList && n.classList.contains('lw-bot')) { b.first = performance.now(); return; }
    }
  }).observe(document.querySelector('.lw-messages'), {childList: true});
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def up(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).ok
    except requests.RequestException:
        return False


def login(backend: str, session_id: str, phone: str) -> None:
    """The demo one-time-code login, over the widget's own API (waits out the one-code-a-minute limit)."""
    for _ in range(3):
        sent = requests.post(f"{backend}/web/api/otp", json={"phone": phone, "session_id": session_id}, timeout=10)
        if sent.status_code == 429:
            wait = int(sent.json().get("retry_after") or 60)
            print(f"one code a minute per phone: waiting {wait} s", flush=True)
            time.sleep(wait + 1)
            continue
        code = sent.json().get("demo_code")
        if not code:
            raise SystemExit("the backend is not in demo mode (DEMO_MODE=false): no code to log in with")
        verified = requests.post(f"{backend}/web/api/otp/verify",
                                 json={"phone": phone, "code": code, "session_id": session_id}, timeout=10)
        verified.raise_for_status()
        return
    raise SystemExit(f"could not log in as {phone}")


def measure(page_url: str, backend: str, runs: int, phone: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_url)
        page.click(".lw-launcher")
        page.wait_for_function("window.LogisticsChat && window.LogisticsChat.connected", timeout=30_000)
        login(backend, page.evaluate("window.LogisticsChat.sessionId"), phone)
        page.evaluate(PROBE)
        for i in range(runs + 1):
            bots = page.locator(".lw-msg.lw-bot").count()
            page.fill(".lw-input", QUESTION)
            page.press(".lw-input", "Enter")
            page.wait_for_function("() => window.__bench.first !== null", timeout=30_000)
            elapsed = page.evaluate("window.__bench.first - window.__bench.start")
            # Let the whole answer (text, then the timeline card) arrive before the next question.
            page.wait_for_function("n => document.querySelectorAll('.lw-msg.lw-bot').length >= n", arg=bots + 2,
                                   timeout=30_000)
            page.wait_for_timeout(150)
            if i:  # the first turn warms up the models and connections
                timings.append(elapsed)
        browser.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('BACKEND_PORT', '8000')}",
                        help="the backend serving /chat (default: make run's)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--phone", default="13800000001", help="demo phone to log in with (one parcel)")
    parser.add_argument("--own-stack", action="store_true", help="always start a stack of its own")
    args = parser.parse_args()

    if not args.own_stack and up(args.url):
        context, backend = nullcontext(None), args.url.rstrip("/")
        print(f"using the running stack at {backend}", flush=True)
    else:
        from tests.stack import start_stack

        print("starting a stack of its own (backend, action server, Rasa; about a minute)", flush=True)
        context = start_stack(Path(tempfile.mkdtemp(prefix="bench-widget-")))
        backend = None
    with context as stack:
        backend = backend or stack.backend_url
        timings = measure(f"{backend}/chat", backend, args.runs, args.phone)
    print(f"\nEnter → first bot bubble, '{QUESTION}' as a logged-in demo user, headless chromium, n={len(timings)}")
    print(f"p50 {statistics.median(timings):.0f} ms   p95 {percentile(timings, 0.95):.0f} ms   "
          f"max {max(timings):.0f} ms   min {min(timings):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
