"""The website chat's public API (/web/api): one-time-code login, history from Rasa, photo upload to the ticket."""
from __future__ import annotations

import json
import socket
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from logistics import db
from logistics.app import create_app
from logistics.errors import ApiError
from logistics.settings import Settings
from logistics.tickets import evidence
from logistics.timeutil import utcnow
from logistics.web import history, otp
from tests.support import TOKEN, Api, unique_phone

PNG = b"\x89PNG\r\n\x1a\n"


def session_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture()
def web(backend_url) -> Api:
    """A browser's view of the backend: no bearer token."""
    return Api(backend_url, token=None)


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error", "message"} and body["message"]
    if code:
        assert body["error"] == code
    return body


# ---- one-time code login ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,status", [
    ({}, 400),
    ({"data": "phone=13800000001", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
    ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
    ({"json": ["13800000001"]}, 400),
    ({"json": {"phone": "12345", "session_id": "a" * 32}}, 422),
    ({"json": {"phone": "13800000001", "session_id": "../../etc/passwd"}}, 422),
    ({"json": {"phone": "13800000001"}}, 422),
])
def test_bad_code_request_is_a_json_4xx(web, kwargs, status):
    assert_json_error(web.post("/web/api/otp", **kwargs), status)


@pytest.mark.parametrize("body", [
    {"phone": "13800000001", "code": "12ab56", "session_id": "a" * 32},
    {"phone": "13800000001", "code": "", "session_id": "a" * 32},
    {"phone": "13800000001", "code": "123456", "session_id": "not-a-session"},
    {"phone": "138", "code": "123456", "session_id": "a" * 32},
])
def test_bad_verification_is_a_json_4xx(web, body):
    assert_json_error(web.post("/web/api/otp/verify", json=body), 422)


def test_demo_code_logs_in_and_binds_the_browser_to_the_customer(web, api):
    phone, sid = unique_phone(), session_id()
    sent = web.post("/web/api/otp", json={"phone": phone, "session_id": sid})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["sent"] is True and body["expires_in"] == 300 and body["demo_code"].isdigit()
    verified = web.post("/web/api/otp/verify", json={"phone": phone, "code": body["demo_code"], "session_id": sid})
    assert verified.status_code == 200, verified.text
    assert verified.json()["phone"] == f"{phone[:3]}****{phone[-4:]}"
    lookup = api.get("/api/v1/customers/lookup", params={"channel": "socketio", "external_id": sid})
    assert lookup.status_code == 200
    assert lookup.json()["id"] == verified.json()["customer_id"]
    # A code is good once.
    again = web.post("/web/api/otp/verify", json={"phone": phone, "code": body["demo_code"], "session_id": sid})
    assert_json_error(again, 400, "code_expired")


def test_an_existing_customer_logs_in_to_their_own_record(web, api):
    phone = unique_phone()
    created = api.post("/api/v1/customers", json={"phone": phone, "name": "周杰"})
    assert created.status_code == 201
    sid = session_id()
    code = web.post("/web/api/otp", json={"phone": phone, "session_id": sid}).json()["demo_code"]
    verified = web.post("/web/api/otp/verify", json={"phone": phone, "code": code, "session_id": sid})
    assert verified.json()["customer_id"] == created.json()["id"]


def test_a_second_code_within_a_minute_is_refused_with_retry_after(web):
    phone = unique_phone()
    assert web.post("/web/api/otp", json={"phone": phone, "session_id": session_id()}).status_code == 200
    refused = web.post("/web/api/otp", json={"phone": phone, "session_id": session_id()})
    body = assert_json_error(refused, 429, "rate_limited")
    assert 0 < body["retry_after"] <= 60
    assert refused.headers["Retry-After"] == str(body["retry_after"])


