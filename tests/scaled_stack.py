"""The assistant as it scales on one machine, started on free ports over fresh databases of its own: the backend on
PostgreSQL, Rasa with the PostgreSQL tracker store and the Redis lock store (several Sanic workers and/or several
replicas serving one conversation store), action-server workers, optionally Rasa's pika event broker.

Used by the load benchmark (scripts/bench_load.py) and the replica test (tests/e2e/test_replicas.py). With
mode="embedded" (or "auto" when PostgreSQL or Redis does not answer) it is the SQLite stack of tests/stack.py.

Settings (environment): SCALE_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test: the server and
role; the stack creates databases `stack_<id>` and `stack_<id>_tracker` there and drops them afterwards),
SCALE_REDIS_URL (default redis://127.0.0.1:6379/13: the lock store's database; keys under a prefix of the stack's
own, deleted afterwards), SCALE_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("SCALE_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("SCALE_REDIS_URL") or "redis://127.0.0.1:6379/13"
AMQP_URL = os.environ.get("SCALE_AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/"
# The tracker store of the scaled stack: ours (addons/tracker_store.py); SCALE_TRACKER_STORE=SQL for Rasa's own.
TRACKER_STORE = os.environ.get("SCALE_TRACKER_STORE") or "addons.tracker_store.LeanSQLTrackerStore"
# The lock store: ours (addons/lock_store.py, atomic); SCALE_LOCK_STORE=redis for Rasa's own (racy across replicas).
LOCK_STORE = os.environ.get("SCALE_LOCK_STORE") or "addons.lock_store.AtomicRedisLockStore"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable(url: str = POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers and may create databases, else why not."""
    try:
        import psycopg2

        with psycopg2.connect(url, connect_timeout=3) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            if not cursor.fetchone()[0]:
                return f"{url}: the role may not create databases"
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL at {url} not reachable: {exc}".strip()


def redis_reachable(url: str = REDIS_URL) -> str | None:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {url} not reachable: {exc}"


def amqp_reachable(url: str = AMQP_URL) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2):
            return None
    except OSError as exc:
        return f"RabbitMQ at {url} not reachable: {exc}"


def _admin(url: str, statements: list[str]) -> None:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


@dataclass
class ScaledStack:
    rasa_urls: list[str]
    backend_url: str
    actions_url: str
    token: str
    rasa_token: str
    action_token: str
    describe: str
    work: Path
    roles: dict = field(default_factory=dict)
    tracker_db_url: str | None = None
    redis: dict | None = None
    databases: tuple = ()

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    def rasa_worker_pids(self) -> list[int]:
        """The processes that handle messages: each replica's Sanic workers (or the replica itself)."""
        pids = []
        for role, pid in self.roles.items():
            if role.startswith("rasa"):
                children = _python_children(pid)
                pids += children or [pid]
        return pids

    def postgres_pids(self) -> list[int]:
        """The PostgreSQL server processes serving this stack's databases (local server only)."""
        if not self.databases:
            return []
        try:
            import psycopg2

            with psycopg2.connect(POSTGRES_URL, connect_timeout=3) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                               (list(self.databases),))
                return [row[0] for row in cursor.fetchall()]
        except Exception:  # noqa: BLE001 - a measurement, not a function of the stack
            return []

    def profile_pids(self) -> dict[str, list[int]]:
        """The processes doing the work, by role: Rasa workers, backend, action-server workers."""
        found = {"rasa": self.rasa_worker_pids(), "backend": [self.roles["backend"]]}
        actions = self.roles["actions"]
        found["actions"] = _python_children(actions) or [actions]
        return found

    def say(self, sender: str, text: str, replica: int = 0) -> list[dict]:
        response = requests.post(f"{self.rasa_urls[replica]}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str, replica: int = 0) -> dict:
        response = requests.get(f"{self.rasa_urls[replica]}/conversations/{sender}/tracker",
                                params={"include_events": "ALL", "token": self.rasa_token}, timeout=30)
        response.raise_for_status()
        return response.json()

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.backend_url}{path}", timeout=30,
                                headers={"Authorization": f"Bearer {self.token}"}, **kwargs)


