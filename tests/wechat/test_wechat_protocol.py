"""WeChat's callback protocol (addons/wechat/protocol.py): signatures, stale timestamps, hostile XML, safe mode."""
from __future__ import annotations

import time

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from addons.wechat import protocol
from addons.wechat.protocol import Refused
from tests.wechat.sender import AES_KEY, APP_ID, signature, text_xml

TOKEN = "unit-token"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-attacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-attacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<xml><ToUserName>gh</ToUserName><FromUserName>o-attacker</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>x</Content><MsgId>3</MsgId></xml>"""


def signed(timestamp: int | None = None, nonce: str = "n0nce") -> dict:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


def test_a_correct_signature_with_a_fresh_timestamp_passes():
    protocol.check_request_signature(TOKEN, signed(), max_skew=300)


@pytest.mark.parametrize("tamper", ["token", "signature", "nonce", "timestamp", "missing"])
def test_a_forged_signature_is_refused(tamper):
    args = signed()
    if tamper == "token":
        args = {**args, "signature": signature("someone-elses-token", args["timestamp"], args["nonce"])}
    elif tamper == "signature":
        args["signature"] = "0" * 40
    elif tamper == "nonce":
        args["nonce"] = "other"
    elif tamper == "timestamp":
        args["timestamp"] = str(int(args["timestamp"]) + 1)
    else:
        del args["signature"]
    with pytest.raises(Refused) as refused:
        protocol.check_request_signature(TOKEN, args, max_skew=300)
    assert refused.value.status == 403


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_replay_with_an_old_or_future_timestamp_is_refused_even_when_signed(offset):
    now = time.time()
    with pytest.raises(Refused) as refused:
        protocol.check_request_signature(TOKEN, signed(int(now) + offset), max_skew=300, now=now)
    assert refused.value.status == 403 and "stale" in refused.value.reason


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_entity_expansion_and_external_entities_are_refused_before_parsing(hostile):
    started = time.perf_counter()
    with pytest.raises(Refused) as refused:
        protocol.parse(hostile.encode(), signed(), token=TOKEN, crypto=None)
    assert refused.value.status == 400 and "forbidden" in refused.value.reason
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("body", [b"<xml><unclosed></xml>", b"not xml at all", b"<html><body/></html>",
                                  b"<xml><Content>no type or sender</Content></xml>"])
def test_malformed_or_foreign_xml_is_refused(body):
    with pytest.raises(Refused) as refused:
        protocol.parse(body, signed(), token=TOKEN, crypto=None)
    assert refused.value.status == 400


def test_a_plaintext_message_is_parsed_by_wechatpy():
    incoming = protocol.parse(text_xml("o-user", "我的快递到哪了", mid=42).encode(), signed(), token=TOKEN,
                              crypto=None)
    message = incoming.message
    assert (message.type, message.source, message.content, message.id) == ("text", "o-user", "我的快递到哪了", 42)
    assert not incoming.encrypted


def _sealed(crypto: WeChatCrypto, xml: str, args: dict) -> tuple[bytes, dict]:
    sealed = xmltodict.parse(crypto.encrypt_message(xml, args["nonce"], args["timestamp"]))["xml"]
    body = f"<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
    return body.encode(), {**args, "encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}


def test_safe_mode_round_trip():
    crypto = protocol.crypto_for(TOKEN, AES_KEY, APP_ID)
    body, args = _sealed(crypto, text_xml("o-safe", "查快递", mid=7), signed())
    incoming = protocol.parse(body, args, token=TOKEN, crypto=crypto)
    assert incoming.encrypted and incoming.message.content == "查快递"
    reply = protocol.render_text_reply("您好", incoming.message, crypto=crypto, encrypted=True, nonce="abc")
    sealed = xmltodict.parse(reply)["xml"]
    plain = xmltodict.parse(crypto.decrypt_message(reply, sealed["MsgSignature"], sealed["TimeStamp"],
                                                   sealed["Nonce"]))["xml"]
    assert plain["Content"] == "您好" and plain["ToUserName"] == "o-safe" and plain["MsgType"] == "text"


def test_safe_mode_refuses_a_wrong_msg_signature_plaintext_and_another_accounts_key():
    crypto = protocol.crypto_for(TOKEN, AES_KEY, APP_ID)
    body, args = _sealed(crypto, text_xml("o-safe", "查快递"), signed())
    with pytest.raises(Refused) as wrong:
        protocol.parse(body, {**args, "msg_signature": "f" * 40}, token=TOKEN, crypto=crypto)
    assert wrong.value.status == 403
    with pytest.raises(Refused) as plaintext:
        protocol.parse(text_xml("o-safe", "查快递").encode(), signed(), token=TOKEN, crypto=crypto)
    assert plaintext.value.status == 403
    other = protocol.crypto_for(TOKEN, AES_KEY, "wx-another-app")
    with pytest.raises(Refused) as app:
        protocol.parse(body, args, token=TOKEN, crypto=other)
    assert app.value.status == 403


def test_a_bomb_inside_the_encrypted_payload_is_refused_too():
    crypto = protocol.crypto_for(TOKEN, AES_KEY, APP_ID)
    body, args = _sealed(crypto, BILLION_LAUGHS, signed())
    with pytest.raises(Refused) as refused:
        protocol.parse(body, args, token=TOKEN, crypto=crypto)
    assert refused.value.status == 400


def test_a_bad_aes_key_is_a_clear_error():
    with pytest.raises(ValueError, match="43-character"):
        protocol.crypto_for(TOKEN, "too-short", APP_ID)
