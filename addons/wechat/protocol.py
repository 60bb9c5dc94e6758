"""WeChat's callback protocol: signatures, fresh timestamps, safe XML, safe mode (AES) and passive replies.

wechatpy does the protocol itself (signature, WeChatCrypto, message parsing, reply rendering). What wechatpy
parses is checked by defusedxml first: a DTD of any kind (entity expansion, external entities) is refused before
wechatpy's xmltodict ever sees the text, and the body's size is bounded by the caller.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


class Refused(Exception):
    """A request refused before anything was processed: the HTTP status and a short reason for the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    message: BaseMessage
    encrypted: bool
    nonce: str


def check_request_signature(token: str, args: Dict[str, str], max_skew: int, now: Optional[float] = None) -> None:
    """The plain signature (sha1 of token, timestamp, nonce) and a timestamp within max_skew seconds of now.

    WeChat signs every callback, GET and POST, safe mode included; a forged or replayed old request stops here."""
    signature, timestamp, nonce = args.get("signature"), args.get("timestamp"), args.get("nonce")
    if not signature or not timestamp or not nonce:
        raise Refused(403, "missing signature, timestamp or nonce")
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Refused(403, "invalid signature") from None
    try:
        sent = int(timestamp)
    except ValueError:
        raise Refused(403, "timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - sent) > max_skew:
        raise Refused(403, f"stale timestamp ({int(now - sent)} s off)")


def safe_xml_fields(body: bytes | str) -> Dict[str, str]:
    """The children of a WeChat <xml> envelope as a dict; 400 for a DTD, an entity or malformed XML."""
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Refused(400, f"forbidden XML construct ({type(exc).__name__})") from None
    except SafeElementTree.ParseError as exc:
        raise Refused(400, f"malformed XML ({exc})") from None
    if root.tag != "xml":
        raise Refused(400, f"unexpected root element <{root.tag[:40]}>")
    return {child.tag: (child.text or "") for child in root}


def parse(body: bytes, args: Dict[str, str], *, token: str, crypto: Optional[WeChatCrypto]) -> Incoming:
    """The message of a POST whose plain signature was already checked: decrypted in safe mode, then parsed."""
    fields = safe_xml_fields(body)
    encrypted = args.get("encrypt_type", "raw").lower() == "aes"
    if crypto is not None and not encrypted:
        # Safe mode is configured: WeChat encrypts every message (compatible mode too), so plaintext is not it.
        raise Refused(403, "plaintext message while safe mode is configured")
    if encrypted:
        if crypto is None:
            raise Refused(400, "encrypted message but WECHAT_ENCODING_AES_KEY is not set")
        if not fields.get("Encrypt") or not args.get("msg_signature"):
            raise Refused(400, "encrypted message without Encrypt or msg_signature")
        try:
            plain = crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, args["msg_signature"],
                                           args["timestamp"], args["nonce"])
        except (InvalidSignatureException, InvalidAppIdException):
            raise Refused(403, "invalid msg_signature or app id") from None
        except Exception as exc:  # bad padding, bad base64: not a message WeChat encrypted with our key
            raise Refused(400, f"undecryptable message ({type(exc).__name__})") from None
        fields = safe_xml_fields(plain)
        xml_text = plain
    else:
        xml_text = body
    if not fields.get("MsgType") or not fields.get("FromUserName"):
        raise Refused(400, "message without MsgType or FromUserName")
    return Incoming(message=parse_message(xml_text), encrypted=encrypted, nonce=args.get("nonce", ""))


def render_text_reply(content: str, message: BaseMessage, *, crypto: Optional[WeChatCrypto], encrypted: bool,
                      nonce: str) -> str:
    """The passive XML reply to `message` (encrypted when the message was)."""
    reply = TextReply(content=content, message=message, time=int(time.time()))
    xml = reply.render()
    if encrypted and crypto is not None:
        return crypto.encrypt_message(xml, nonce, str(int(time.time())))
    return xml


def crypto_for(token: str, encoding_aes_key: str, app_id: str) -> Optional[WeChatCrypto]:
    """WeChatCrypto for safe mode, None in plaintext mode (no key)."""
    if not encoding_aes_key:
        return None
    try:
        return WeChatCrypto(token, encoding_aes_key, app_id)
    except (AssertionError, ValueError, TypeError) as exc:
        raise ValueError("WECHAT_ENCODING_AES_KEY must be the 43-character key from the WeChat console") from exc


def summary(message: BaseMessage) -> Dict[str, Any]:
    """What a log line may say about a message (no content)."""
    return {"type": message.type, "event": getattr(message, "event", None), "msg_id": message.id,
            "openid": message.source}
