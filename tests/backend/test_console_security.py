"""The agent console under attack: login throttling, server-side sessions (logout, password change, expiry, forged
cookies), hostile tokens, handoff access by assignment, and transcripts frozen at close.

The module runs its own backend on a database of its own (the address locks it sets off would refuse other
modules' logins from 127.0.0.1), with the demo AGENT_SECRET_KEY and a fake Rasa the tests script."""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import delete, select, update

from logistics import db
from logistics.app import create_app
from logistics.handoffs import auth, flows, service
from logistics.handoffs.models import AgentSession, Handoff, LoginAttempt, LoginLock
from logistics.rasa_client import RasaUnavailable
from logistics.settings import Settings
from logistics.timeutil import utcnow
from tests.backend.test_handoffs import PASSWORD, Console, body
from tests.conftest import ServerThread, _backends, _database
from tests.support import TOKEN, Api

DEMO_SECRET = Settings(database_url="sqlite://").agent_secret_key


class FakeRasa:
    """The Rasa HTTP API as the console uses it: trackers the tests write, resume and the closing action."""

    def __init__(self):
        self.events: dict[str, list[dict]] = {}
        self.down = False
        self.lock = threading.Lock()

    def _check(self):
        if self.down:
            raise RasaUnavailable("fake Rasa is down")

    def add(self, conversation: str, event: str, text: str | None = None, **extra) -> None:
        item = {"event": event, "timestamp": time.time(), **extra}
        if text is not None:
            item["text"] = text
        with self.lock:
            self.events.setdefault(conversation, []).append(item)

    def tracker(self, conversation: str) -> dict:
        self._check()
        with self.lock:
            return {"sender_id": conversation, "paused": False, "events": list(self.events.get(conversation, []))}

    def append_events(self, conversation: str, events: list[dict]) -> dict:
        self._check()
        for event in events:
            self.add(conversation, event["event"])
        return {}

    def execute(self, conversation: str, action: str, output_channel: str = "latest") -> dict:
        self._check()
        self.add(conversation, "action", name=action)
        if action == flows.CLOSED_ACTION:
            self.add(conversation, "bot", "人工服务已结束，请为本次服务打个分",
                     data={"buttons": [{"title": "5 分", "payload": '/rate_service{"rating":"5"}'}]})
        return {}


@pytest.fixture(scope="module", params=_backends())
def sec_engine(request, tmp_path_factory):
    with _database(request.param, tmp_path_factory) as engine:
        yield engine


@pytest.fixture(scope="module")
def rasa():
    return FakeRasa()


def _serve(engine, rasa):
    # The demo secret on purpose: nothing it could sign may open the console.
    settings = Settings(database_url=str(engine.url), api_token=TOKEN, max_body_bytes=64 * 1024,
                        rasa_url="http://127.0.0.1:9")
    assert settings.agent_secret_key == DEMO_SECRET
    app = create_app(settings, engine=engine)
    app.extensions["rasa"] = rasa
    server = ServerThread(app)
    server.start()
    return server, f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def base(sec_engine, rasa):
    server, url = _serve(sec_engine, rasa)
    yield url
    server.stop()


@pytest.fixture()
def factory(sec_engine):
    return db.session_factory(sec_engine)


@pytest.fixture(autouse=True)
def forget_login_failures(sec_engine):
    """Every test starts with no failures or locks (they all come from 127.0.0.1)."""
    yield
    with db.transaction(db.session_factory(sec_engine)) as s:
        s.execute(delete(LoginLock))
        s.execute(delete(LoginAttempt))


@pytest.fixture()
def api(base) -> Api:
    return Api(base)


def new_agent(factory, role: str | None = None, password: str = PASSWORD) -> str:
    username = f"agent-{uuid.uuid4().hex[:8]}"
    with db.transaction(factory) as s:
        service.create_agent(session=s, username=username, password=password, display_name="客服小周", role=role)
    return username


def logged_in(base: str, factory, role: str | None = None) -> Console:
    console = Console(base)
    console.username = new_agent(factory, role)
    assert console.login(console.username, PASSWORD).status_code == 200
    return console


def cookie_of(console: Console) -> str:
    return next(c.value for c in console.http.cookies if c.name == "agent_session")


def with_cookie(base: str, token: str) -> requests.Session:
    """A fresh browser that replays a saved session cookie."""
    http = requests.Session()
    http.headers["Cookie"] = f"agent_session={token}"
    return http


