"""Generated Chinese sentences with gold tracking_number / phone_number spans, for entity evaluation only."""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logistics.shipments.tracking_numbers import (  # noqa: E402
    PHONE_NUMBER_REGEX,
    candidates,
    find_in_text,
    s10_check_digit,
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PHONE = re.compile(PHONE_NUMBER_REGEX)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _s10(rng: random.Random, indicators: str) -> str:
    serial = _digits(rng, 8)
    service = rng.choice(indicators) + rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    country = rng.choice(["CN", "GB", "US", "JP", "DE", "HK", "FR", "AU", "KR", "SG"])
    return f"{service}{serial}{s10_check_digit(serial)}{country}"


# Format name -> (carrier code the number must be a candidate for, maker). Covers every carrier format the
# bot is expected to pick out of free text; names are stable because tests and reports group by them.
FORMATS: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "sf": ("sf", lambda r: "SF" + _digits(r, 13)),
    "zto_14": ("zto", lambda r: r.choice(["73", "75", "76", "78"]) + _digits(r, 12)),
    "zto_12": ("zto", lambda r: r.choice(["73", "75", "76", "78"]) + _digits(r, 10)),
    "yto": ("yto", lambda r: "YT" + _digits(r, 13)),
    "sto_15": ("sto", lambda r: "77" + _digits(r, 13)),
    "sto_13": ("sto", lambda r: "77" + _digits(r, 11)),
    "yunda_13": ("yunda", lambda r: r.choice(["31", "43", "46"]) + _digits(r, 11)),
    "yunda_15": ("yunda", lambda r: r.choice("34") + _digits(r, 14)),
    "jd": ("jd", lambda r: "JD" + _digits(r, 13)),
    "jdv": ("jd", lambda r: "JDV" + r.choice("AB") + _digits(r, 11)),
    "jt": ("jt", lambda r: "JT" + _digits(r, 13)),
    "ems_13": ("ems", lambda r: r.choice(["10", "11", "50", "51", "95", "98"]) + _digits(r, 11)),
    "s10_ems": ("ems", lambda r: _s10(r, "E")),
    "s10_post": ("postb", lambda r: _s10(r, "RLCUV")),
}
PHONE_FORMAT = "mobile"

CARRIER_NAMES: dict[str, list[str]] = {
    "sf": ["顺丰", "顺丰速运", "SF"],
    "zto": ["中通", "中通快递"],
    "yto": ["圆通", "圆通速递"],
    "sto": ["申通", "申通快递"],
    "yunda": ["韵达", "韵达快递"],
    "jd": ["京东", "京东快递", "京东物流"],
    "jt": ["极兔", "极兔速递"],
    "ems": ["EMS", "邮政EMS", "国际EMS"],
    "postb": ["邮政", "中国邮政", "国际小包"],
}

# Frames written for this generator (not taken from any evaluation file). {n}/{m}: tracking numbers, {p}: a
# mobile number, {c}: a carrier name (sometimes empty), {t}: a four-digit phone tail (not an entity here).
TRACKING_FRAMES = [
    "单号{n}到哪了",
    "{n}这个件怎么还没动",
    "帮我查下{n}谢谢",
    "{c}{n}催一下",
    "{n}，尾号{t}",
    "运单号：{n}",
    "运单号:{n} 麻烦看看",
    "{n}",
    "查{n}",
    "我的快递{n}三天没更新了",
    "{c}单号{n}显示签收了可我没收到",
    "快递单{n}外包装破了怎么赔",
    "{n}能不能改个地址",
    "请问{n}什么时候派送",
    "麻烦催一下{n}，急用",
    "单号是{n}。",
    "这个{n}是不是丢了？",
    "{n}还在路上吗",
    "你好，{c}快递{n}，帮忙看下物流",
    "{n}怎么一直在中转站",
    "我要投诉，{n}的快递员态度太差",
    "不是订单号，运单号是{n}",
    "{n}的包裹怎么被退回了",
    "查一下单号{n}现在在哪个网点",
    "寄件单号{n}，对方说一直没收到",
    "{c}的{n}派送中好久了",
    "{n}!!!到底什么时候送",
    "帮忙查询{n}的最新状态好吗",
    "{n} 国际件清关要多久",
    "单号【{n}】",
    "亲，{n}今天能送到不",
    "这单{n}帮我拦截一下",
    "运单{n}申请理赔",
    "前天寄的{n}还没揽收",
    "{n}麻烦加急处理",
    "我在官网查{n}没有记录",
    "“{n}”这个单号对吗",
    "{c}{n}",
    "单号{n}尾号{t}的手机是我",
    "你们{c}的件{n}放哪了",
    "{n}被别人签收了",
    "物流单号{n}一直显示已发货",
]
BOTH_FRAMES = [
    "我手机{p}，单号是{n}",
    "收件人电话{p}，快递{n}",
    "{n}，联系电话{p}",
    "单号{n}手机号{p}帮我改个派送时间",
    "我电话是{p}单号{n}",
    "{p}是我的号码，{n}一直没到",
    "麻烦快递员打{p}，{c}{n}",
    "手机：{p} 运单：{n}",
    "{n}收件人{p}地址写错了",
    "查件{n}，有问题打{p}",
]
PHONE_FRAMES = [
    "收件人电话{p}",
    "我的手机号是{p}",
    "打我电话{p}",
    "{p}",
    "手机号{p}查一下我的快递",
    "用{p}能查到我的件吗",
    "联系方式：{p}",
    "号码{p}，麻烦回个电话",
    "我留的电话{p}没人联系我",
    "寄件人手机{p}",
]
TWO_NUMBER_FRAMES = [
    "{n}和{m}两个件都没到",
    "{n}、{m}帮我一起查一下",
    "单号{n}，还有一个{m}",
]
# No gold entity: digits that are not tracking or mobile numbers, and plain questions.
NEGATIVE_FRAMES = [
    "我手机尾号{t}",
    "取件码{t}在哪个柜子",
    "我的快递到哪了",
    "QQ号{q}可以联系我",
    "座机0{a}-{b}打不通",
    "订单金额{t}元能保价吗",
]


