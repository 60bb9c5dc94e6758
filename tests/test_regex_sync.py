"""The tracking_number and phone_number regexes in data/nlu/regex.yml equal the ones the backend uses."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from logistics.shipments.tracking_numbers import PHONE_NUMBER_REGEX, TRACKING_NUMBER_REGEX

REGEX_FILE = Path(__file__).resolve().parents[1] / "data" / "nlu" / "regex.yml"


def _patterns(name: str) -> list[str]:
    document = yaml.safe_load(REGEX_FILE.read_text(encoding="utf-8"))
    patterns: list[str] = []
    for item in document.get("nlu") or []:
        if item.get("regex") != name:
            continue
        examples = item.get("examples") or ""
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                patterns.append(line[2:].strip())
    return patterns


@pytest.mark.parametrize(
    ("name", "expected"),
    [("tracking_number", TRACKING_NUMBER_REGEX), ("phone_number", PHONE_NUMBER_REGEX)],
    ids=["tracking_number", "phone_number"],
)
def test_regex_yml_matches_backend(name: str, expected: str):
    patterns = _patterns(name)
    assert patterns, f"no `regex: {name}` entry in {REGEX_FILE}"
    assert patterns == [expected], (
        f"{REGEX_FILE} `{name}` is out of sync with logistics/shipments/tracking_numbers.py; "
        f"paste this as its only example:\n- {expected}"
    )
