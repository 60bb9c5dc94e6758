"""Intent accuracy of a trained model on a held-out TSV (text<TAB>accepted intents separated by |), or the parse of
single sentences. The held-out turns are written by hand and never trained on (tests/data/followup_holdout.tsv):

    .venv/bin/python scripts/holdout_nlu.py                          # the latest model, the follow-up hold-out
    .venv/bin/python scripts/holdout_nlu.py --model models/x.tar.gz --file other.tsv
    .venv/bin/python scripts/holdout_nlu.py --text 我家是老小区没电梯 --text 能不能放门卫
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

DEFAULT_FILE = ROOT / "tests" / "data" / "followup_holdout.tsv"


def read_tsv(path: Path) -> list[tuple[str, list[str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, _, accepted = line.partition("\t")
        intents = [i.strip() for i in accepted.split("|") if i.strip()]
        if text.strip() and intents:
            rows.append((text.strip(), intents))
    return rows


async def main(args: argparse.Namespace) -> int:
    import structlog
    from rasa.core.agent import Agent

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    model = args.model or (models[-1] if models else None)
    if model is None:
        print("No model: run scripts/train.sh first.")
        return 1
    agent = Agent.load(str(model))
    print(f"Model: {model}")
    if args.text:
        for text in args.text:
            parsed = await agent.parse_message(text)
            ranking = ", ".join(f"{r['name']} {r['confidence']:.2f}" for r in parsed["intent_ranking"][:3])
            entities = " ".join(f"[{e['value']}]({e['entity']})" for e in parsed.get("entities", []))
            print(f"{text}  ->  {ranking}  {entities}")
        return 0
    rows = read_tsv(args.file)
    correct, misses, per = 0, [], Counter()
    totals = Counter(intents[0] for _, intents in rows)
    for text, intents in rows:
        parsed = await agent.parse_message(text)
        got, confidence = parsed["intent"]["name"], parsed["intent"]["confidence"]
        if got in intents:
            correct += 1
            per[intents[0]] += 1
        else:
            misses.append((text, "|".join(intents), got, confidence))
    print(f"{args.file.name}: {correct}/{len(rows)} = {100 * correct / max(len(rows), 1):.1f}%")
    for intent, n in totals.most_common():
        print(f"  {intent:<26} {per[intent]}/{n}")
    for text, expected, got, confidence in misses:
        print(f"  MISS {expected:>20} -> {got:<22} {confidence:.2f}  {text}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--text", action="append", help="parse this sentence (repeatable)")
    sys.exit(asyncio.run(main(parser.parse_args())))
