"""Report time on 1 million recorded events in PostgreSQL, with the query plans (#17 acceptance figure).

Creates a schema of its own on BENCH_DATABASE_URL (else TEST_DATABASE_URL, else DATABASE_URL when it is
PostgreSQL), migrates it, loads N events (default 1,000,000 over 180 days on a network of 38 cities, 190 outlets,
760 小区; COPY), ANALYZEs, then times the CLI report (`--since 7d` by area, by route, by outlet), the 30-day trend
and a detector run, and saves EXPLAIN (ANALYZE, BUFFERS) of each report query and the timings under
reports/analytics/. The schema is dropped afterwards (--keep keeps it).

  make bench-analytics            (ARGS="--events 200000" for a quicker run)
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from logistics import db, migrate  # noqa: E402
from logistics.analytics import service, synthetic  # noqa: E402
from logistics.analytics.models import AnalyticsEvent  # noqa: E402
from logistics.timeutil import utcnow  # noqa: E402

OUT = ROOT / "reports" / "analytics"
COLUMNS = [c.name for c in AnalyticsEvent.__table__.columns if c.name != "id"]


def database_url() -> str:
    for name in ("BENCH_DATABASE_URL", "TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    raise SystemExit("set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL database, e.g. "
                     "postgresql://postgres@127.0.0.1:5432/test")


def big_world(rng: random.Random) -> synthetic.World:
    """38 cities x 5 outlets x 4 小区, like the seeded network."""
    names = ("北京 上海 广州 深圳 杭州 成都 武汉 西安 南京 重庆 天津 苏州 郑州 长沙 东莞 沈阳 青岛 合肥 佛山 "
             "宁波 昆明 福州 厦门 济南 哈尔滨 长春 南昌 贵阳 南宁 义乌 石家庄 太原 乌鲁木齐 兰州 海口 无锡 温州 "
             "大连").split()
    communities = ("翠苑小区 阳光花园 锦绣家园 幸福里 金色家园 碧桂园 万科城 桂花园 世纪花园 香樟苑 紫金苑 "
                   "和平新村 滨江花园 春江郦城 御园 名都 格林小镇 雍景湾 新城花园 丽水嘉园").split()
    areas, hubs = [], {}
    for i, name in enumerate(names):
        city = name + "市"
        hubs[city] = synthetic.Hub(city, f"HUB-B{i:02d}-01", f"{name}转运中心")
        for o in range(5):
            district = f"第{o + 1}区"
            for a in range(4):
                areas.append(synthetic.Area(city, district, communities[(o * 4 + a) % len(communities)], "",
                                            f"OUT-B{i:02d}-{o:02d}", f"{name}{district}营业部"))
    return synthetic.World(areas, hubs)


def load(engine, events: int, days: int) -> float:
    rng = random.Random(17)
    world = big_world(rng)
    now = utcnow()
    generator = synthetic.Generator(world, rng, now, prefix="bench", source="synthetic")
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer, written = io.StringIO(), 0
        writer = csv.writer(buffer)
        for row in generator.quiet(days, events / days):
            writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
            written += 1
            if written % 100_000 == 0:
                buffer.seek(0)
                cursor.copy_expert(f"COPY analytics_events ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, "
                                   "NULL '')", buffer)
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                print(f"  {written:,} events loaded", flush=True)
        buffer.seek(0)
        cursor.copy_expert(f"COPY analytics_events ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '')",
                           buffer)
        raw.commit()
        cursor.execute("ANALYZE analytics_events")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


class Capture:
    """Records the SQL the service runs, to EXPLAIN it afterwards."""

    def __init__(self):
        self.statements = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "analytics_events" in statement:
            self.statements.append((statement, parameters))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = database_url()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = db.make_engine(url, schema=schema)
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"events": args.events, "days": args.days}
    try:
        migrate.upgrade(engine)
        print(f"loading {args.events:,} events over {args.days} days into schema {schema}", flush=True)
        results["load_seconds"] = round(load(engine, args.events, args.days), 1)
        with engine.connect() as c:
            results["rows"] = c.execute(text("SELECT count(*) FROM analytics_events")).scalar_one()
            results["table_size"] = c.execute(text(
                "SELECT pg_size_pretty(pg_total_relation_size('analytics_events'))")).scalar_one()
        factory = db.session_factory(engine)
        from sqlalchemy import event

        timings = {}
        plans = {}
        jobs = {
            "report_7d_by_area": lambda s: service.report(s, since=utcnow() - timedelta(days=7), by="area"),
            "report_7d_by_route": lambda s: service.report(s, since=utcnow() - timedelta(days=7), by="route"),
            "report_7d_by_outlet_category": lambda s: service.report(
                s, since=utcnow() - timedelta(days=7), by="outlet", category="urge"),
            "trend_30d": lambda s: service.trend(s, since=utcnow() - timedelta(days=30)),
            "detectors": lambda s: service.detect_signals(s),
        }
        for name, job in jobs.items():
            capture = Capture()
            event.listen(engine, "before_cursor_execute", capture)
            best = None
            for _ in range(3):
                with db.transaction(factory) as s:
                    started = time.perf_counter()
                    job(s)
                    elapsed = time.perf_counter() - started
                best = elapsed if best is None else min(best, elapsed)
            event.remove(engine, "before_cursor_execute", capture)
            timings[name] = round(best * 1000, 1)
            print(f"{name:32} {timings[name]:8.1f} ms (best of 3)", flush=True)
            if name.startswith("report") or name == "trend_30d":
                seen, text_plans = set(), []
                for statement, parameters in capture.statements:
                    if statement in seen:
                        continue
                    seen.add(statement)
                    raw = engine.raw_connection()
                    try:
                        cursor = raw.cursor()
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                        text_plans.append(statement + "\n\n" + "\n".join(r[0] for r in cursor.fetchall()))
                    finally:
                        raw.close()
                plans[name] = "\n\n" + ("\n\n" + "=" * 100 + "\n\n").join(text_plans)
                (OUT / f"explain_{name}.txt").write_text(
                    f"-- {results['rows']:,} events, {name}\n{plans[name]}\n", encoding="utf-8")
        results["milliseconds"] = timings
        results["plans_use_indexes"] = {name: ("Index" in plan and "Seq Scan on analytics_events" not in plan)
                                        for name, plan in plans.items()}
        (OUT / "bench.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(results, ensure_ascii=False, indent=2))
        print(f"plans: {OUT}/explain_*.txt")
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


_ = postgresql  # the dialect must be importable: the benchmark is PostgreSQL only

if __name__ == "__main__":
    sys.exit(main())
