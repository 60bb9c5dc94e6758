"""NLU evaluation: JDDC intent accuracy, cross-validation, entity F1 on generated numbers, load and train times."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # custom components (addons.*) and scripts.gen_entity_set

for _key, _value in {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}.items():
    os.environ.setdefault(_key, _value)
warnings.filterwarnings("ignore")

FALLBACK = "nlu_fallback"
ENTITY_TYPES = ("tracking_number", "phone_number")
DEFAULT_JDDC = ROOT.parent / "shared" / "eval" / "jddc_logistics.tsv"
MISS_LIMIT = 20


# --- helpers ---


def latest_model(directory: Path) -> Path | None:
    models = sorted(directory.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None


def read_jddc(path: Path) -> list[tuple[list[str], str]]:
    """(accepted intents, utterance) pairs; blank and # lines skipped."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        accepted, _, utterance = line.partition("\t")
        intents = [intent.strip() for intent in accepted.split("|") if intent.strip()]
        if intents and utterance.strip():
            rows.append((intents, utterance.strip()))
    return rows


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def f1_scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table (also readable as plain text)."""
    cells = [[str(cell) for cell in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]
    return lines


def top_non_fallback(result: dict) -> tuple[str | None, float]:
    for entry in result.get("intent_ranking") or []:
        if entry.get("name") != FALLBACK:
            return entry.get("name"), float(entry.get("confidence") or 0.0)
    intent = result.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


# --- a. JDDC intent accuracy ---


async def eval_jddc(agent: Any, rows: list[tuple[list[str], str]]) -> dict[str, Any]:
    per_intent: dict[str, Counter] = defaultdict(Counter)
    confusions: Counter = Counter()
    misses = []
    correct = correct_raw = fallbacks = 0
    for accepted, utterance in rows:
        result = await agent.parse_message(utterance)
        intent = result.get("intent") or {}
        predicted, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        raw, raw_confidence = top_non_fallback(result)
        ok = predicted in accepted and predicted != FALLBACK
        ok_raw = raw in accepted
        fallbacks += predicted == FALLBACK
        correct += ok
        correct_raw += ok_raw
        group = per_intent[accepted[0]]
        group["n"] += 1
        group["correct"] += ok
        group["correct_ignoring_fallback"] += ok_raw
        if not ok:
            confusions[(accepted[0], predicted)] += 1
            misses.append({
                "utterance": utterance, "accepted": accepted, "predicted": predicted,
                "confidence": round(confidence, 4), "top_before_fallback": raw,
                "top_before_fallback_confidence": round(raw_confidence, 4), "right_ignoring_fallback": ok_raw,
            })
    misses.sort(key=lambda miss: (miss["accepted"][0], str(miss["predicted"])))
    return {
        "n": len(rows),
        "correct": correct,
        "accuracy": ratio(correct, len(rows)),
        "accuracy_ignoring_fallback": ratio(correct_raw, len(rows)),
        "fallbacks": fallbacks,
        "per_intent": {
            name: {"n": c["n"], "correct": c["correct"], "accuracy": ratio(c["correct"], c["n"]),
                   "accuracy_ignoring_fallback": ratio(c["correct_ignoring_fallback"], c["n"])}
            for name, c in sorted(per_intent.items(), key=lambda item: (-item[1]["n"], item[0]))
        },
        "confusions": [{"expected": expected, "predicted": predicted, "count": count}
                       for (expected, predicted), count in confusions.most_common()],
        "misses": misses,
    }


def jddc_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"Overall: **{pct(report['accuracy'])}** ({report['correct']}/{report['n']}); "
        f"ignoring the fallback: {pct(report['accuracy_ignoring_fallback'])}; "
        f"{report['fallbacks']} answered {FALLBACK}.",
        "",
        "Per intent (grouped by the first accepted intent):",
        "",
    ]
    lines += table(
        ["intent", "n", "correct", "accuracy", "ignoring fallback"],
        [[name, v["n"], v["correct"], pct(v["accuracy"]), pct(v["accuracy_ignoring_fallback"])]
         for name, v in report["per_intent"].items()],
    )
    lines += ["", "Confusion pairs (expected → predicted):", ""]
    lines += table(["expected", "predicted", "count"],
                   [[c["expected"], c["predicted"], c["count"]] for c in report["confusions"]])
    lines += ["", f"Misses ({len(report['misses'])}):", ""]
    lines += table(
        ["utterance", "accepted", "predicted", "conf", "top before fallback"],
        [[m["utterance"], "|".join(m["accepted"]), m["predicted"], f"{m['confidence']:.2f}",
          f"{m['top_before_fallback']} ({m['top_before_fallback_confidence']:.2f})"
          if m["predicted"] == FALLBACK else ""]
         for m in report["misses"]],
    )
    return lines


# --- c. entity F1 on the generated set ---


def _key(entity: dict) -> tuple[str, str]:
    return entity["entity"], str(entity.get("value", "")).casefold()


async def eval_generated_entities(agent: Any, items: list[dict]) -> dict[str, Any]:
    counts = {name: Counter() for name in ENTITY_TYPES}
    by_format: dict[str, Counter] = defaultdict(Counter)
    misses = []
    for item in items:
        result = await agent.parse_message(item["text"])
        predicted = [e for e in result.get("entities") or [] if e.get("entity") in ENTITY_TYPES]
        remaining = Counter(_key(e) for e in predicted)
        missing = []
        for gold in item["entities"]:
            key = _key(gold)
            by_format[gold.get("format", gold["entity"])]["n"] += 1
            if remaining[key] > 0:
                remaining[key] -= 1
                counts[gold["entity"]]["tp"] += 1
                by_format[gold.get("format", gold["entity"])]["found"] += 1
            else:
                counts[gold["entity"]]["fn"] += 1
                missing.append(f"{gold['entity']}={gold['value']}")
        spurious = []
        for entity in predicted:
            key = _key(entity)
            if remaining[key] > 0:
                remaining[key] -= 1
                counts[entity["entity"]]["fp"] += 1
                spurious.append(f"{entity['entity']}={entity.get('value')} [{entity.get('extractor')}]")
        if missing or spurious:
            misses.append({
                "text": item["text"],
                "gold": [f"{g['entity']}={g['value']}" for g in item["entities"]],
                "predicted": [f"{e['entity']}={e.get('value')} [{e.get('extractor')}]" for e in predicted],
                "missing": missing, "spurious": spurious,
            })
    return {
        "n_sentences": len(items),
        "per_entity": {name: f1_scores(c["tp"], c["fp"], c["fn"]) for name, c in counts.items()},
        "recall_by_format": {fmt: {"n": c["n"], "found": c["found"], "recall": ratio(c["found"], c["n"])}
                             for fmt, c in sorted(by_format.items())},
        "n_misses": len(misses),
        "misses": misses[:MISS_LIMIT],
    }


def entity_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"{report['n_sentences']} generated sentences (scripts/gen_entity_set.py, seed 7); "
             "a hit is the same entity and value (letters case-insensitive).", ""]
    lines += table(
        ["entity", "tp", "fp", "fn", "precision", "recall", "F1"],
        [[name, s["tp"], s["fp"], s["fn"], num(s["precision"]), num(s["recall"]), num(s["f1"])]
         for name, s in report["per_entity"].items()],
    )
    lines += ["", "Recall by number format:", ""]
    lines += table(["format", "n", "found", "recall"],
                   [[fmt, c["n"], c["found"], pct(c["recall"])] for fmt, c in report["recall_by_format"].items()])
    lines += ["", f"Sentences with a miss or a spurious entity: {report['n_misses']} (first {MISS_LIMIT} below)", ""]
    if report["misses"]:
        lines += table(["text", "missing", "spurious", "predicted"],
                       [[m["text"], ", ".join(m["missing"]), ", ".join(m["spurious"]), ", ".join(m["predicted"])]
                        for m in report["misses"]])
    return lines


# --- b. cross-validation and d. training time (subprocesses) ---


def rasa_command() -> list[str]:
    executable = Path(sys.executable).parent / "rasa"
    return [str(executable)] if executable.exists() else [sys.executable, "-m", "rasa"]


def run_logged(command: list[str], log_path: Path, timeout: float) -> tuple[int | None, float]:
    """Run in its own process group with output to a log; (return code or None on timeout, seconds)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            code = None
    return code, time.monotonic() - started