def login_json(base: str, username: str, password: str) -> requests.Response:
    http = requests.Session()
    page = http.get(f"{base}/agent/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return http.post(f"{base}/agent/login", json={"username": username, "password": password},
                     headers={"X-CSRF-Token": token}, timeout=10)


# --- 1. login throttling ---


def test_five_wrong_passwords_lock_the_user_even_for_the_right_one(base, factory, caplog):
    username = new_agent(factory)
    console = Console(base)
    with caplog.at_level(logging.WARNING, logger="logistics.handoffs.auth"):
        for _ in range(auth.USER_LIMIT):
            assert console.login(username, "wrong-password").status_code == 401
    locks = [r for r in caplog.records if "locked" in r.getMessage() and username in r.getMessage()]
    assert len(locks) == 1 and locks[0].levelno == logging.WARNING
    # The HTML form: a readable Chinese message, 429 and Retry-After; the right password is refused too.
    page = console.login(username, PASSWORD)
    assert page.status_code == 429
    assert "分钟后再试" in page.text and "锁定" in page.text
    retry = int(page.headers["Retry-After"])
    assert 0 < retry <= auth.LOCK_FOR.total_seconds()
    assert console.get("/agent/api/queue").status_code == 401
    # JSON clients get the contract's error body.
    answer = login_json(base, username, PASSWORD)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    data = answer.json()
    assert data["error"] == "throttled" and "分钟后再试" in data["message"]
    assert 0 < data["details"]["retry_after_seconds"] <= auth.LOCK_FOR.total_seconds()
    # Another user on the same address is not locked.
    assert logged_in(base, factory).get("/agent/api/queue").status_code == 200
    # Once the lock has passed, the right password works again.
    with db.transaction(factory) as s:
        s.execute(update(LoginLock).where(LoginLock.key == username)
                  .values(locked_until=utcnow() - timedelta(seconds=1)))
    assert console.login(username, PASSWORD).status_code == 200
    assert console.get("/agent/api/queue").status_code == 200


def test_a_right_password_resets_the_users_count(base, factory):
    username = new_agent(factory)
    for _ in range(auth.USER_LIMIT - 1):
        assert Console(base).login(username, "nope-nope").status_code == 401
    assert Console(base).login(username, PASSWORD).status_code == 200
    for _ in range(auth.USER_LIMIT - 1):
        assert Console(base).login(username, "nope-nope").status_code == 401
    assert Console(base).login(username, PASSWORD).status_code == 200


def test_unknown_user_names_lock_too(base):
    name = f"ghost-{uuid.uuid4().hex[:6]}"
    codes = [Console(base).login(name, "guess").status_code for _ in range(auth.USER_LIMIT + 1)]
    assert codes == [401] * auth.USER_LIMIT + [429]


def test_many_failures_from_one_address_lock_the_address(base, factory, caplog):
    username = new_agent(factory)
    with caplog.at_level(logging.WARNING, logger="logistics.handoffs.auth"):
        for i in range(auth.ADDRESS_LIMIT):
            # A different name each time: no user lock, only the address adds up.
            assert login_json(base, f"spray-{i}-{uuid.uuid4().hex[:4]}", "password1").status_code == 401
    assert any("client address" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)
    answer = login_json(base, username, PASSWORD)
    assert answer.status_code == 429 and answer.json()["error"] == "throttled"
    assert answer.json()["details"]["retry_after_seconds"] > 0


def test_the_throttle_holds_across_backend_instances(sec_engine, rasa, base, factory):
    """Two backends on one database (as several processes would be): failures on either count for both."""
    username = new_agent(factory)
    other, other_url = _serve(sec_engine, rasa)
    try:
        for i in range(auth.USER_LIMIT):
            assert Console(base if i % 2 else other_url).login(username, "wrong-wrong").status_code == 401
        assert Console(base).login(username, PASSWORD).status_code == 429
        assert Console(other_url).login(username, PASSWORD).status_code == 429
    finally:
        other.stop()


# --- 2. server-side sessions ---