def test_wrong_codes_count_down_and_then_the_code_is_dead(web):
    phone, sid = unique_phone(), session_id()
    code = web.post("/web/api/otp", json={"phone": phone, "session_id": sid}).json()["demo_code"]
    wrong = "000000" if code != "000000" else "111111"
    lefts = []
    for _ in range(otp.MAX_ATTEMPTS - 1):
        body = assert_json_error(web.post("/web/api/otp/verify", json={"phone": phone, "code": wrong,
                                                                        "session_id": sid}), 400, "wrong_code")
        lefts.append(body["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1]
    assert_json_error(web.post("/web/api/otp/verify", json={"phone": phone, "code": wrong, "session_id": sid}),
                      403, "too_many_attempts")
    # Even the right code no longer works: guessing has used the code up.
    assert_json_error(web.post("/web/api/otp/verify", json={"phone": phone, "code": code, "session_id": sid}),
                      403, "too_many_attempts")


def test_a_code_for_another_phone_does_not_log_in(web):
    phone, other, sid = unique_phone(), unique_phone(), session_id()
    code = web.post("/web/api/otp", json={"phone": phone, "session_id": sid}).json()["demo_code"]
    assert_json_error(web.post("/web/api/otp/verify", json={"phone": other, "code": code, "session_id": sid}),
                      400, "code_expired")


def test_codes_are_stored_hashed(engine, web):
    phone = unique_phone()
    code = web.post("/web/api/otp", json={"phone": phone, "session_id": session_id()}).json()["demo_code"]
    with db.transaction(db.session_factory(engine)) as session:
        from logistics.web.models import OtpCode

        row = session.query(OtpCode).filter_by(phone=phone).one()
        assert code not in row.code_hash and len(row.code_hash) == 64


def test_rate_limits_per_phone_per_hour_and_per_address(engine):
    factory = db.session_factory(engine)
    start = utcnow() - timedelta(hours=2)
    phone = unique_phone()
    with db.transaction(factory) as session:
        for n in range(otp.PER_PHONE_PER_HOUR):
            otp.issue(session=session, phone=phone, session_id="a" * 32, ip="10.1.0.1", secret="s",
                      now=start + timedelta(minutes=2 * n))
        with pytest.raises(ApiError) as refused:
            otp.issue(session=session, phone=phone, session_id="a" * 32, ip="10.1.0.1", secret="s",
                      now=start + timedelta(minutes=12))
        assert refused.value.status == 429
        # 60 minutes after the first code, the phone may ask again.
        assert refused.value.details["retry_after"] == 48 * 60
        otp.issue(session=session, phone=phone, session_id="a" * 32, ip="10.1.0.1", secret="s",
                  now=start + timedelta(minutes=61))
    ip = f"10.2.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with db.transaction(factory) as session:
        for n in range(otp.PER_IP_PER_HOUR):
            otp.issue(session=session, phone=unique_phone(), session_id="a" * 32, ip=ip, secret="s",
                      now=start + timedelta(seconds=n))
        with pytest.raises(ApiError) as refused:
            otp.issue(session=session, phone=unique_phone(), session_id="a" * 32, ip=ip, secret="s",
                      now=start + timedelta(minutes=30))
        assert refused.value.status == 429 and refused.value.details["retry_after"] == 30 * 60


def test_an_expired_code_is_refused(engine):
    factory = db.session_factory(engine)
    phone, past = unique_phone(), utcnow() - timedelta(minutes=10)
    with db.transaction(factory) as session:
        issued = otp.issue(session=session, phone=phone, session_id="a" * 32, ip="10.3.0.1", secret="s", now=past)
    with db.transaction(factory) as session, pytest.raises(ApiError) as refused:
        otp.verify(session=session, phone=phone, code=issued.code, session_id="a" * 32, secret="s", now=utcnow())
    assert refused.value.code == "code_expired"


def test_without_demo_mode_the_code_is_not_shown(engine):
    app = create_app(Settings(database_url=str(engine.url), api_token=TOKEN, demo_mode=False), engine=engine)
    response = app.test_client().post("/web/api/otp", json={"phone": unique_phone(), "session_id": session_id()})
    assert response.status_code == 200 and "demo_code" not in response.get_json()


# ---- history ---------------------------------------------------------------------------------------------

class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's tracker endpoint, answering with a canned conversation (or an empty one)."""

    trackers: dict = {}

    def do_GET(self):  # noqa: N802
        conversation = self.path.split("/conversations/", 1)[1].split("/", 1)[0]
        body = json.dumps(self.trackers.get(conversation, {"sender_id": conversation, "events": []})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_rasa():
    server = HTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _client(engine, rasa_url: str):
    settings = Settings(database_url=str(engine.url), api_token=TOKEN, rasa_url=rasa_url, demo_mode=True)
    return create_app(settings, engine=engine).test_client()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONVERSATION = [
    {"event": "action", "name": "action_session_start", "timestamp": 1.0},
    {"event": "user", "text": "我的快递到哪了", "timestamp": 10.0, "parse_data": {"intent": {"name": "track_parcel"}}},
    {"event": "bot", "text": "您名下有2个包裹，想查哪一个？\n\n点下面的按钮就行。", "timestamp": 11.0,
     "data": {"buttons": [{"title": "顺丰 SF14…", "payload": '/inform{"tracking_number":"SF1402837465912"}'}]}},
    {"event": "user", "text": '/inform{"tracking_number":"SF1402837465912"}', "timestamp": 20.0,
     "metadata": {"display": "顺丰 SF14…"}},
    {"event": "bot", "text": None, "timestamp": 21.0,
     "data": {"custom": {"data": {"type": "timeline", "tracking_number": "SF1402837465912", "events": []}}}},
    {"event": "user", "text": "/send_photo", "timestamp": 30.0, "metadata": {"evidence": {"id": 7}}},
    {"event": "user", "text": "/greet", "timestamp": 31.0},
    {"event": "user", "text": "<script>alert(1)</script>", "timestamp": 40.0},
    {"event": "user", "text": "<script>alert(1)</script>", "timestamp": 40.0},
]


def test_history_comes_from_rasa_shaped_like_the_socket(engine, fake_rasa):
    sid = session_id()
    FakeRasa.trackers[sid] = {"sender_id": sid, "events": CONVERSATION}
    response = _client(engine, fake_rasa).get(f"/web/api/history?session_id={sid}")
    assert response.status_code == 200
    items = response.get_json()["messages"]
    assert [(m["role"], m["text"]) for m in items] == [
        ("user", "我的快递到哪了"), ("bot", "您名下有2个包裹，想查哪一个？"), ("bot", "点下面的按钮就行。"),
        ("user", "顺丰 SF14…"), ("bot", ""), ("user", ""), ("user", "/greet"),
        ("user", "<script>alert(1)</script>"), ("user", "<script>alert(1)</script>")]
    assert items[2]["quick_replies"][0]["payload"].startswith("/inform")
    assert "quick_replies" not in items[1]
    assert items[4]["custom"]["type"] == "timeline"
    assert items[5]["evidence_id"] == 7 and not items[5].get("hidden")
    assert items[6]["hidden"] is True
    ids = [m["id"] for m in items]
    assert len(set(ids)) == len(ids), "two equal messages in the same second still get their own ids"
    again = _client(engine, fake_rasa).get(f"/web/api/history?session_id={sid}").get_json()["messages"]
    assert [m["id"] for m in again] == ids


def test_history_of_an_unknown_session_is_empty(engine, fake_rasa):
    response = _client(engine, fake_rasa).get(f"/web/api/history?session_id={uuid.uuid4()}")
    assert response.status_code == 200 and response.get_json() == {"messages": []}


@pytest.mark.parametrize("query", ["", "?session_id=", "?session_id=abc", "?session_id=%3Cscript%3E",
                                   "?session_id=" + "a" * 33, "?session_id=../../conversations"])
def test_history_needs_a_real_session_id(web, query):
    assert_json_error(web.get(f"/web/api/history{query}"), 400, "bad_request")


def test_history_when_rasa_is_down_is_a_503(engine):
    response = _client(engine, f"http://127.0.0.1:{_closed_port()}").get(f"/web/api/history?session_id={session_id()}")
    assert response.status_code == 503
    assert response.get_json()["error"] == "rasa_unavailable"


def test_message_ids_are_stable_and_distinct():
    assert history.message_id("user", 1.5, "hi", 0) == history.message_id("user", 1.5, "hi", 0)
    assert history.message_id("user", 1.5, "hi", 0) != history.message_id("bot", 1.5, "hi", 0)
    assert history.message_id("user", 1.5, "hi", 0) != history.message_id("user", 1.5, "hi", 1)


# ---- evidence --------------------------------------------------------------------------------------------

def _open_ticket(api, make_shipment, sid: str, type_: str = "claim") -> dict:
    number = make_shipment()["tracking_number"]
    response = api.post("/api/v1/tickets", json={"type": type_, "tracking_number": number, "conversation_id": sid,
                                                 "idempotency_key": f"{type_}:{uuid.uuid4().hex}"})
    assert response.status_code == 201, response.text
    return response.json()


def _upload(web, sid, data: bytes, content_type: str = "image/png", name: str = "box.png"):
    return web.post("/web/api/evidence", files={"file": (name, data, content_type)}, data={"session_id": sid})


def test_a_photo_goes_to_the_conversations_newest_open_ticket_that_takes_photos(web, api, make_shipment):
    sid = session_id()
    claim = _open_ticket(api, make_shipment, sid, "claim")
    _open_ticket(api, make_shipment, sid, "urge")  # newer, but an urge takes no photos
    data = PNG + uuid.uuid4().bytes * 64
    response = _upload(web, sid, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ticket_id"] == claim["id"] and body["ticket_type"] == "claim" and body["evidence_count"] == 1
    # The same photo again (a double click, a retry) is stored once.
    again = _upload(web, sid, data)
    assert again.status_code == 200 and again.json()["evidence_id"] == body["evidence_id"]
    assert _upload(web, sid, PNG + uuid.uuid4().bytes * 64).json()["evidence_count"] == 2
    shown = web.get(f"/web/api/evidence/{body['evidence_id']}", params={"session_id": sid})
    assert shown.status_code == 200 and shown.content == data and shown.headers["Content-Type"] == "image/png"
    # Another browser cannot read this conversation's photos.
    assert_json_error(web.get(f"/web/api/evidence/{body['evidence_id']}", params={"session_id": session_id()}),
                      404, "not_found")


def test_a_photo_without_a_ticket_is_a_409(web, api, make_shipment):
    sid = session_id()
    _open_ticket(api, make_shipment, sid, "urge")
    assert_json_error(_upload(web, sid, PNG + b"x" * 100), 409, "no_ticket")


@pytest.mark.parametrize("upload,status", [
    ({"files": {"file": ("a.pdf", b"%PDF-1.4 ...", "application/pdf")}}, 415),
    ({"files": {"file": ("a.png", b"not really a png", "image/png")}}, 415),
    ({"files": {"file": ("a.png", b"", "image/png")}}, 400),
    ({"files": {"photo": ("a.png", PNG + b"x", "image/png")}}, 400),
    ({"json": {"file": "x"}}, 415),
])
def test_a_bad_upload_is_a_json_4xx(web, api, make_shipment, upload, status):
    sid = session_id()
    _open_ticket(api, make_shipment, sid)
    kwargs = dict(upload)
    if "files" in kwargs:
        kwargs["data"] = {"session_id": sid}
    assert_json_error(web.post("/web/api/evidence", **kwargs), status)


def test_an_upload_needs_a_real_session_id(web):
    response = web.post("/web/api/evidence", files={"file": ("a.png", PNG + b"x", "image/png")},
                        data={"session_id": "nope"})
    assert_json_error(response, 400, "bad_request")


def test_a_photo_too_large_is_a_413(web, api, make_shipment):
    sid = session_id()
    _open_ticket(api, make_shipment, sid)
    assert_json_error(_upload(web, sid, PNG + b"x" * evidence.MAX_BYTES), 413, "payload_too_large")


def test_the_chat_page_embeds_the_widget_with_one_tag(web):
    home = web.get("/", allow_redirects=False)
    assert home.status_code == 302 and home.headers["Location"].endswith("/chat")
    page = web.get("/chat")
    assert page.status_code == 200
    # The test backend's Rasa is a closed port (tests/conftest.py serve): the page names whatever is configured.
    assert page.text.count("widget.js") == 1 and 'data-rasa-url="http://127.0.0.1:9"' in page.text
    assert web.get("/web/static/widget/widget.css").status_code == 200


def test_a_logged_in_customer_adds_photos_to_a_claim_from_another_conversation(web, api, make_shipment):
    phone = unique_phone()
    number = make_shipment(recipient={"name": "周杰", "phone": phone, "address": "杭州市西湖区文三路2号"})[
        "tracking_number"]
    claim = api.post("/api/v1/tickets", json={"type": "claim", "tracking_number": number, "conversation_id": "old",
                                              "idempotency_key": f"claim:{uuid.uuid4().hex}"}).json()
    sid = session_id()
    assert_json_error(_upload(web, sid, PNG + b"y" * 100), 409, "no_ticket")
    code = web.post("/web/api/otp", json={"phone": phone, "session_id": sid}).json()["demo_code"]
    assert web.post("/web/api/otp/verify", json={"phone": phone, "code": code, "session_id": sid}).ok
    uploaded = _upload(web, sid, PNG + uuid.uuid4().bytes * 8)
    assert uploaded.status_code == 201 and uploaded.json()["ticket_id"] == claim["id"]
    shown = web.get(f"/web/api/evidence/{uploaded.json()['evidence_id']}", params={"session_id": sid})
    assert shown.status_code == 200
