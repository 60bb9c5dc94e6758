"""Load benchmark (`make bench-load`): the assistant against a plain `rasa init` bot, same Rasa, same venv, same run.

Starts, in one run:
  * ours: the whole stack (backend, action server, Rasa) on a fresh database, as configured for this machine
    (tests/scaled_stack.py: PostgreSQL + Redis lock store + Sanic and action-server workers when PostgreSQL and
    Redis answer, else the embedded SQLite stack of `make run`);
  * baseline: `rasa init --no-prompt` in a temporary folder (trained there, offline), served by `rasa run`.

Both are driven over the REST channel by the same closed-loop asyncio/aiohttp load generator at each level of
concurrent users (default 1, 20, 100, 200): every user runs whole conversations back to back, without think time,
until the level's time is up. Ours: bound users (customer and parcel created through the backend API before the
level starts) tracking a parcel, urging one, reporting a damaged one, complaining. Baseline: the moodbot's
greet/mood turns. Every answer is checked (a fast wrong answer is an error); after each level every conversation's
tracker is read back (each user turn exactly once, in order, with the answers the user received) and, for ours,
every problem conversation has exactly one ticket of its type.

Prints and writes (reports/bench_load.md, reports/bench_load.json, reports/bench_load.png): msg/s, p50/p95/p99 per
turn, errors, lost/duplicated turns, peak RSS per process (/proc), CPU ms per turn, and the ratio ours/baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
REPORTS = ROOT / "reports"
CST = timezone(timedelta(hours=8))
TURN_TIMEOUT = 120.0
COLD_CONNECTIONS = False  # --cold-connections: every user's first turn opens a new TCP connection


# --------------------------------------------------------------------------------------------- conversations ---


def _responses() -> dict:
    found: dict = {}
    for path in sorted((ROOT / "domain").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.update(data.get("responses") or {})
    return found


@dataclass
class Turn:
    say: str
    check: Callable[[str, list], str | None]  # None when the answer is right, else what is wrong


@dataclass
class Conversation:
    kind: str
    sender: str
    turns: list[Turn]
    ticket: str | None = None  # the one ticket type this conversation must leave behind
    sent: list[str] = field(default_factory=list)
    answers: list[list[str]] = field(default_factory=list)


def _texts(messages: list) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


def has(*parts: str, any_of: tuple = ()) -> Callable:
    def check(text: str, messages: list) -> str | None:
        missing = [p for p in parts if p not in text]
        if missing:
            return f"expected {missing}"
        if any_of and not any(p in text for p in any_of):
            return f"expected one of {list(any_of)}"
        return None
    return check


def one_of(variations: list[str]) -> Callable:
    def check(text: str, messages: list) -> str | None:
        return None if text.strip() in variations else f"expected one of {variations[:3]}"
    return check


class OurScenarios:
    """Bound users with a parcel each, created through the backend API; four kinds of conversation in turn."""

    KINDS = ("tracking", "urge", "damaged", "complaint")

    def __init__(self, backend_url: str, token: str):
        self.backend_url, self.token = backend_url, token
        responses = _responses()
        self.greet = [v["text"].strip() for v in responses["utter_greet"]]
        self.welcome = [v["text"].strip() for v in responses["utter_youre_welcome"]]
        self.serial = itertools.count(1)
        self.run_id = random.randrange(10_000, 99_999)

    def _when(self, hours: float) -> str:
        return (datetime.now(CST) + timedelta(hours=hours)).isoformat(timespec="seconds")

    def world_body(self, kind: str, n: int) -> tuple[str, str, str, dict, list]:
        sender = f"load-{self.run_id}-{n}-{kind[:3]}"
        phone = f"137{(self.run_id * 1000 + n) % 100_000_000:08d}"
        number = f"SF{(self.run_id * 10_000_000 + n) % 10**13:013d}"
        events = {
            "tracking": [(-30, "picked_up", "上海青浦网点"), (-6, "arrived_hub", "杭州萧山中转场")],
            "urge": [(-50, "picked_up", "上海青浦网点"), (-30, "at_outlet", "北京朝阳区望京营业部")],
            "damaged": [(-50, "picked_up", "上海青浦网点"), (-5, "delivered", "北京朝阳区望京营业部")],
            "complaint": [(-40, "picked_up", "上海青浦网点"), (-4, "at_station", "北京朝阳区菜鸟驿站")],
        }[kind]
        body = {"tracking_number": number, "carrier": "sf", "origin": "上海", "destination": "北京",
                "goods_type": "general", "goods_description": "蓝牙耳机",
                "sender": {"name": "李四", "phone": "13912340000", "address": "上海市浦东新区世纪大道1号"},
                "recipient": {"name": "张三", "phone": phone, "address": "北京市朝阳区望京街道10号"}}
        return sender, phone, number, body, events

    async def create(self, http: aiohttp.ClientSession, n: int) -> Conversation:
        kind = self.KINDS[n % len(self.KINDS)]
        sender, phone, number, body, events = self.world_body(kind, n)
        headers = {"Authorization": f"Bearer {self.token}"}
        await _api(http, "POST", f"{self.backend_url}/api/v1/shipments", headers, body)
        for hours, status, location in events:
            await _api(http, "POST", f"{self.backend_url}/api/v1/shipments/{number}/events", headers,
                       {"time": self._when(hours), "status": status, "location": location})
        await _api(http, "POST", f"{self.backend_url}/api/v1/customers", headers,
                   {"phone": phone, "name": "张三", "bindings": [{"channel": "rest", "external_id": sender}]})
        welcome = one_of(self.welcome)
        turns = {
            "tracking": [Turn("你好", one_of(self.greet)), Turn("我的快递到哪了", has(number, "杭州萧山中转场")),
                         Turn("什么时候能到", has(number, any_of=("送达", "送到"))), Turn("谢谢", welcome)],
            "urge": [Turn("我的快递到哪了", has(number, "望京营业部")), Turn("催一下", has(number, "催")),
                     Turn("谢谢", welcome)],
            "damaged": [Turn("我的快递破损了", has("破损理赔", "照片")), Turn("多久有结果", has("理赔")),
                        Turn("谢谢", welcome)],
            "complaint": [Turn("快递员不送货上门 让我自己去驿站拿", has("投诉")),
                          Turn("多久有人联系我", has("投诉")), Turn("谢谢", welcome)],
        }[kind]
        ticket = {"urge": "urge", "damaged": "claim", "complaint": "complaint"}.get(kind)
        return Conversation(kind, sender, turns, ticket)


class BaselineScenarios:
    """The moodbot of `rasa init`: greet, mood, answer, goodbye."""

    def __init__(self, project: Path):
        responses = (yaml.safe_load((project / "domain.yml").read_text()) or {})["responses"]
        self.text = {name: [v.get("text", "").strip() for v in values] for name, values in responses.items()}
        self.serial = itertools.count(1)
        self.run_id = random.randrange(10_000, 99_999)

    def _is(self, *names: str) -> Callable:
        wanted = ["\n".join(parts) for parts in itertools.product(*(self.text[n] for n in names))]
        return one_of(wanted)

    async def create(self, http: aiohttp.ClientSession, n: int) -> Conversation:
        sender = f"base-{self.run_id}-{n}"
        if n % 2:
            turns = [Turn("hello", self._is("utter_greet")), Turn("I am sad", self._is("utter_cheer_up",
                                                                                        "utter_did_that_help")),
                     Turn("yes", self._is("utter_happy")), Turn("goodbye", self._is("utter_goodbye"))]
        else:
            turns = [Turn("hi", self._is("utter_greet")), Turn("I am great", self._is("utter_happy")),
                     Turn("are you a bot?", self._is("utter_iamabot")), Turn("bye", self._is("utter_goodbye"))]
        return Conversation("mood", sender, turns)


async def _api(http: aiohttp.ClientSession, method: str, url: str, headers: dict, body: dict) -> dict:
    for attempt in range(5):
        try:
            async with http.request(method, url, json=body, headers=headers,
                                    timeout=aiohttp.ClientTimeout(total=30)) as response:
                if response.status < 300:
                    return await response.json()
                text = await response.text()
                if response.status < 500:
                    raise RuntimeError(f"{method} {url}: {response.status} {text[:300]}")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            if attempt == 4:
                raise
        await asyncio.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"{method} {url} failed")


# ------------------------------------------------------------------------------------------ load generator ---


@dataclass
class LevelResult:
    users: int
    duration: float = 0.0
    turns_in_window: int = 0
    latencies: list[float] = field(default_factory=list)
    by_text: dict = field(default_factory=dict)  # what the user said -> latencies (where the time goes)
    timeline: list = field(default_factory=list)  # (start in the level, latency, text) of every turn
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    conversations: int = 0
    lost_turns: int = 0
    duplicated_turns: int = 0
    out_of_order: int = 0
    tracker_mismatches: int = 0
    ticket_errors: int = 0
    trackers_checked: int = 0
    peak_rss: dict = field(default_factory=dict)
    cpu_seconds: dict = field(default_factory=dict)
    load_average: tuple = ()

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_examples) < 8:
            self.error_examples.append(what[:400])

    def summary(self) -> dict:
        ordered = sorted(self.latencies)

        def pct(q: float) -> float:
            if not ordered:
                return float("nan")
            return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

        turns = len(self.latencies)
        return {"users": self.users, "msg_per_s": self.turns_in_window / self.duration if self.duration else 0,
                "turns": turns, "conversations": self.conversations,
                "p50_ms": pct(0.50) * 1000, "p95_ms": pct(0.95) * 1000, "p99_ms": pct(0.99) * 1000,
                "mean_ms": (statistics.fmean(ordered) * 1000) if ordered else float("nan"),
                "errors": self.errors, "error_examples": self.error_examples,
                "lost_turns": self.lost_turns, "duplicated_turns": self.duplicated_turns,
                "out_of_order": self.out_of_order, "tracker_mismatches": self.tracker_mismatches,
                "trackers_checked": self.trackers_checked, "ticket_errors": self.ticket_errors,
                "peak_rss_mb": self.peak_rss,
                "p95_ms_by_text": {text: sorted(v)[int(0.95 * (len(v) - 1))] * 1000
                                   for text, v in self.by_text.items()},
                "timeline": [[round(a, 3), round(b, 3), t] for a, b, t in self.timeline],
                "cpu_ms_per_turn": {k: v * 1000 / turns for k, v in self.cpu_seconds.items()} if turns else {},
                "load_average": self.load_average}


class Pool:
    """Conversations prepared before the level starts (their API calls are not part of the measured load)."""

    def __init__(self, scenarios, http: aiohttp.ClientSession):
        self.scenarios, self.http = scenarios, http
        self.ready: list[Conversation] = []
        self.serial = scenarios.serial  # numbers, phones and senders stay unique across levels

    async def fill(self, count: int, concurrency: int = 8) -> None:
        queue = [next(self.serial) for _ in range(count)]

        async def worker():
            while queue:
                self.ready.append(await self.scenarios.create(self.http, queue.pop()))

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def take(self) -> Conversation:
        if self.ready:
            return self.ready.pop()
        return await self.scenarios.create(self.http, next(self.serial))


async def run_level(url: str, pool: Pool, users: int, duration: float,
                    token: str | None) -> tuple[LevelResult, list[Conversation]]:
    result = LevelResult(users)
    done: list[Conversation] = []
    http = pool.http
    started = time.perf_counter()
    deadline = started + duration

    async def user(index: int) -> None:
        # Users arrive over the first second or two, as they do, not in one burst.
        await asyncio.sleep(random.uniform(0, min(2.0, duration / 20)))
        while time.perf_counter() < deadline:
            conversation = await pool.take()
            result.conversations += 1
            for turn in conversation.turns:
                began = time.perf_counter()
                conversation.sent.append(turn.say)
                try:
                    async with http.post(f"{url}/webhooks/rest/webhook",
                                         json={"sender": conversation.sender, "message": turn.say},
                                         timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as response:
                        status = response.status
                        messages = await response.json(content_type=None) if status == 200 else []
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                    status, messages = 0, []
                    result.error(f"{conversation.kind} 「{turn.say}」: {type(exc).__name__} {exc}")
                ended = time.perf_counter()
                result.latencies.append(ended - began)
                result.by_text.setdefault(turn.say, []).append(ended - began)
                result.timeline.append((began - started, ended - began, turn.say))
                if ended <= deadline:
                    result.turns_in_window += 1
                conversation.answers.append([m.get("text") or "" for m in messages])
                if status == 200:
                    wrong = turn.check(_texts(messages), messages)
                    if wrong:
                        result.error(f"{conversation.kind} 「{turn.say}」: {wrong}; got "
                                     f"{_texts(messages)[:160]!r}")
                elif status:
                    result.error(f"{conversation.kind} 「{turn.say}」: HTTP {status}")
                if status != 200:
                    break  # a user whose turn failed gives up on this conversation
            done.append(conversation)

    await asyncio.gather(*(user(i) for i in range(users)))
    result.duration = duration
    return result, done


async def prepared_pool(scenarios, http: aiohttp.ClientSession, users: int, duration: float) -> Pool:
    """Enough conversations for the level at the rate it may reach, plus one in progress per user."""
    pool = Pool(scenarios, http)
    await pool.fill(int(users * 1.5 + _expected_rate(users) * duration / 3.5))
    return pool


async def verify(url: str, token: str | None, conversations: list[Conversation], result: LevelResult,
                 backend: tuple[str, str] | None) -> None:
    """Every conversation's tracker: each user turn once, in order, with the answers the user got; tickets."""
    params = {"include_events": "ALL", **({"token": token} if token else {})}
    semaphore = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:
        async def check(conversation: Conversation) -> None:
            async with semaphore:
                async with http.get(f"{url}/conversations/{conversation.sender}/tracker", params=params,
                                    timeout=aiohttp.ClientTimeout(total=60)) as response:
                    tracker = await response.json()
                result.trackers_checked += 1
                events = tracker.get("events") or []
                stamps = [e.get("timestamp") or 0 for e in events]
                if stamps != sorted(stamps):
                    result.out_of_order += 1
                said = [e.get("text") for e in events if e.get("event") == "user"]
                if said != conversation.sent:
                    missing = len(conversation.sent) - len(said)
                    if missing > 0:
                        result.lost_turns += missing
                    elif missing < 0:
                        result.duplicated_turns += -missing
                    else:
                        result.tracker_mismatches += 1
                    return
                # The bot's texts after each user turn are the texts that user received for it (a bot event with
                # text and image reaches a REST client as two messages, one without text: texts only).
                answers, current = [], None
                for event in events:
                    if event.get("event") == "user":
                        current = []
                        answers.append(current)
                    elif event.get("event") == "bot" and current is not None and event.get("text"):
                        current.append(event["text"])
                if answers != [[text for text in texts if text] for texts in conversation.answers]:
                    result.tracker_mismatches += 1
                if backend and conversation.ticket:
                    backend_url, backend_token = backend
                    async with http.get(f"{backend_url}/api/v1/tickets",
                                        params={"conversation_id": conversation.sender},
                                        headers={"Authorization": f"Bearer {backend_token}"}) as response:
                        tickets = (await response.json())["tickets"]
                    mine = [t for t in tickets if t["type"] == conversation.ticket]
                    if len(tickets) != 1 or len(mine) != 1:
                        result.ticket_errors += 1
                        result.error(f"{conversation.kind} {conversation.sender}: tickets "
                                     f"{[t['type'] for t in tickets]}, expected one {conversation.ticket}; answers "
                                     f"{conversation.answers}")

        await asyncio.gather(*(check(c) for c in conversations))


