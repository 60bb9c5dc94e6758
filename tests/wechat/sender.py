"""Requests built and signed with wechatpy exactly as WeChat's servers send them to an account's URL."""
from __future__ import annotations

import time
import uuid
from typing import Optional

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

ACCOUNT = "gh_0123456789ab"
APP_ID = "wx0123456789abcdef"
# A 43-character EncodingAESKey as the console generates it.
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def openid() -> str:
    """An openid in WeChat's shape (28 characters)."""
    return "o" + uuid.uuid4().hex[:27]


_ids = iter(range(int(time.time() * 1000) * 1000, 10**20))


def msg_id() -> int:
    return next(_ids)


def text_xml(user: str, content: str, mid: Optional[int] = None, created: Optional[int] = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{mid or msg_id()}</MsgId></xml>")


def image_xml(user: str, pic_url: str, media_id: str, mid: Optional[int] = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[{pic_url}]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{mid or msg_id()}</MsgId></xml>")


def voice_xml(user: str, recognition: str, media_id: str = "voice-media", mid: Optional[int] = None) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<Recognition><![CDATA[{recognition}]]></Recognition><MsgId>{mid or msg_id()}</MsgId></xml>")


def event_xml(user: str, event: str, key: str = "", created: Optional[int] = None) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key or event == "CLICK" else ""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>")


class WeChatServer:
    """Posts messages to the channel as WeChat does: signed query, plaintext or safe-mode (AES) body."""

    def __init__(self, url: str, token: str, aes_key: Optional[str] = None, app_id: str = APP_ID):
        self.url = url
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def query(self, timestamp: Optional[int] = None, nonce: Optional[str] = None, **extra) -> dict:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:10]
        return {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}

    def verify(self, echostr: str = "echo-123", **query) -> requests.Response:
        params = {**self.query(), "echostr": echostr, **query}
        return requests.get(self.url, params=params, timeout=10)

    def post(self, xml: str, *, timeout: float = 15.0, params: Optional[dict] = None,
             timestamp: Optional[int] = None, body: Optional[bytes] = None) -> requests.Response:
        params = dict(params) if params is not None else self.query(timestamp)
        user = xmltodict.parse(xml)["xml"]["FromUserName"] if body is None else "o-unknown"
        params.setdefault("openid", user)
        if self.crypto is not None and body is None:
            sealed = xmltodict.parse(self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"]))["xml"]
            params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>").encode()
        data = body if body is not None else xml.encode()
        return requests.post(self.url, params=params, data=data, timeout=timeout,
                             headers={"Content-Type": "text/xml"})

    def reply(self, response: requests.Response) -> Optional[dict]:
        """The passive reply as a dict (decrypted in safe mode), or None for "success" / an empty answer."""
        response.raise_for_status()
        text = response.text.strip()
        if text in ("", "success"):
            return None
        if self.crypto is not None:
            sealed = xmltodict.parse(text)["xml"]
            text = self.crypto.decrypt_message(text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        return xmltodict.parse(text)["xml"]