def _maybe_lower(rng: random.Random, number: str) -> str:
    if any(ch.isalpha() for ch in number) and rng.random() < 0.3:
        return number.lower()
    return number


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + _digits(rng, 9)


def _render(frame: str, values: dict[str, str], gold: dict[str, tuple[str, str]]) -> dict:
    """Fill a frame, recording [start, end) of every placeholder listed in `gold` (name -> entity, format)."""
    text = ""
    entities = []
    last = 0
    for match in _PLACEHOLDER.finditer(frame):
        text += frame[last : match.start()]
        name = match.group(1)
        value = values[name]
        if name in gold:
            entity, fmt = gold[name]
            entities.append({"entity": entity, "value": value, "start": len(text), "end": len(text) + len(value),
                             "format": fmt})
        text += value
        last = match.end()
    text += frame[last:]
    return {"text": text, "entities": entities}


def _check(item: dict) -> None:
    text = item["text"]
    found = find_in_text(text)
    phones = [m.group(0) for m in _PHONE.finditer(text)]
    for entity in item["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["value"], item
        if entity["entity"] == "tracking_number":
            carrier = FORMATS[entity["format"]][0]
            assert carrier in candidates(entity["value"]), (entity, candidates(entity["value"]))
            assert entity["value"].upper() in found, (text, found)
        else:
            assert entity["value"] in phones, (text, phones)
    # Only reachability is asserted: a regex that also fires elsewhere in the sentence (e.g. the mobile pattern
    # inside "JDVB13912345678") is a false positive the evaluation should count, not hide.


def generate(n: int = 600, seed: int = 7) -> list[dict]:
    """`n` sentences (deterministic for a seed); each {text, entities: [{entity, value, start, end, format}]}."""
    rng = random.Random(seed)
    names = list(FORMATS)
    items: list[dict] = []
    kinds = ["tracking"] * 60 + ["both"] * 18 + ["phone"] * 12 + ["two"] * 5 + ["negative"] * 5
    for index in range(n):
        kind = kinds[index % len(kinds)] if index < len(kinds) else rng.choice(kinds)
        fmt = names[index % len(names)]
        other = names[(index * 7 + 3) % len(names)]
        number = _maybe_lower(rng, FORMATS[fmt][1](rng))
        second = _maybe_lower(rng, FORMATS[other][1](rng))
        carrier_names = CARRIER_NAMES[FORMATS[fmt][0]]
        values = {
            "n": number,
            "m": second,
            "p": _phone(rng),
            "c": rng.choice(carrier_names) if rng.random() < 0.7 else "",
            "t": _digits(rng, 4),
            "q": str(rng.randint(10_000_000, 999_999_999)),
            "a": str(rng.randint(10, 999)),
            "b": _digits(rng, 8),
        }
        if values["c"][-1:].isascii() and values["c"][-1:].isalpha():
            # "SF" glued to "SF1402…" or "EMS" to "EA12…" is not a number a person would type (nor can a
            # bounded regex split it), so Latin carrier names keep a space before the number.
            values["c"] += " "
        tracking = ("tracking_number", fmt)
        phone = ("phone_number", PHONE_FORMAT)
        if kind == "tracking":
            item = _render(rng.choice(TRACKING_FRAMES), values, {"n": tracking})
        elif kind == "both":
            item = _render(rng.choice(BOTH_FRAMES), values, {"n": tracking, "p": phone})
        elif kind == "phone":
            item = _render(rng.choice(PHONE_FRAMES), values, {"p": phone})
        elif kind == "two":
            item = _render(rng.choice(TWO_NUMBER_FRAMES), values, {"n": tracking, "m": ("tracking_number", other)})
        else:
            item = _render(rng.choice(NEGATIVE_FRAMES), values, {})
        _check(item)
        items.append(item)
    return items


if __name__ == "__main__":
    for generated in generate():
        print(json.dumps(generated, ensure_ascii=False))