def test_the_cookie_is_a_random_id_of_a_stored_session(base, factory):
    console = logged_in(base, factory)
    cookie = next(c for c in console.http.cookies if c.name == "agent_session")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    assert "." not in cookie.value  # not a signed payload
    with factory() as s:
        row = s.execute(select(AgentSession).where(AgentSession.token_hash == auth.token_hash(cookie.value))
                        ).scalar_one()
        assert row.agent.username == console.username and row.revoked_at is None
        assert row.expires_at - row.created_at == auth.ABSOLUTE
        # Only the hash is stored.
        assert not s.execute(select(AgentSession).where(AgentSession.token_hash == cookie.value)).first()


def test_logout_revokes_the_session_so_a_saved_cookie_no_longer_works(base, factory):
    console = logged_in(base, factory)
    saved = cookie_of(console)
    assert with_cookie(base, saved).get(f"{base}/agent/api/queue", timeout=10).status_code == 200
    logout = console.http.post(f"{base}/agent/logout", data={"csrf_token": console.csrf}, allow_redirects=False,
                               timeout=10)
    assert logout.status_code == 302
    replay = with_cookie(base, saved)
    assert replay.get(f"{base}/agent/api/queue", timeout=10).status_code == 401
    assert replay.get(f"{base}/agent/", allow_redirects=False, timeout=10).status_code == 302
    assert replay.post(f"{base}/agent/api/handoffs/1/claim", headers={"X-CSRF-Token": console.csrf},
                       timeout=10).status_code == 403
    with factory() as s:
        row = s.execute(select(AgentSession).where(AgentSession.token_hash == auth.token_hash(saved))).scalar_one()
        assert row.revoked_at is not None


def test_a_password_change_revokes_every_session_of_the_agent(base, factory):
    first = logged_in(base, factory)
    second = Console(base)
    assert second.login(first.username, PASSWORD).status_code == 200
    saved_first, saved_second = cookie_of(first), cookie_of(second)
    path = "/agent/api/password"
    assert first.post(path, json={"current_password": "not-it", "new_password": "new-secret-77"}).status_code == 403
    assert first.post(path, json={"current_password": PASSWORD, "new_password": "short"}).status_code == 422
    assert first.post(path, json={"current_password": PASSWORD, "new_password": PASSWORD}).status_code == 422
    assert first.post(path, json={"current_password": PASSWORD, "new_password": "new-secret-77"},
                      csrf="").status_code == 403
    changed = first.post(path, json={"current_password": PASSWORD, "new_password": "new-secret-77"})
    assert changed.status_code == 200 and changed.json()["changed"] is True
    # Every earlier session is gone, this browser's own included; it holds a new one.
    for saved in (saved_first, saved_second):
        assert with_cookie(base, saved).get(f"{base}/agent/api/queue", timeout=10).status_code == 401
    assert second.get("/agent/api/queue").status_code == 401
    assert cookie_of(first) not in (saved_first, saved_second)
    assert first.get("/agent/api/queue").status_code == 200
    first.csrf = changed.json()["csrf_token"]
    assert first.get("/agent/api/session").json()["csrf_token"] == first.csrf
    assert Console(base).login(first.username, PASSWORD).status_code == 401
    assert Console(base).login(first.username, "new-secret-77").status_code == 200


def test_the_password_page_and_the_service_function(base, factory):
    console = logged_in(base, factory)
    page = console.get("/agent/password")
    assert page.status_code == 200 and "当前密码" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": token, "current_password": PASSWORD, "new_password": "another-pass-1",
            "confirm_password": "different-pass-1"}
    assert console.http.post(f"{base}/agent/password", data=form, timeout=10).status_code == 422
    done = console.http.post(f"{base}/agent/password", data={**form, "confirm_password": "another-pass-1"},
                             timeout=10)
    assert done.status_code == 200 and "密码已修改" in done.text
    assert console.get("/agent/api/queue").status_code == 200
    # The CLI's function (python -m logistics agent-passwd) ends every session too.
    with db.transaction(factory) as s:
        agent = service.get_agent_by_username(session=s, username=console.username)
        assert service.set_password(session=s, agent=agent, password="from-the-cli-1") >= 1
    assert console.get("/agent/api/queue").status_code == 401
    assert Console(base).login(console.username, "from-the-cli-1").status_code == 200