# ------------------------------------------------------------------------------------------ process watching ---


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found += [int(c) for c in text]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        stack += _children(current)
    return pids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def _python_role(pid: int) -> bool:
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes() or \
            b"rasa" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class Watcher:
    """Samples RSS of every process of each role (a role's process and its Python children) twice a second, and
    the CPU time each role used while it ran. A role is a process id or a function giving process ids (the
    PostgreSQL backends serving the stack's databases)."""

    def __init__(self, roles: dict):
        self.roles = roles
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.cpu_start: dict[int, float] = {}
        self.cpu_used: dict[str, float] = {}

    def pids(self, role: str) -> list[int]:
        found = self.roles[role]
        if callable(found):
            return found()
        return [p for p in _tree(found) if _python_role(p)]

    def _cpu_by_pid(self) -> dict[str, dict[int, float]]:
        return {role: {pid: _cpu_seconds(pid) for pid in self.pids(role)} for role in self.roles}

    def _run(self) -> None:
        while not self._stop.is_set():
            for role in self.roles:
                if callable(self.roles[role]):
                    continue  # shared servers' memory is not the stack's
                for index, pid in enumerate(sorted(self.pids(role))):
                    name = role if index == 0 else f"{role}#{index}"
                    self.peak[name] = max(self.peak.get(name, 0.0), _rss_mb(pid))
            self._stop.wait(0.5)

    def __enter__(self):
        self.peak = {}
        self.cpu_start = self._cpu_by_pid()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        end = self._cpu_by_pid()
        self.cpu_used = {role: sum(cpu - self.cpu_start.get(role, {}).get(pid, 0.0) for pid, cpu in pids.items())
                         for role, pids in end.items()}


