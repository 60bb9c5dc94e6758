"""Every environment variable the backend reads, with safe demo defaults (see .env.example)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parent.parent
# Published defaults: fine for make run, refused in production (Settings.refuse_unsafe_production).
DEMO_SECRETS = {
    "AGENT_SECRET_KEY": "dev-agent-secret-change-me",
    "LOGISTICS_API_TOKEN": "dev-token",
    "RASA_TOKEN": "dev-rasa-token",
    "ACTION_SERVER_TOKEN": "dev-action-token",
    "AGENT_DEMO_PASSWORD": "agent-demo-2026",
}


@dataclass(frozen=True)
class Settings:
    database_url: str
    api_token: str = "dev-token"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1 << 20
    threads: int = 8
    timezone: str = "Asia/Shanghai"
    seed_shipments: int = 2400
    seed_random: int = 20261125
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "dev-rasa-token"
    public_base_url: str = ""
    # Agent console: the key that signs its session cookie, the demo agent's password, HTTPS-only cookies.
    agent_secret_key: str = "dev-agent-secret-change-me"
    agent_demo_password: str = "agent-demo-2026"
    agent_cookie_secure: bool = False
    # Where browsers reach Rasa's socket.io (the widget); defaults to rasa_url.
    public_rasa_url: str = ""
    # Demo mode shows one-time login codes on the page instead of sending an SMS.
    demo_mode: bool = False
    action_server_token: str = "dev-action-token"
    # A user waiting for a human longer than this (no agent took the conversation) is given back to the bot, with a
    # callback ticket when their contact is known; checked when they write and every handoff_sweep_seconds.
    handoff_max_wait_minutes: int = 15
    # How often `serve` looks for expired waits (0: never; POST /api/v1/handoffs/expire runs it on demand).
    handoff_sweep_seconds: int = 60
    # Rasa's SQL tracker store, read by the analytics conversation importer (logistics/analytics/conversations.py):
    # the embedded default is the SQLite file TRACKER_DB; production sets a PostgreSQL URL. Empty: not imported.
    tracker_store_url: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def demo_secrets_in_use(self) -> list[str]:
        """The secrets still at their published demo values (production refuses to start with any)."""
        values = {"AGENT_SECRET_KEY": self.agent_secret_key, "LOGISTICS_API_TOKEN": self.api_token,
                  "RASA_TOKEN": self.rasa_token, "ACTION_SERVER_TOKEN": self.action_server_token,
                  "AGENT_DEMO_PASSWORD": self.agent_demo_password}
        return [name for name, value in values.items() if value == DEMO_SECRETS[name]]

    def refuse_unsafe_production(self) -> None:
        """Raise SystemExit when demo mode is off but a demo secret is still in use."""
        if self.demo_mode:
            return
        unsafe = self.demo_secrets_in_use()
        if unsafe:
            raise SystemExit(
                "refusing to start outside demo mode with demo secrets: " + ", ".join(unsafe)
                + ". Set each to a long random value (see .env.example), or DEMO_MODE=true for a demo.")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _whole(name: str, env: Mapping[str, str], default: int, minimum: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}")
    return value


def _tracker_db_url(env: Mapping[str, str]) -> str:
    """sqlite:/// of TRACKER_DB (a path; relative ones from the repository root, as Rasa runs there)."""
    path = Path(env.get("TRACKER_DB") or "var/tracker.db")
    return f"sqlite:///{path if path.is_absolute() else ROOT / path}"


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (or a given mapping, for tests)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("VAR_DIR") or ROOT / "var")
    return Settings(
        database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'logistics.db'}",
        api_token=env.get("LOGISTICS_API_TOKEN") or "dev-token",
        host=env.get("BACKEND_HOST") or "127.0.0.1",
        port=int(env.get("BACKEND_PORT") or 8000),
        max_body_bytes=int(env.get("BACKEND_MAX_BODY_BYTES") or 1 << 20),
        threads=int(env.get("BACKEND_THREADS") or 8),
        seed_shipments=int(env.get("SEED_SHIPMENTS") or 2400),
        seed_random=int(env.get("SEED_RANDOM") or 20261125),
        rasa_url=env.get("RASA_URL") or f"http://127.0.0.1:{env.get('RASA_PORT') or 5005}",
        rasa_token=env.get("RASA_TOKEN") or "dev-rasa-token",
        public_base_url=env.get("PUBLIC_BASE_URL") or "",
        agent_secret_key=env.get("AGENT_SECRET_KEY") or "dev-agent-secret-change-me",
        agent_demo_password=env.get("AGENT_DEMO_PASSWORD") or "agent-demo-2026",
        agent_cookie_secure=(env.get("AGENT_COOKIE_SECURE") or "").lower() in ("1", "true", "yes"),
        public_rasa_url=env.get("PUBLIC_RASA_URL") or "",
        # Off unless asked for: make run asks (scripts/env.sh); production never should.
        demo_mode=(env.get("DEMO_MODE") or "false").strip().lower() in ("1", "true", "yes", "on"),
        action_server_token=env.get("ACTION_SERVER_TOKEN") or DEMO_SECRETS["ACTION_SERVER_TOKEN"],
        handoff_max_wait_minutes=_whole("HANDOFF_MAX_WAIT_MINUTES", env, 15, minimum=1),
        handoff_sweep_seconds=_whole("HANDOFF_SWEEP_SECONDS", env, 60, minimum=0),
        tracker_store_url=env.get("TRACKER_STORE_URL") or _tracker_db_url(env),
        extra={"TEST_DATABASE_URL": env.get("TEST_DATABASE_URL", "")},
    )