def test_wrong_current_passwords_are_throttled_like_logins(base, factory):
    console = logged_in(base, factory)
    for _ in range(auth.USER_LIMIT):
        assert console.post("/agent/api/password", json={"current_password": "guess-guess",
                                                         "new_password": "new-secret-77"}).status_code == 403
    answer = console.post("/agent/api/password", json={"current_password": PASSWORD,
                                                       "new_password": "new-secret-77"})
    assert answer.status_code == 429 and answer.json()["error"] == "throttled"
    assert int(answer.headers["Retry-After"]) == answer.json()["details"]["retry_after_seconds"]


def test_idle_and_absolute_expiry(base, factory):
    idle, old = logged_in(base, factory), logged_in(base, factory)
    with db.transaction(factory) as s:
        s.execute(update(AgentSession).where(AgentSession.token_hash == auth.token_hash(cookie_of(idle)))
                  .values(last_seen_at=utcnow() - auth.IDLE - timedelta(seconds=5)))
        s.execute(update(AgentSession).where(AgentSession.token_hash == auth.token_hash(cookie_of(old)))
                  .values(created_at=utcnow() - auth.ABSOLUTE - timedelta(minutes=1),
                          expires_at=utcnow() - timedelta(minutes=1)))
    assert idle.get("/agent/api/queue").status_code == 401
    assert old.get("/agent/api/queue").status_code == 401
    # A request within the idle time keeps a session alive.
    active = logged_in(base, factory)
    with db.transaction(factory) as s:
        s.execute(update(AgentSession).where(AgentSession.token_hash == auth.token_hash(cookie_of(active)))
                  .values(last_seen_at=utcnow() - auth.IDLE + timedelta(minutes=2)))
    assert active.get("/agent/api/queue").status_code == 200
    with factory() as s:
        seen = s.execute(select(AgentSession.last_seen_at).where(
            AgentSession.token_hash == auth.token_hash(cookie_of(active)))).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)


def test_a_deactivated_agent_is_logged_out(base, factory):
    console = logged_in(base, factory)
    with db.transaction(factory) as s:
        service.get_agent_by_username(session=s, username=console.username).active = False
    assert console.get("/agent/api/queue").status_code == 401


# --- 6. cookies forged with the demo secret ---


def test_a_cookie_forged_with_the_default_secret_key_is_refused(base, factory):
    console = logged_in(base, factory)
    with factory() as s:
        agent_id = service.get_agent_by_username(session=s, username=console.username).id
    signer = Flask("forger")
    signer.secret_key = DEMO_SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    forged = serializer.dumps({"agent_id": agent_id, "csrf_token": "forged-csrf-token"})
    attacker = with_cookie(base, forged)
    assert attacker.get(f"{base}/agent/api/queue", timeout=10).status_code == 401
    assert attacker.get(f"{base}/agent/api/session", timeout=10).status_code == 401
    assert attacker.get(f"{base}/agent/", allow_redirects=False, timeout=10).status_code == 302
    assert attacker.post(f"{base}/agent/api/handoffs/1/claim", headers={"X-CSRF-Token": "forged-csrf-token"},
                         timeout=10).status_code == 403


# --- 5. hostile tokens and cookies ---


@pytest.mark.parametrize("token", ["é" * 20, "你好".encode(), "\x00\x01", "a" * 10_000, "wrong"])
def test_hostile_csrf_tokens_are_403_never_500(base, factory, token):
    # A NUL anywhere in a request may be refused by the app as a whole (400) before the console looks at it.
    refused = (400, 403) if "\x00" in str(token) else (403,)
    console = logged_in(base, factory)
    answer = console.http.post(f"{base}/agent/api/handoffs/1/claim", headers={"X-CSRF-Token": token}, timeout=10)
    assert answer.status_code in refused and answer.json()["error"] in ("csrf", "bad_request")
    # The login form and logout too.
    anonymous = requests.Session()
    anonymous.get(f"{base}/agent/login", timeout=10)
    login = anonymous.post(f"{base}/agent/login", headers={"X-CSRF-Token": token},
                           data={"username": console.username, "password": PASSWORD}, timeout=10)
    assert login.status_code in refused
    logout = console.http.post(f"{base}/agent/logout", headers={"X-CSRF-Token": token}, allow_redirects=False,
                               timeout=10)
    assert logout.status_code in refused
    assert console.get("/agent/api/queue").status_code == 200


