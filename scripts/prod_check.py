"""make run-prod, before anything starts: the services production mode needs answer, its databases exist (created
when missing, with Rasa's conversation table, so the two Rasa servers do not race to create it), and no demo
secret is in use. Exits non-zero with the reason otherwise."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fail(message: str) -> None:
    print(f"run-prod: {message}", file=sys.stderr)
    sys.exit(1)


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    try:
        conn = psycopg2.connect(admin, connect_timeout=5)
    except psycopg2.Error as exc:
        fail(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} does not answer ({exc}). Set PROD_POSTGRES_URL.")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"run-prod: created database {name}", flush=True)
    conn.close()


def reachable(host: str, port: int, what: str, setting: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=3):
            return
    except OSError as exc:
        fail(f"{what} at {host}:{port} does not answer ({exc}); set {setting}")


def main() -> int:
    from logistics import settings as backend_settings

    if os.environ.get("DEMO_MODE", "").lower() in ("1", "true", "yes", "on"):
        fail("production mode runs with DEMO_MODE=false")
    settings = backend_settings.load()
    unsafe = settings.demo_secrets_in_use()
    if unsafe:
        fail("demo secrets in use: " + ", ".join(unsafe) + " (unset them to use var/prod/secrets.env)")
    if settings.is_sqlite:
        fail("DATABASE_URL must be PostgreSQL in production mode")
    ensure_database(settings.database_url)
    tracker_url = os.environ["TRACKER_STORE_URL"]
    ensure_database(tracker_url)
    reachable(os.environ["REDIS_HOST"], int(os.environ["REDIS_PORT"]), "Redis (lock store)", "REDIS_HOST/REDIS_PORT")
    reachable(os.environ["RABBITMQ_HOST"], int(os.environ["RABBITMQ_PORT"]), "RabbitMQ (event broker)",
              "RABBITMQ_HOST/RABBITMQ_PORT")
    # Rasa's conversation table, created once here rather than by two servers at the same moment.
    import logging

    logging.disable(logging.WARNING)
    from addons.tracker_store import LeanSQLTrackerStore

    store = LeanSQLTrackerStore(None, dialect="postgresql", host=os.environ["TRACKER_DB_HOST"],
                                port=os.environ["TRACKER_DB_PORT"], db=os.environ["TRACKER_DB"],
                                username=os.environ["TRACKER_DB_USER"],
                                password=os.environ.get("TRACKER_DB_PASSWORD") or None)
    store.engine.dispose()
    print("run-prod: PostgreSQL, Redis and RabbitMQ answer; no demo secret in use", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