def log_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in text[-lines:])


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    weighted, macro = report.get("weighted avg", {}), report.get("macro avg", {})
    labels = {name: {"precision": v.get("precision"), "recall": v.get("recall"), "f1": v.get("f1-score"),
                     "support": v.get("support")}
              for name, v in report.items() if isinstance(v, dict) and not name.endswith(" avg")}
    return {"weighted_f1": weighted.get("f1-score"), "macro_f1": macro.get("f1-score"),
            "micro_f1": report.get("micro avg", {}).get("f1-score"), "accuracy": report.get("accuracy"),
            "labels": labels}


def run_cross_validation(folds: int, out: Path, timeout: float) -> dict[str, Any]:
    print(f"\nCross-validation: {folds} folds, this takes a while (log: {out / 'cv.log'}) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="cv-") as tmp:
        command = rasa_command() + ["test", "nlu", "--cross-validation", "--folds", str(folds), "--config",
                                    "config.yml", "--nlu", "data", "--domain", "domain", "--out", tmp]
        code, seconds = run_logged(command, out / "cv.log", timeout)
        result: dict[str, Any] = {"folds": folds, "seconds": round(seconds, 1), "returncode": code}
        if code != 0:
            result["error"] = (f"timed out after {timeout:.0f} s" if code is None else f"exit code {code}")
            result["log_tail"] = log_tail(out / "cv.log")
            return result
        target = out / "cv"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(tmp, target, ignore=shutil.ignore_patterns("*.png"))
    (target / "meta.json").write_text(json.dumps(result) + "\n", encoding="utf-8")
    return summarise_cv(target, result)


def summarise_cv(target: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Intent and entity scores from the JSON reports `rasa test nlu --cross-validation` wrote into `target`."""
    result = dict(result, directory=str(target))
    intent_path = target / "intent_report.json"
    if intent_path.exists():
        result["intent"] = _summary(json.loads(intent_path.read_text(encoding="utf-8")))
    errors_path = target / "intent_errors.json"
    if errors_path.exists():
        pairs = Counter((error.get("intent"), (error.get("intent_prediction") or {}).get("name"))
                        for error in json.loads(errors_path.read_text(encoding="utf-8")))
        result["intent_confusions"] = [{"expected": expected, "predicted": predicted, "count": count}
                                       for (expected, predicted), count in pairs.most_common()]
    result["entities"] = {}
    for path in sorted(target.glob("*_report.json")):
        extractor = path.name[: -len("_report.json")]
        if extractor in {"intent", "response_selection"}:
            continue
        result["entities"][extractor] = _summary(json.loads(path.read_text(encoding="utf-8")))
    # Rasa scores each extractor against every gold entity, so neither report alone is the pipeline's score:
    # PreferRegexEntities lets the regex own tracking/phone numbers and the CRF the rest. Take each entity's best.
    best: dict[str, dict[str, Any]] = {}
    for extractor, summary in result["entities"].items():
        for name, scores in summary["labels"].items():
            if (scores.get("f1") or 0.0) >= (best.get(name, {}).get("f1") or 0.0):
                best[name] = dict(scores, extractor=extractor)
    support = sum(scores.get("support") or 0 for scores in best.values())
    result["entities_combined"] = {
        "weighted_f1": sum((s.get("f1") or 0.0) * (s.get("support") or 0) for s in best.values()) / support
        if support else None,
        "macro_f1": sum(s.get("f1") or 0.0 for s in best.values()) / len(best) if best else None,
        "labels": dict(sorted(best.items())),
    }
    return result


def load_previous_cv(out: Path) -> dict[str, Any]:
    target = out / "cv"
    if not (target / "intent_report.json").exists():
        return {"error": f"--reuse-cv: no previous cross-validation in {target}", "seconds": 0}
    meta_path = target / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {"folds": None}
    stamp = datetime.fromtimestamp((target / "intent_report.json").stat().st_mtime, timezone.utc)
    return summarise_cv(target, dict(meta, reused_from=stamp.isoformat(timespec="seconds")))


def cv_lines(report: dict[str, Any]) -> list[str]:
    if report.get("skipped"):
        return ["Skipped (--skip-cv)."]
    if report.get("error"):
        return [f"FAILED: {report['error']} after {report['seconds']} s. Log tail:", "", "```",
                report.get("log_tail", ""), "```"]
    took = f"{report['seconds']:.0f} s" if report.get("seconds") else "time unknown"
    lines = [f"`rasa test nlu --cross-validation --folds {report.get('folds') or '?'}` on data/ ({took}); "
             f"reports in `{report['directory']}`."]
    if report.get("reused_from"):
        lines.append(f"Reused from a run finished at {report['reused_from']} (--reuse-cv), not re-run.")
    lines.append("")
    intent = report.get("intent")
    if intent:
        lines.append(f"Intent F1: weighted **{num(intent['weighted_f1'])}**, macro {num(intent['macro_f1'])}, "
                     f"accuracy {pct(intent['accuracy'])}.")
        lines += ["", "Intents, weakest first:", ""]
        weakest = sorted(intent["labels"].items(), key=lambda item: item[1]["f1"] or 0.0)
        lines += table(["intent", "precision", "recall", "F1", "support"],
                       [[name, num(v["precision"]), num(v["recall"]), num(v["f1"]), v["support"]]
                        for name, v in weakest])
    if report.get("intent_confusions"):
        lines += ["", "Most frequent confusions on held-out folds (expected → predicted, top 15):", ""]
        lines += table(["expected", "predicted", "count"],
                       [[c["expected"], c["predicted"], c["count"]] for c in report["intent_confusions"][:15]])
    combined = report.get("entities_combined")
    if combined and combined["labels"]:
        lines += ["", f"Entity F1 (each entity scored on the extractor that owns it): weighted "
                      f"**{num(combined['weighted_f1'])}**, macro {num(combined['macro_f1'])}", ""]
        lines += table(["entity", "extractor", "precision", "recall", "F1", "support"],
                       [[name, v["extractor"], num(v["precision"]), num(v["recall"]), num(v["f1"]), v["support"]]
                        for name, v in combined["labels"].items()])
    for extractor, summary in report.get("entities", {}).items():
        lines += ["", f"Entities as Rasa scores {extractor} alone: weighted F1 {num(summary['weighted_f1'])}, "
                      f"macro {num(summary['macro_f1'])}, micro {num(summary['micro_f1'])}", ""]
        lines += table(["entity", "precision", "recall", "F1", "support"],
                       [[name, num(v["precision"]), num(v["recall"]), num(v["f1"]), v["support"]]
                        for name, v in sorted(summary["labels"].items())])
    return lines


def time_training(timeout: float, out: Path) -> dict[str, Any]:
    print("\nTiming `rasa train --force` into a temporary directory ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="train-") as tmp:
        command = rasa_command() + ["train", "--force", "--domain", "domain", "--data", "data", "--config",
                                    "config.yml", "--out", tmp]
        code, seconds = run_logged(command, out / "train.log", timeout)
    result: dict[str, Any] = {"seconds": round(seconds, 1), "returncode": code}
    if code != 0:
        result["error"] = f"timed out after {timeout:.0f} s" if code is None else f"exit code {code}"
        result["log_tail"] = log_tail(out / "train.log")
    return result


# --- main ---


async def evaluate_model(model: Path, jddc_path: Path) -> dict[str, Any]:
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # otherwise every parse is logged at debug level
    for name in ("rasa", "tensorflow", "absl", "jieba", "sanic", "root"):
        logging.getLogger(None if name == "root" else name).setLevel(logging.ERROR)
    started = time.monotonic()
    import rasa.nlu.classifiers.diet_classifier  # noqa: F401  (TensorFlow: paid once per process, timed apart)
    from rasa.core.agent import Agent

    import_seconds = time.monotonic() - started
    started = time.monotonic()
    agent = Agent.load(str(model))
    load_seconds = time.monotonic() - started
    started = time.monotonic()
    await agent.parse_message("你好")
    first_parse = time.monotonic() - started
    report: dict[str, Any] = {"import_seconds": round(import_seconds, 2), "load_seconds": round(load_seconds, 2),
                              "first_parse_seconds": round(first_parse, 3), "cpu_load_1min": os.getloadavg()[0]}

    if jddc_path.exists():
        rows = read_jddc(jddc_path)
        started = time.monotonic()
        report["jddc"] = await eval_jddc(agent, rows)
        report["jddc"]["file"] = str(jddc_path)
        report["parse_ms_mean"] = round(1000 * (time.monotonic() - started) / max(len(rows), 1), 1)
    else:
        report["jddc"] = {"skipped": f"{jddc_path} not found (set JDDC_EVAL)"}

    from scripts.gen_entity_set import generate

    report["generated_entities"] = await eval_generated_entities(agent, generate())
    return report


def render(report: dict[str, Any]) -> dict[str, list[str]]:
    """Markdown per section, in report order; sections not measured (yet) are left out."""
    head = [f"# NLU evaluation — {report['generated_at']}", "", f"Model: `{report['model']}`", ""]
    if "load_seconds" in report:
        head += [f"Model load (Agent.load): **{report['load_seconds']} s** (after {report['import_seconds']} s of "
                 f"Rasa/TensorFlow imports; 1-min load average {report['cpu_load_1min']:.1f}); first parse "
                 f"{report['first_parse_seconds']} s; mean parse {report.get('parse_ms_mean', 'n/a')} ms.", ""]
    train = report.get("training")
    if train:
        head += [f"Training (`rasa train --force`): **{train['seconds']} s**"
                 + (f" — FAILED: {train['error']}" if train.get("error") else ""), ""]
    parts = {"head": head}
    jddc = report.get("jddc")
    if jddc:
        body = [f"Skipped: {jddc['skipped']}"] if "skipped" in jddc else [f"File: `{jddc['file']}`", ""] + \
            jddc_lines(jddc)
        parts["jddc"] = ["## JDDC intent accuracy", ""] + body
    if "cross_validation" in report:
        parts["cv"] = ["## Cross-validation on data/", ""] + cv_lines(report["cross_validation"])
    if "generated_entities" in report:
        parts["entities"] = ["## Entities on the generated set", ""] + entity_lines(report["generated_entities"])
    return parts


def write_reports(report: dict[str, Any], out: Path) -> None:
    markdown = "\n\n".join("\n".join(lines).strip("\n") for lines in render(report).values()) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def show(report: dict[str, Any], *names: str) -> None:
    parts = render(report)
    for name in names:
        if name in parts:
            print("\n" + "\n".join(parts[name]).strip("\n"), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="model archive (default: the latest in models/)")
    parser.add_argument("--skip-cv", action="store_true", help="skip the cross-validation (10+ minutes)")
    parser.add_argument("--reuse-cv", action="store_true",
                        help="report the cross-validation last written to OUT/cv instead of running it")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("reports/nlu"))
    parser.add_argument("--time-train", action="store_true", help="also time `rasa train --force` (slow)")
    parser.add_argument("--timeout", type=float, default=3 * 3600, help="seconds allowed for each subprocess")
    args = parser.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    model = args.model.resolve() if args.model else latest_model(ROOT / "models")
    jddc_path = Path(os.environ.get("JDDC_EVAL") or DEFAULT_JDDC).resolve()
    report: dict[str, Any] = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "model": str(model)}
    if model is None or not model.exists():
        print(f"No model found ({model or ROOT / 'models'}); run `make train` first.")
        return 0

    print(f"Model: {model}", flush=True)
    try:
        report.update(asyncio.run(evaluate_model(model, jddc_path)))
    except Exception as error:  # a measurement: report the failure, do not crash the make target
        print(f"Model evaluation FAILED: {type(error).__name__}: {error}")
        return 0
    write_reports(report, out)  # the fast part survives an interrupted cross-validation
    show(report, "head", "jddc", "entities")
    try:
        if args.skip_cv:
            report["cross_validation"] = {"skipped": True}
        elif args.reuse_cv:
            report["cross_validation"] = load_previous_cv(out)
        else:
            report["cross_validation"] = run_cross_validation(args.folds, out, args.timeout)
    except Exception as error:
        report["cross_validation"] = {"error": f"{type(error).__name__}: {error}", "seconds": 0}
    show(report, "cv")
    if args.time_train:
        try:
            report["training"] = time_training(args.timeout, out)
        except Exception as error:
            report["training"] = {"error": f"{type(error).__name__}: {error}", "seconds": 0}
        print("\n" + render(report)["head"][-2], flush=True)
    write_reports(report, out)
    print(f"\nWritten: {out / 'report.md'}, {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
