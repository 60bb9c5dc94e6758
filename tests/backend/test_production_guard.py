"""Production never starts with the published demo secrets or demo mode by accident; make run stays the demo."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from logistics.settings import DEMO_SECRETS, load

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {name: f"prod-{name.lower()}-0123456789abcdef" for name in DEMO_SECRETS}


def _env(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DEMO_SECRETS and k != "DEMO_MODE"}
    env.update({"PYTHONWARNINGS": "ignore", "BACKEND_PORT": "9", "ACTIONS_PORT": "9"}, **overrides)
    return env


def _run(module: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_demo_mode_is_off_unless_asked():
    assert load({}).demo_mode is False
    assert load({"DEMO_MODE": "true"}).demo_mode is True
    assert sorted(load({}).demo_secrets_in_use()) == sorted(DEMO_SECRETS)
    assert load({"DEMO_MODE": "false", **SECRETS}).demo_secrets_in_use() == []


def test_the_backend_refuses_demo_secrets_outside_demo_mode(tmp_path):
    result = _run("logistics", "serve", env=_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"))
    assert result.returncode != 0
    assert "refusing to start" in result.stderr
    for name in ("AGENT_SECRET_KEY", "LOGISTICS_API_TOKEN", "RASA_TOKEN"):
        assert name in result.stderr


def test_one_demo_secret_left_is_enough_to_refuse(tmp_path):
    secrets = {**SECRETS, "RASA_TOKEN": DEMO_SECRETS["RASA_TOKEN"]}
    result = _run("logistics", "serve", env=_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", **secrets))
    assert result.returncode != 0 and "RASA_TOKEN" in result.stderr and "AGENT_SECRET_KEY" not in result.stderr


def test_the_action_server_refuses_the_demo_token_outside_demo_mode():
    result = _run("actions.server", env=_env())
    assert result.returncode != 0
    assert "ACTION_SERVER_TOKEN" in result.stderr


def test_init_outside_demo_mode_seeds_no_demo_data_or_agent(tmp_path):
    result = _run("logistics", "init", env=_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", **SECRETS))
    assert result.returncode == 0, result.stderr
    assert "no demo data" in result.stdout
