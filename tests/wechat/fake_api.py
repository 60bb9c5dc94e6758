"""A local fake of WeChat's server API, a real HTTP server in a thread that records what it receives.

GET  /cgi-bin/token              access tokens TOKEN-1, TOKEN-2... (counted; the newest alone is valid)
POST /cgi-bin/message/custom/send customer-service messages (recorded per openid); 40001 for a token that is not
                                 the newest, 45015 for openids put in `outside_window`
GET  /cgi-bin/media/get          a user's photo by MediaId (a small PNG), optionally slow (`media_delay`)
GET  /pic/<name>                 the same photo as WeChat's CDN serves PicUrl
"""
from __future__ import annotations

import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlparse


def tiny_png() -> bytes:
    """A valid 1x1 PNG (the backend checks a photo's bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = b"\x89PNG\r\n\x1a\n"
    ihdr = chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    idat = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return header + ihdr + idat + chunk(b"IEND", b"")


PNG = tiny_png()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many messages arrive at once in the tests; the default backlog of 5 resets connections.
    request_queue_size = 256


class FakeWeChatApi:
    def __init__(self, expires_in: int = 7200, token_delay: float = 0.0):
        self.expires_in = expires_in
        self.token_delay = token_delay
        self.lock = threading.Lock()
        self.token_requests = 0
        self.current_token = ""
        self.sent: List[Dict[str, Any]] = []
        self.send_attempts: List[Dict[str, Any]] = []
        self.media_requests: List[str] = []
        self.outside_window: set = set()
        self.media_delay: Dict[str, float] = {}
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeWeChatApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what tests look at ---

    def messages_to(self, openid: str) -> List[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.sent if m.get("touser") == openid]

    def wait_for_messages(self, openid: str, count: int = 1, timeout: float = 30.0) -> List[str]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.messages_to(openid)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} message(s) to {openid} not sent in {timeout} s; got {self.messages_to(openid)}")

    def invalidate_token(self) -> None:
        """WeChat revoked the token (another server fetched a new one, say): the next call gets 40001."""
        with self.lock:
            self.current_token = "revoked"

    # --- the server ---

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, body: Dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _png(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def _token_ok(self, query: Dict[str, List[str]]) -> bool:
                token = (query.get("access_token") or [""])[0]
                with fake.lock:
                    return bool(token) and token == fake.current_token

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path == "/cgi-bin/token":
                    if fake.token_delay:
                        time.sleep(fake.token_delay)
                    if query.get("grant_type") != ["client_credential"] or not query.get("appid") \
                            or not query.get("secret"):
                        return self._json({"errcode": 40002, "errmsg": "invalid grant_type"})
                    with fake.lock:
                        fake.token_requests += 1
                        fake.current_token = f"TOKEN-{fake.token_requests}"
                        token = fake.current_token
                    return self._json({"access_token": token, "expires_in": fake.expires_in})
                if url.path == "/cgi-bin/media/get":
                    if not self._token_ok(query):
                        return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                    media_id = (query.get("media_id") or [""])[0]
                    with fake.lock:
                        fake.media_requests.append(media_id)
                    delay = fake.media_delay.get(media_id, 0.0)
                    if delay:
                        time.sleep(delay)
                    return self._png()
                if url.path.startswith("/pic/"):
                    return self._png()
                return self._json({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if url.path == "/cgi-bin/message/custom/send":
                    with fake.lock:
                        fake.send_attempts.append({"token": (query.get("access_token") or [""])[0], **body})
                    if not self._token_ok(query):
                        return self._json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
                    if body.get("touser") in fake.outside_window:
                        return self._json({"errcode": 45015, "errmsg": "response out of time limit"})
                    content = (body.get("text") or {}).get("content", "")
                    if len(content.encode()) > 2048:
                        return self._json({"errcode": 45002, "errmsg": "content size out of limit"})
                    with fake.lock:
                        fake.sent.append(body)
                    return self._json({"errcode": 0, "errmsg": "ok"})
                return self._json({"errcode": 404, "errmsg": "not found"}, 404)

        return Handler
