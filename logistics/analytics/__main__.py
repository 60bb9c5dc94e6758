"""Operations analytics from the command line.

  python -m logistics.analytics report --since 7d [--by area|outlet|route|hub|category|carrier|city|channel|goods_type]
                                       [--category C] [--carrier sf] [--format table|csv|json] [--limit N]
  python -m logistics.analytics run        # import new conversations, then the detectors: alerts opened, resolved
  python -m logistics.analytics alerts [--status open]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata

from logistics import db
from logistics import settings as settings_module
from logistics.analytics import conversations, service
from logistics.timeutil import utcnow


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def table(rows: list[list[str]], out) -> None:
    widths = [max(_width(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        out.write("  ".join(_pad(str(cell), widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
        if n == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def _since(value: str):
    from flask import Flask

    from logistics.analytics.views import parse_since
    from logistics.errors import ApiError

    with Flask(__name__).app_context():
        try:
            return parse_since(value)
        except ApiError as exc:
            raise SystemExit(exc.message) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m logistics.analytics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    report = sub.add_parser("report", help="counts and rates by category x scope")
    report.add_argument("--since", default="7d", help="24h, 7d, 2w or an ISO 8601 time (default 7d)")
    report.add_argument("--by", default="area", choices=service.BREAKDOWNS)
    report.add_argument("--category")
    report.add_argument("--carrier")
    report.add_argument("--format", default="table", choices=("table", "csv", "json"))
    report.add_argument("--limit", type=int, default=50)
    sub.add_parser("run", help="run the detectors now")
    alerts = sub.add_parser("alerts", help="list alerts")
    alerts.add_argument("--status", choices=("open", "resolved"))
    alerts.add_argument("--format", default="table", choices=("table", "json"))
    args = parser.parse_args(argv)
    settings = settings_module.load()
    factory = db.session_factory(db.make_engine(settings.database_url))
    out = sys.stdout
    with db.transaction(factory) as session:
        if args.command == "run":
            imported = conversations.import_conversations(session, settings.tracker_store_url)
            out.write(f"conversations: {imported.events} tracker events, {imported.written} written"
                      f"{' (' + imported.skipped + ')' if imported.skipped else ''}\n")
            result = service.run(session).as_dict()
            for what in ("opened", "updated", "resolved"):
                for alert in result[what]:
                    out.write(f"{what:9} #{alert['id']} {alert['summary']}\n  建议：{alert['suggested_action']}\n")
            out.write(f"{len(result['opened'])} opened, {len(result['updated'])} still open, "
                      f"{len(result['resolved'])} resolved\n")
            return 0
        if args.command == "alerts":
            found = [service.alert_dict(a) for a in service.list_alerts(session, status=args.status)]
            if args.format == "json":
                json.dump(found, out, ensure_ascii=False, indent=2)
                out.write("\n")
                return 0
            rows = [["id", "status", "kind", "category", "scope", "count", "baseline", "ticket"]]
            rows += [[a["id"], a["status"], a["kind"], a["category_label"], a["scope"]["name"], a["count"],
                      a["baseline"], a["ticket_id"] or ""] for a in found]
            table(rows, out)
            return 0
        data = service.report(session, since=_since(args.since), until=utcnow(), by=args.by,
                              carrier=args.carrier, category=args.category, limit=args.limit)
    if args.format == "json":
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    header = ["category", "label", args.by, "count", "scope_total", "rate"]
    rows = [[r["category"], r["category_label"], r["name"], r["count"], r["scope_total"], f"{r['rate']:.4f}"]
            for r in data["rows"]]
    if args.format == "csv":
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return 0
    out.write(f"{data['since']} .. {data['until']}  by {args.by}  ({data['total']} events)\n")
    table([header] + rows, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