def _python_children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return []
    return [c for c in found if b"python" in _cmdline(c) or b"rasa" in _cmdline(c)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def newest_model() -> Path | None:
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


ENDPOINTS = """\
action_endpoint:
  url: ${ACTION_ENDPOINT_URL}
  headers:
    Authorization: Bearer ${ACTION_SERVER_TOKEN}
  enable_selective_domain: true
nlg:
  type: addons.nlg.ResponseRenderer
"""


def _endpoints(scaled: bool, redis_parts, key_prefix: str, tracker_db: str, broker: bool) -> str:
    text = ENDPOINTS
    if not scaled:
        return text + 'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: ${TRACKER_DB}\n'
    pg = urlsplit(POSTGRES_URL)
    text += (f"tracker_store:\n  type: {TRACKER_STORE}\n  dialect: postgresql\n  url: {pg.hostname or '127.0.0.1'}\n"
             f"  port: {pg.port or 5432}\n  db: {tracker_db}\n  username: {pg.username or 'postgres'}\n"
             + (f"  password: {pg.password}\n" if pg.password else ""))
    # No login_db: the stack creates the database itself, and Rasa builds the engine of a login_db setup without
    # its pool settings (5 connections, each further one opened and closed per query).
    text += (f"lock_store:\n  type: {LOCK_STORE}\n  url: {redis_parts.hostname or '127.0.0.1'}\n"
             f"  port: {redis_parts.port or 6379}\n  db: {(redis_parts.path or '/0').lstrip('/') or 0}\n"
             f"  key_prefix: {key_prefix}\n")
    if broker:
        amqp = urlsplit(AMQP_URL)
        text += (f"event_broker:\n  type: pika\n  url: {amqp.hostname or '127.0.0.1'}\n  port: {amqp.port or 5672}\n"
                 f"  username: {amqp.username or 'guest'}\n  password: {amqp.password or 'guest'}\n"
                 f"  queues:\n    - {key_prefix}_events\n")
    return text


@contextmanager
def start_scaled_stack(work: Path, mode: str = "auto", rasa_workers: int | None = None,
                       actions_workers: int | None = None, rasa_replicas: int = 1, broker: bool = False,
                       seed_shipments: int = 400, start_timeout: float | None = None) -> Iterator[ScaledStack]:
    """Start backend, action server and `rasa_replicas` Rasa servers; stop them and drop what was created."""
    model = newest_model()
    if model is None:
        raise RuntimeError("no trained model in models/ (make train)")
    if mode == "auto":
        mode = "scaled" if not (postgres_reachable() or redis_reachable()) else "embedded"
    scaled = mode == "scaled"
    if scaled:
        for why in (postgres_reachable(), redis_reachable(), amqp_reachable() if broker else None):
            if why:
                raise RuntimeError(why)
    if not scaled and (rasa_replicas > 1 or (rasa_workers or 1) > 1):
        raise RuntimeError("several Rasa workers or replicas need PostgreSQL and Redis (mode=scaled)")
    rasa_workers = rasa_workers or (2 if scaled and rasa_replicas == 1 else 1)
    actions_workers = actions_workers or (4 if scaled else 1)
    stack_id = uuid.uuid4().hex[:10]
    key_prefix = f"stack{stack_id}"
    work.mkdir(parents=True, exist_ok=True)
    backend_db = f"stack_{stack_id}"
    tracker_db = f"stack_{stack_id}_tracker"
    redis_parts = urlsplit(REDIS_URL)
    ports = {"BACKEND_PORT": _free_port(), "ACTIONS_PORT": _free_port()}
    rasa_ports = [_free_port() for _ in range(rasa_replicas)]
    tokens = {"LOGISTICS_API_TOKEN": f"bench-{uuid.uuid4().hex}", "RASA_TOKEN": f"rasa-{uuid.uuid4().hex}",
              "ACTION_SERVER_TOKEN": f"act-{uuid.uuid4().hex}"}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, **tokens,
           "RASA_PORT": str(rasa_ports[0]), "RASA_URL": f"http://127.0.0.1:{rasa_ports[0]}",
           "BACKEND_URL": f"http://127.0.0.1:{ports['BACKEND_PORT']}",
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['ACTIONS_PORT']}/webhook",
           "TRACKER_DB": str(work / "tracker.db"), "DEMO_MODE": "true", "SEED_SHIPMENTS": str(seed_shipments),
           "HANDOFF_SWEEP_SECONDS": "0", "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore", "LOG_LEVEL": "WARNING"}
    env.pop("SANIC_WORKERS", None)
    if scaled:
        _admin(POSTGRES_URL, [f'CREATE DATABASE "{backend_db}"', f'CREATE DATABASE "{tracker_db}"'])
        env["DATABASE_URL"] = _with_database(POSTGRES_URL, backend_db)
        env["REDIS_URL"] = REDIS_URL
    else:
        env["DATABASE_URL"] = f"sqlite:///{work / 'logistics.db'}"
    endpoints = work / "endpoints.yml"
    endpoints.write_text(_endpoints(scaled, redis_parts, key_prefix, tracker_db, broker))
    procs: list[tuple[str, subprocess.Popen, Path]] = []

    def start(name: str, command: list[str], extra: dict | None = None) -> subprocess.Popen:
        log = work / f"{name}.log"
        proc = subprocess.Popen(command, cwd=ROOT, env={**env, **(extra or {})}, stdout=open(log, "a"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        procs.append((name, proc, log))
        return proc

    def wait(url: str, deadline: float) -> None:
        while time.time() < deadline:
            for name, proc, log in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{url} not healthy in time")

    try:
        subprocess.run([sys.executable, "-m", "logistics", "init"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start("backend", [sys.executable, "-m", "logistics", "serve"])
        start("actions", [sys.executable, "-m", "actions.server", "--port", str(ports["ACTIONS_PORT"]),
                          "--workers", str(actions_workers)])
        for index, port in enumerate(rasa_ports):
            start(f"rasa{index + 1}" if rasa_replicas > 1 else "rasa",
                  [str(VENV_BIN / "rasa"), "run", "--enable-api", "--auth-token", tokens["RASA_TOKEN"],
                   "--port", str(port), "--cors", "*", "--credentials", "credentials.yml",
                   "--endpoints", str(endpoints), "--model", str(model)],
                  {"SANIC_WORKERS": str(rasa_workers), "SANIC_BACKLOG": os.environ.get("SANIC_BACKLOG") or "1024"})
        deadline = time.time() + float(start_timeout or os.environ.get("STACK_START_TIMEOUT") or 300)
        wait(f"http://127.0.0.1:{ports['BACKEND_PORT']}/health", deadline)
        wait(f"http://127.0.0.1:{ports['ACTIONS_PORT']}/health", deadline)
        for port in rasa_ports:
            wait(f"http://127.0.0.1:{port}/", deadline)
        if scaled:
            describe = (f"{rasa_replicas} Rasa server{'s' if rasa_replicas > 1 else ''} × {rasa_workers} Sanic "
                        f"worker{'s' if rasa_workers > 1 else ''} (PostgreSQL tracker store, Redis lock store"
                        f"{', pika event broker' if broker else ''}), action server × {actions_workers} workers, "
                        f"backend on PostgreSQL (waitress)")
        else:
            describe = ("embedded: 1 Rasa process (SQLite tracker store, in-memory lock store), 1 action server, "
                        "backend on SQLite (waitress)")
        stack = ScaledStack(rasa_urls=[f"http://127.0.0.1:{p}" for p in rasa_ports],
                            backend_url=f"http://127.0.0.1:{ports['BACKEND_PORT']}",
                            actions_url=f"http://127.0.0.1:{ports['ACTIONS_PORT']}",
                            token=tokens["LOGISTICS_API_TOKEN"], rasa_token=tokens["RASA_TOKEN"],
                            action_token=tokens["ACTION_SERVER_TOKEN"], describe=describe, work=work,
                            roles={name: proc.pid for name, proc, _ in procs},
                            tracker_db_url=_with_database(POSTGRES_URL, tracker_db) if scaled else None,
                            redis={"url": REDIS_URL, "key_prefix": key_prefix} if scaled else None,
                            databases=(backend_db, tracker_db) if scaled else ())
        yield stack
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if scaled and not os.environ.get("SCALE_KEEP"):
            _drop(backend_db, tracker_db, key_prefix, f"{key_prefix}_events" if broker else None)


def _drop(backend_db: str, tracker_db: str, key_prefix: str, queue: str | None = None) -> None:
    for name in (backend_db, tracker_db):
        try:
            _admin(POSTGRES_URL, [f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
                                  f'DROP DATABASE IF EXISTS "{name}"'])
        except Exception as exc:  # noqa: BLE001 - cleaning up must not hide the real outcome
            print(f"could not drop database {name}: {exc}", file=sys.stderr)
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{key_prefix}*"):
            client.delete(key)
    except Exception as exc:  # noqa: BLE001
        print(f"could not clean Redis keys {key_prefix}*: {exc}", file=sys.stderr)
    if queue:
        try:
            import asyncio

            import aio_pika

            async def delete() -> None:
                connection = await aio_pika.connect(AMQP_URL, timeout=5)
                try:
                    channel = await connection.channel()
                    await channel.queue_delete(queue)
                finally:
                    await connection.close()

            asyncio.run(delete())
        except Exception as exc:  # noqa: BLE001
            print(f"could not delete the RabbitMQ queue {queue}: {exc}", file=sys.stderr)