@pytest.mark.parametrize("value", ["你好".encode(), "é".encode("latin-1") * 40, b"x" * 3000, b'"quoted"', b"a;b"])
def test_hostile_cookies_are_401_never_500(base, value):
    header = b"agent_session=" + value + b"; agent_csrf=" + value
    for method, path, expected in (("GET", "/agent/api/queue", 401), ("GET", "/agent/api/session", 401),
                                   ("POST", "/agent/api/handoffs/1/close", 403), ("GET", "/agent/login", 200)):
        answer = requests.request(method, base + path, headers={"Cookie": header, "X-CSRF-Token": "x" * 43},
                                  timeout=10)
        assert answer.status_code == expected, (path, answer.status_code, answer.text[:200])
    page = requests.get(f"{base}/agent/", headers={"Cookie": header}, allow_redirects=False, timeout=10)
    assert page.status_code == 302


# --- 3. handoff access by assignment ---


def test_a_handoff_assigned_to_another_agent_is_403(api, base, factory, make_ticket):
    alice, bob = logged_in(base, factory), logged_in(base, factory)
    boss = logged_in(base, factory, role="supervisor")
    handoff = api.post("/api/v1/handoffs", json=body()).json()
    hid = handoff["id"]
    # Waiting in the queue: every agent may read it.
    assert bob.get(f"/agent/api/handoffs/{hid}").status_code == 200
    assert hid in [h["id"] for h in bob.get("/agent/api/queue").json()["queued"]]
    assert alice.post(f"/agent/api/handoffs/{hid}/claim").json()["status"] == "active"
    ticket = make_ticket(handoff["conversation_id"])
    # Assigned to alice: bob can neither read nor work it, nor see it in his queue.
    for path in (f"/agent/api/handoffs/{hid}", f"/agent/api/handoffs/{hid}/transcript"):
        denied = bob.get(path)
        assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    assert bob.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "我来接手"}).status_code == 403
    assert bob.post(f"/agent/api/handoffs/{hid}/retry", json={}).status_code == 403
    assert bob.post(f"/agent/api/handoffs/{hid}/close", json={}).status_code == 403
    assert bob.post(f"/agent/api/handoffs/{hid}/claim").status_code == 409
    assert bob.post(f"/agent/api/tickets/{ticket}", json={"note": "bob 的备注"}).status_code == 403
    assert bob.post(f"/agent/api/tickets/{handoff['ticket_id']}", json={"note": "x"}).status_code == 403
    assert bob.post("/agent/api/tickets/99999999", json={"note": "x"}).status_code == 404
    queue = bob.get("/agent/api/queue").json()
    assert hid not in [h["id"] for h in queue["queued"] + queue["active"] + queue["closed"]]
    # Alice works it.
    detail = alice.get(f"/agent/api/handoffs/{hid}").json()
    assert detail["mine"] and detail["may_work"]
    assert alice.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "您好"}).status_code == 201
    assert alice.post(f"/agent/api/tickets/{ticket}", json={"note": "alice 的备注"}).status_code == 200
    assert hid in [h["id"] for h in alice.get("/agent/api/queue").json()["active"]]
    # A supervisor reads everything but does not write in alice's conversation.
    assert boss.get("/agent/api/session").json()["agent"]["role"] == "supervisor"
    seen = boss.get(f"/agent/api/handoffs/{hid}").json()
    assert seen["may_work"] is False and seen["mine"] is False
    assert boss.get(f"/agent/api/handoffs/{hid}/transcript").status_code == 200
    assert hid in [h["id"] for h in boss.get("/agent/api/queue").json()["active"]]
    assert boss.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "主管插话"}).status_code == 403
    assert boss.post(f"/agent/api/handoffs/{hid}/close", json={}).status_code == 403
    # Closed by alice: still hers to read, still not bob's.
    assert alice.post(f"/agent/api/handoffs/{hid}/close", json={}).json()["status"] == "closed"
    assert alice.get(f"/agent/api/handoffs/{hid}").status_code == 200
    assert hid in [h["id"] for h in alice.get("/agent/api/queue").json()["closed"]]
    assert bob.get(f"/agent/api/handoffs/{hid}").status_code == 403
    assert bob.get(f"/agent/api/handoffs/{hid}/transcript").status_code == 403
    assert boss.get(f"/agent/api/handoffs/{hid}").status_code == 200


