"""Evaluation sentences never appear in data/, and the generated entity set covers every number format."""
from __future__ import annotations

import difflib
import os
import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from logistics.shipments.tracking_numbers import PHONE_NUMBER_REGEX, candidates, is_valid_s10
from scripts.gen_entity_set import generate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EVAL_FILE = Path(os.environ.get("JDDC_EVAL") or ROOT.parent / "shared" / "eval" / "jddc_logistics.tsv")

# [text](entity), [text](entity:value), [text]{"entity": ...} and [text][{...}, {...}].
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[\{.*?\}\])")


def strip_annotations(example: str) -> str:
    return _ANNOTATION.sub(lambda match: match.group("text"), example)


def near_key(text: str) -> str:
    """Case-folded, width-normalised text without punctuation, symbols or spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "PZS")


def _examples(block) -> list[str]:
    if isinstance(block, str):
        return [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]
    if isinstance(block, list):
        return [entry["text"] if isinstance(entry, dict) else str(entry) for entry in block]
    return []


def training_examples() -> dict[str, str]:
    """Every NLU intent example and story/rule user text under data/ (markup stripped) -> its file."""
    found: dict[str, str] = {}
    for path in sorted(DATA.rglob("*.yml")) + sorted(DATA.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        texts: list[str] = []
        for item in document.get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                texts += _examples(item.get("examples"))
        for key in ("stories", "rules"):
            for story in document.get(key) or []:
                for step in (story or {}).get("steps") or []:
                    if isinstance(step, dict) and step.get("user"):
                        texts.append(str(step["user"]))
        for text in texts:
            found.setdefault(strip_annotations(text).strip(), str(path.relative_to(ROOT)))
    return found


def eval_sentences() -> list[str]:
    sentences = []
    for line in EVAL_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        _, _, utterance = line.partition("\t")
        if utterance.strip():
            sentences.append(utterance.strip())
    return sentences


def test_annotation_markup_is_stripped():
    assert strip_annotations("单号[SF1290537455885](tracking_number)到哪了") == "单号SF1290537455885到哪了"
    assert strip_annotations("[顺丰](carrier:sf)的件") == "顺丰的件"
    assert strip_annotations('[中通]{"entity": "carrier", "value": "zto"}的件') == "中通的件"
    assert near_key("你好，ＳＦ 单号？") == near_key("你好sf单号")


@pytest.mark.skipif(not EVAL_FILE.exists(), reason=f"evaluation file {EVAL_FILE} not found (set JDDC_EVAL)")
def test_no_evaluation_sentence_is_training_data():
    examples = training_examples()
    assert examples, "no training examples found under data/"
    near = {}
    for example, path in examples.items():
        if near_key(example):
            near.setdefault(near_key(example), (example, path))
    exact = [f"{sentence!r} in {examples[sentence]}" for sentence in eval_sentences() if sentence in examples]
    close = [
        f"{sentence!r} ~ {near[near_key(sentence)][0]!r} in {near[near_key(sentence)][1]}"
        for sentence in eval_sentences()
        if sentence not in examples and near_key(sentence) in near
    ]
    assert not exact, "evaluation sentences copied into training data:\n" + "\n".join(exact)
    assert not close, "near copies of evaluation sentences in training data:\n" + "\n".join(close)


# Two sentences this alike differ by a particle or a character or two ("到哪了" / "到哪里了"): a near copy. So is
# a short one with one character changed, added or dropped ("今天能到吗" / "今天能到么").
NEAR_COPY_RATIO = 0.85


def one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def test_one_edit_apart():
    assert one_edit_apart("今天能到吗", "今天能到么") and one_edit_apart("到哪了", "到哪里了")
    assert not one_edit_apart("到哪了", "到哪里去了") and not one_edit_apart("催件", "查件吗")


@pytest.mark.skipif(not EVAL_FILE.exists(), reason=f"evaluation file {EVAL_FILE} not found (set JDDC_EVAL)")
def test_no_training_example_is_a_light_edit_of_an_evaluation_sentence():
    keys = {near_key(example): (example, path) for example, path in training_examples().items() if near_key(example)}
    close = []
    for sentence in eval_sentences():
        target = near_key(sentence)
        matcher = difflib.SequenceMatcher(None, b=target, autojunk=False)
        for key, (example, path) in keys.items():
            matcher.set_seq1(key)
            alike = matcher.real_quick_ratio() >= NEAR_COPY_RATIO and matcher.quick_ratio() >= NEAR_COPY_RATIO \
                and matcher.ratio() >= NEAR_COPY_RATIO
            if alike or (len(target) >= 4 and one_edit_apart(key, target)):
                close.append(f"{sentence!r} ~ {example!r} in {path} ({matcher.ratio():.2f})")
    assert not close, "light edits of evaluation sentences in training data:\n" + "\n".join(close)


# --- the generated entity set ---

_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def _s10_ok(number: str) -> bool:
    check = 11 - sum(int(d) * w for d, w in zip(number[2:10], _S10_WEIGHTS)) % 11
    return int(number[10]) == {10: 0, 11: 5}.get(check, check)


# Written independently of the generator: each carrier format the brief lists, on the upper-cased value.
REQUIRED_FORMATS = {
    "SF + 13 digits": r"SF\d{13}",
    "ZTO 14 digits 73/75/76/78": r"7[3568]\d{12}",
    "ZTO 12 digits 73/75/76/78": r"7[3568]\d{10}",
    "YTO YT + 13 digits": r"YT\d{13}",
    "STO 15 digits 77": r"77\d{13}",
    "STO 13 digits 77": r"77\d{11}",
    "Yunda 13 digits 31/43/46": r"(?:31|43|46)\d{11}",
    "JD + 13 digits": r"JD\d{13}",
    "JDVA + 11 digits": r"JDVA\d{11}",
    "JDVB + 11 digits": r"JDVB\d{11}",
    "J&T JT + 13 digits": r"JT\d{13}",
    "EMS 13 digits 10/11/50/51/95/98": r"(?:10|11|50|51|95|98)\d{11}",
    "UPU S10 EMS (E?)": r"E[A-Z]\d{9}[A-Z]{2}",
    "UPU S10 other (R?, L?...)": r"[A-DF-Z][A-Z]\d{9}[A-Z]{2}",
}


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return generate()


def test_generated_set_is_large_and_deterministic(generated):
    assert len(generated) >= 500
    assert generated == generate()
    assert len({item["text"] for item in generated}) >= 450, "too many duplicate sentences"


def test_generated_spans_equal_values(generated):
    for item in generated:
        for entity in item["entities"]:
            assert entity["entity"] in {"tracking_number", "phone_number"}
            assert item["text"][entity["start"] : entity["end"]] == entity["value"], item


def test_generated_set_covers_every_format(generated):
    tracking = [e["value"].upper() for item in generated for e in item["entities"] if e["entity"] == "tracking_number"]
    phones = [e["value"] for item in generated for e in item["entities"] if e["entity"] == "phone_number"]
    missing = [name for name, regex in REQUIRED_FORMATS.items() if not any(re.fullmatch(regex, v) for v in tracking)]
    assert not missing, f"formats not generated: {missing}"
    assert all(candidates(value) for value in tracking)
    assert all(_s10_ok(v) and is_valid_s10(v) for v in tracking if re.fullmatch(r"[A-Z]{2}\d{9}[A-Z]{2}", v))
    assert len(phones) >= 50 and all(re.fullmatch(PHONE_NUMBER_REGEX, value) for value in phones)


def test_generated_set_varies_position_case_and_punctuation(generated):
    texts = [item["text"] for item in generated]
    tracking = [(item["text"], e) for item in generated for e in item["entities"] if e["entity"] == "tracking_number"]
    assert any(e["start"] == 0 and e["end"] < len(t) for t, e in tracking), "no number at the start"
    assert any(e["start"] > 0 and e["end"] == len(t) for t, e in tracking), "no number at the end"
    assert any(e["start"] > 0 and e["end"] < len(t) for t, e in tracking), "no number in the middle"
    glued = [
        (t, e) for t, e in tracking
        if e["start"] > 0 and e["end"] < len(t) and "\u4e00" <= t[e["start"] - 1] <= "\u9fff"
        and "\u4e00" <= t[e["end"]] <= "\u9fff"
    ]
    assert glued, "no number glued to Chinese characters on both sides"
    assert any(any(ch.islower() for ch in e["value"]) for _, e in tracking), "no lower-case prefix"
    assert any("：" in text for text in texts), "no full-width colon"
    assert any(not any(unicodedata.category(ch)[0] == "P" for ch in text) for text in texts)
    assert any(not item["entities"] for item in generated), "no sentence without a gold entity"