# ------------------------------------------------------------------------------------------------- targets ---


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, deadline: float, proc: subprocess.Popen, log: Path) -> None:
    import requests

    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not healthy in time")


@contextmanager
def baseline(project: Path | None, work: Path) -> Iterator[dict]:
    """A plain `rasa init` bot (trained in a temporary folder unless one is given) served by `rasa run`."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    env.pop("SANIC_WORKERS", None)
    if project is None:
        project = work / "rasa-init"
    if not list(project.glob("models/*.tar.gz")):
        project.mkdir(parents=True, exist_ok=True)
        print(f"baseline: rasa init --no-prompt in {project} (trains the moodbot; a few minutes)", flush=True)
        started = time.time()
        with open(work / "baseline-init.log", "w") as log:
            subprocess.run([str(VENV_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
                           cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        print(f"baseline: trained in {time.time() - started:.0f} s", flush=True)
    port = _free_port()
    log_path = work / "baseline-rasa.log"
    proc = subprocess.Popen([str(VENV_BIN / "rasa"), "run", "--enable-api", "--port", str(port),
                             "--model", "models"], cwd=project, env=env, stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/", time.time() + 600, proc, log_path)
        yield {"url": f"http://127.0.0.1:{port}", "roles": {"rasa": proc.pid}, "project": project,
               "token": None, "backend": None, "describe": "plain `rasa init` moodbot, `rasa run` (1 process, "
               "in-memory tracker and lock store, no action server)"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def ours(work: Path, args) -> Iterator[dict]:
    from tests.scaled_stack import start_scaled_stack

    if args.attach:
        # A stack already running (development, profiling): {"rasa", "backend", "token", "rasa_token", "roles"}.
        found = json.loads(Path(args.attach).read_text())

        class Attached:
            backend_url, token = found["backend"], found["token"]

            def profile_pids(self):
                if found.get("profile"):
                    return found["profile"]
                return {"rasa": found.get("workers") or [found["roles"]["rasa"]],
                        "backend": [found["roles"]["backend"]], "actions": [found["roles"]["actions"]]}

        yield {"url": found["rasa"], "roles": found["roles"], "token": found["rasa_token"],
               "backend": (found["backend"], found["token"]), "describe": f"attached to {found['rasa']}",
               "stack": Attached()}
        return

    with start_scaled_stack(work, mode=args.mode, rasa_workers=args.rasa_workers,
                            actions_workers=args.actions_workers) as stack:
        roles = dict(stack.roles)
        if stack.tracker_db_url:
            roles["postgres"] = stack.postgres_pids
        yield {"url": stack.rasa_url, "roles": roles, "token": stack.rasa_token,
               "backend": (stack.backend_url, stack.token), "describe": stack.describe,
               "stack": stack}


# -------------------------------------------------------------------------------------------------- report ---


def _fmt_rss(peak: dict) -> str:
    return ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(peak.items()))


def table(results: dict, load: dict) -> str:
    lines = ["| users | bot | msg/s | p50 | p95 | p99 | errors | lost / dup turns | peak RSS per process (MB) "
             "| CPU ms/turn | load avg |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"]
    for users in sorted({r["users"] for rs in results.values() for r in rs}):
        rows = {name: next((r for r in rs if r["users"] == users), None) for name, rs in results.items()}
        for name, row in rows.items():
            if row is None:
                continue
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in row["cpu_ms_per_turn"].items())
            lines.append(
                f"| {users} | {name} | {row['msg_per_s']:.1f} | {row['p50_ms']:.0f} ms | {row['p95_ms']:.0f} ms | "
                f"{row['p99_ms']:.0f} ms | {row['errors']} / {row['turns']} | "
                f"{row['lost_turns']} / {row['duplicated_turns']} | {_fmt_rss(row['peak_rss_mb'])} | {cpu} | "
                f"{row['load_average'][0]:.2f} |")
        if rows.get("ours") and rows.get("baseline"):
            o, b = rows["ours"], rows["baseline"]
            lines.append(f"| {users} | **ours / baseline** | **{o['msg_per_s'] / b['msg_per_s']:.2f}×** | "
                         f"{o['p50_ms'] / b['p50_ms']:.2f}× | {o['p95_ms'] / b['p95_ms']:.2f}× | "
                         f"{o['p99_ms'] / b['p99_ms']:.2f}× | | | | | |")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"ours": "tab:red", "baseline": "tab:blue"}
    for name, rows in results.items():
        users = [r["users"] for r in rows]
        for key, dash in (("p50_ms", ":"), ("p95_ms", "-"), ("p99_ms", "--")):
            left.plot(users, [r[key] / 1000 for r in rows], dash, marker="o", color=styles.get(name),
                      label=f"{name} {key[:3]}")
        right.plot(users, [r["msg_per_s"] for r in rows], "-", marker="o", color=styles.get(name), label=name)
    left.set(xlabel="concurrent users", ylabel="seconds per turn", title="latency per turn (REST)", xscale="log")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    right.set(xlabel="concurrent users", ylabel="messages per second", title="throughput", xscale="log")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def update_readme(markdown: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench-load:start -->", "<!-- bench-load:end -->"
    if start not in text or end not in text:
        print("README.md has no bench-load markers; not updated")
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{markdown}\n{end}{tail}", encoding="utf-8")
    print("README.md: table updated")


# ---------------------------------------------------------------------------------------------------- main ---


def _expected_rate(users: int) -> float:
    return min(45.0, 12.0 * users)


async def measure(target: dict, scenarios, levels: list[int], duration: float, name: str,
                  profile: Callable[[str, int], object] | None) -> list[dict]:
    rows = []
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        # Warm-up: a few conversations so the first level does not pay for lazy loading.
        await run_level(target["url"], Pool(scenarios, http), 2, 5.0, target["token"])
        for users in levels:
            rows.append(await _level(target, scenarios, http, users, duration, name, profile))
            await asyncio.sleep(3)
    finally:
        await http.close()
    return rows


async def _open_connections(http: aiohttp.ClientSession, url: str, users: int) -> None:
    """One open keep-alive connection per user before the level starts, as clients behind a proxy that keeps its
    upstream connections have. A saturated Sanic server accepts new connections only a few per second (its accept
    queue stays full while it serves the connections it has), so cold connections measure that, not the bot:
    --cold-connections shows it."""
    async def one() -> None:
        async with http.get(f"{url}/", timeout=aiohttp.ClientTimeout(total=60)) as response:
            await response.read()

    await asyncio.gather(*(one() for _ in range(users)))


async def _level(target: dict, scenarios, http, users: int, duration: float, name: str, profile) -> dict:
    pool = await prepared_pool(scenarios, http, users, duration)
    if not COLD_CONNECTIONS:
        await _open_connections(http, target["url"], users)
    with Watcher({**target["roles"], "loadgen": lambda: [os.getpid()]}) as watcher:
        probe = profile(name, users) if profile else None
        result, conversations = await run_level(target["url"], pool, users, duration, target["token"])
        if probe:
            probe.stop()
    result.load_average = os.getloadavg()
    result.peak_rss = dict(watcher.peak)
    result.cpu_seconds = watcher.cpu_used
    await verify(target["url"], target["token"], conversations, result, target["backend"])
    row = result.summary()
    print(f"  {name:8} {users:4d} users: {row['msg_per_s']:6.1f} msg/s  p50 {row['p50_ms']:6.0f} ms  "
          f"p95 {row['p95_ms']:6.0f} ms  p99 {row['p99_ms']:6.0f} ms  errors {row['errors']}/{row['turns']}  "
          f"lost {row['lost_turns']} dup {row['duplicated_turns']} mismatched {row['tracker_mismatches']}  "
          f"load {row['load_average'][0]:.2f}", flush=True)
    for example in row["error_examples"][:3]:
        print(f"      error: {example}", flush=True)
    return row


class PySpy:
    """py-spy while one level runs: a flame graph of a Rasa worker (reports/profile.svg) and, for every process of
    every role, collapsed stacks summarised into reports/profile-<role>.txt (where the CPU goes, inclusive/self)."""

    def __init__(self, pids: dict[str, list[int]], seconds: float):
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.raw = REPORTS / "profile-raw"  # collapsed stacks, for a closer look
        shutil.rmtree(self.raw, ignore_errors=True)
        self.raw.mkdir(parents=True)
        spy = str(VENV_BIN / "py-spy")
        common = ["--duration", str(int(seconds)), "--rate", "100", "--nonblocking"]
        for role, role_pids in pids.items():
            for index, pid in enumerate(role_pids):
                out = self.raw / f"{role}-{index}.txt"
                self.procs.append((role, subprocess.Popen([spy, "record", "--pid", str(pid), *common, "--format",
                                                           "raw", "-o", str(out)], stdout=subprocess.DEVNULL,
                                                          stderr=subprocess.DEVNULL), out))
        first_rasa = (pids.get("rasa") or [None])[0]
        if first_rasa:
            self.procs.append(("svg", subprocess.Popen([spy, "record", "--pid", str(first_rasa), *common, "-o",
                                                        str(REPORTS / "profile.svg")], stdout=subprocess.DEVNULL,
                                                       stderr=subprocess.DEVNULL), REPORTS / "profile.svg"))

    def stop(self) -> None:
        for _, proc, _ in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
        by_role: dict[str, list[Path]] = {}
        for role, _, out in self.procs:
            if role != "svg" and out.exists():
                by_role.setdefault(role, []).append(out)
        for role, files in by_role.items():
            (REPORTS / f"profile-{role}.txt").write_text(summarise_stacks(files), encoding="utf-8")


def summarise_stacks(files: list[Path], top: int = 60) -> str:
    """Inclusive and self shares of functions in py-spy's collapsed stacks (idle event-loop waits included in the
    total: they are the process's spare time)."""
    import collections
    import re

    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            names = []
            for frame in stack.split(";"):
                match = re.match(r"(.*) \((.*?):\d+\)$", frame)
                where = match.group(2).split("site-packages/")[-1].split(str(ROOT) + "/")[-1] if match else ""
                names.append(f"{match.group(1)} ({where})" if match else frame)
            for name in set(names):
                inclusive[name] += n
            own[names[-1]] += n
    lines = [f"{total} samples at 100 Hz from {len(files)} process(es)", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)] if total else []
    lines += ["", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(30)] if total else []
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="1,20,100,200", help="concurrency levels, comma-separated")
    parser.add_argument("--duration", type=float, default=45.0, help="seconds per level (default 45)")
    parser.add_argument("--only", choices=("ours", "baseline"), help="measure one bot only")
    parser.add_argument("--baseline-project", type=Path, help="reuse a trained `rasa init` project")
    parser.add_argument("--mode", choices=("auto", "scaled", "embedded"), default="auto",
                        help="ours: scaled (PostgreSQL, Redis, workers), embedded (SQLite, one process each) or "
                             "auto (scaled when PostgreSQL and Redis answer)")
    parser.add_argument("--rasa-workers", type=int, default=None, help="Sanic workers of ours (scaled: 2)")
    parser.add_argument("--actions-workers", type=int, default=None, help="action-server workers (scaled: 4)")
    parser.add_argument("--attach", help="ours: a running stack described by a JSON file instead of a new one")
    parser.add_argument("--profile", type=int, default=0, metavar="USERS",
                        help="py-spy ours at this level: reports/profile.svg (a Rasa worker), profile-<role>.txt")
    parser.add_argument("--cold-connections", action="store_true",
                        help="no connection opened before a level: users' first turns open them under load")
    parser.add_argument("--readme", action="store_true", help="put the table into README.md")
    parser.add_argument("--out", default="bench_load", help="report name under reports/")
    args = parser.parse_args()
    levels = [int(x) for x in args.users.split(",") if x.strip()]
    global COLD_CONNECTIONS
    COLD_CONNECTIONS = args.cold_connections
    REPORTS.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    results: dict[str, list[dict]] = {}
    described: dict[str, str] = {}
    print(f"bench-load: {levels} users, {args.duration:.0f} s per level; work folder {work}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    started = time.time()
    try:
        with ExitStack() as stack:
            targets = {}
            if args.only != "ours":
                targets["baseline"] = stack.enter_context(baseline(args.baseline_project, work))
            if args.only != "baseline":
                targets["ours"] = stack.enter_context(ours(work, args))
            for name, target in targets.items():
                described[name] = target["describe"]
                print(f"{name}: {target['describe']}", flush=True)
                if name == "ours":
                    stack_ = target["stack"]
                    scenarios = OurScenarios(stack_.backend_url, stack_.token)
                else:
                    scenarios = BaselineScenarios(target["project"])

                def profile(who, users, target=target):
                    if who != "ours" or users != args.profile:
                        return None
                    return PySpy(target["stack"].profile_pids(), args.duration)

                results[name] = asyncio.run(measure(target, scenarios, levels, args.duration, name,
                                                    profile if args.profile else None))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = {"end": os.getloadavg()}
    connections = ("each user's first turn on a new connection" if args.cold_connections
                   else "one keep-alive connection per user opened before each level")
    markdown = (f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, {args.duration:.0f} s "
                f"per level, closed loop (no think time), REST channel, {connections}; load average (1 min) at the "
                f"end of each level in the last column.\n\n" + table(results, load) + "\n\n"
                + "\n".join(f"- {name}: {text}" for name, text in described.items()))
    print()
    print(markdown)
    (REPORTS / f"{args.out}.md").write_text(markdown + "\n", encoding="utf-8")
    (REPORTS / f"{args.out}.json").write_text(json.dumps({"results": results, "described": described,
                                                          "duration": args.duration}, indent=1))
    if results:
        plot(results, REPORTS / f"{args.out}.png")
    print(f"\nwrote reports/{args.out}.md, .json, .png in {time.time() - started:.0f} s")
    if args.readme:
        update_readme(markdown)
    bad = sum(r["errors"] + r["lost_turns"] + r["duplicated_turns"] + r["tracker_mismatches"]
              for rows in results.values() for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