def test_answering_or_closing_a_waiting_handoff_assigns_it(api, base, factory):
    alice, bob = logged_in(base, factory), logged_in(base, factory)
    first = api.post("/api/v1/handoffs", json=body()).json()["id"]
    second = api.post("/api/v1/handoffs", json=body()).json()["id"]
    assert alice.post(f"/agent/api/handoffs/{first}/messages", json={"text": "您好"}).status_code == 201
    assert bob.get(f"/agent/api/handoffs/{first}").status_code == 403
    assert alice.post(f"/agent/api/handoffs/{second}/close", json={}).json()["agent"]["username"] == alice.username
    assert bob.get(f"/agent/api/handoffs/{second}").status_code == 403


@pytest.fixture()
def make_ticket(api):
    def _make(conversation: str) -> int:
        answer = api.post("/api/v1/tickets", json={"type": "complaint", "conversation_id": conversation,
                                                   "details": {"text": "快递员态度差"},
                                                   "idempotency_key": f"c:{uuid.uuid4().hex}"})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]
    return _make


# --- 4. transcripts frozen at close ---


def test_a_closed_handoffs_transcript_stops_at_the_close(api, base, factory, rasa):
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    rasa.add(conversation, "user", "我的快递丢了，转人工")
    rasa.add(conversation, "bot", "正在为您转接人工客服")
    rasa.add(conversation, "pause")
    rasa.add(conversation, "user", "还要等多久")
    hid = api.post("/api/v1/handoffs", json=body(conversation)).json()["id"]
    alice = logged_in(base, factory)
    assert alice.post(f"/agent/api/handoffs/{hid}/claim").status_code == 200
    live = alice.get(f"/agent/api/handoffs/{hid}/transcript").json()
    assert live["live"] is True and [line["text"] for line in live["lines"]][-1] == "还要等多久"
    closed = alice.post(f"/agent/api/handoffs/{hid}/close", json={}).json()
    assert closed["status"] == "closed" and closed["resumed"] is True
    # The conversation goes on with the bot afterwards (and might be somebody else's business then).
    rasa.add(conversation, "user", "另外我家的地址是幸福路 8 号")
    rasa.add(conversation, "bot", "好的，已为您记录新地址")
    frozen = alice.get(f"/agent/api/handoffs/{hid}/transcript").json()
    texts = [line["text"] for line in frozen["lines"]]
    assert frozen["frozen"] is True and frozen["live"] is False and frozen["complete"] is True
    assert texts == ["我的快递丢了，转人工", "正在为您转接人工客服", "还要等多久", "人工服务已结束，请为本次服务打个分"]
    assert "幸福路" not in str(frozen)
    with factory() as s:
        stored = s.get(Handoff, hid).closed_transcript
    assert stored["complete"] and [line["text"] for line in stored["lines"]] == texts
    # Closing again (a retry) changes nothing.
    assert alice.post(f"/agent/api/handoffs/{hid}/close", json={}).status_code == 200
    assert alice.get(f"/agent/api/handoffs/{hid}/transcript").json()["lines"] == frozen["lines"]


def test_a_transcript_frozen_while_rasa_was_down_never_shows_later_turns(api, base, factory, rasa):
    conversation = f"conv-{uuid.uuid4().hex[:8]}"
    rasa.add(conversation, "user", "转人工")
    rasa.add(conversation, "user", "人呢")
    hid = api.post("/api/v1/handoffs", json=body(conversation)).json()["id"]
    alice = logged_in(base, factory)
    assert alice.post(f"/agent/api/handoffs/{hid}/messages", json={"text": "您好，我在"}).status_code == 201
    rasa.down = True
    try:
        closed = alice.post(f"/agent/api/handoffs/{hid}/close", json={}).json()
        assert closed["resumed"] is False and closed["warning"]
        partial = alice.get(f"/agent/api/handoffs/{hid}/transcript").json()
    finally:
        rasa.down = False
    assert partial["frozen"] is True and partial["complete"] is False and "不可达" in partial["warning"]
    assert [line["text"] for line in partial["lines"]] == ["转人工", "您好，我在"]
    # Rasa is back and the user has moved on: the snapshot is completed up to the close, not beyond it.
    time.sleep(0.01)
    rasa.add(conversation, "user", "新的问题：另一个包裹呢")
    complete = alice.get(f"/agent/api/handoffs/{hid}/transcript").json()
    texts = [line["text"] for line in complete["lines"]]
    assert complete["complete"] is True and "人呢" in texts and "新的问题：另一个包裹呢" not in texts
