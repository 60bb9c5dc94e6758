"""Detection precision and recall on generated histories with known injected anomalies (#17 acceptance figure).

Each history: 60 days of quiet traffic (600 events a day on a synthetic network of 8 cities, 24 outlets, 96 小区,
56 routes) with one spike (a complaint category jumping in one 小区 or at one outlet in the last 24 hours) and one
concentration (fresh delays or lost parcels on one route, or urge tickets at one outlet, for three weeks), random
in place and strength. A detection is right when its kind, category, scope type and scope match an injected one.
Also runs the detectors over quiet histories (no anomaly) at two times of every day of the last 60 days: every
alert there is a false alarm.

  .venv/bin/python scripts/eval_analytics.py [--histories 25] [--quiet 2] [--database sqlite:///var/eval.db]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete  # noqa: E402

from logistics import db, migrate  # noqa: E402
from logistics.analytics import service, synthetic  # noqa: E402
from logistics.analytics.models import AnalyticsEvent  # noqa: E402

NOW = datetime(2026, 12, 1, 4, 0)


def load(factory, rows) -> None:
    with db.transaction(factory) as s:
        s.execute(delete(AnalyticsEvent))
        synthetic.insert(s, rows)


def found(factory, now) -> set:
    with db.transaction(factory) as s:
        return {(x.kind, x.category, x.scope_type, x.scope_key) for x in service.detect_signals(s, now)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--histories", type=int, default=25)
    parser.add_argument("--quiet", type=int, default=2, help="quiet histories scanned day by day")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/eval.db"
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    factory = db.session_factory(engine)
    tp = fp = fn = 0
    started = time.perf_counter()
    print(f"{'history':>7}  {'injected':<60} result")
    for seed in range(args.histories):
        rng = random.Random(1000 + seed)
        world = synthetic.World.synthetic(random.Random(seed))
        injected = synthetic.random_anomalies(world, rng)
        history = synthetic.history(1000 + seed, now=NOW, days=60, anomalies=injected, world=world,
                                    prefix=f"eval{seed}")
        load(factory, history.rows)
        detected = found(factory, NOW)
        truth = {a.truth for a in injected}
        tp += len(detected & truth)
        fp += len(detected - truth)
        fn += len(truth - detected)
        names = ", ".join(f"{a.kind}:{a.category}@{a.scope_type}" for a in injected)
        verdict = "ok" if detected == truth else f"missed {sorted(truth - detected)} false {sorted(detected - truth)}"
        print(f"{seed:>7}  {names:<60} {verdict}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    quiet_runs = quiet_alarms = 0
    for q in range(args.quiet):
        history = synthetic.history(5000 + q, now=NOW, days=75, prefix=f"quiet{q}")
        load(factory, history.rows)
        for day in range(60):
            for hour in (0, 12):
                now = NOW - timedelta(days=day, hours=hour)
                quiet_runs += 1
                quiet_alarms += len(found(factory, now))
    print(f"\n{args.histories} histories with {tp + fn} injected anomalies: {tp} found, {fp} false alarms, "
          f"{fn} missed")
    print(f"precision {precision:.3f}  recall {recall:.3f}")
    print(f"quiet histories: {quiet_alarms} alerts in {quiet_runs} detector runs over {args.quiet} x 60 days")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
