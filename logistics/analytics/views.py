"""HTTP routes of analytics: the v1 API (bearer token) and the operations dashboard (/agent/ops, the agent console's
login; supervisors and the ops role only)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Blueprint, current_app, g, jsonify, render_template, request

from logistics.analytics import conversations, service
from logistics.errors import ApiError, bad_request
from logistics.handoffs import console
from logistics.http import session
from logistics.timeutil import parse_iso, utcnow

api = Blueprint("analytics", __name__)
dashboard = Blueprint("ops", __name__, url_prefix="/agent/ops", template_folder="templates", static_folder="static",
                      static_url_path="/static")
# Who may open the dashboard: the console's supervisors and operations staff.
DASHBOARD_ROLES = ("supervisor", "ops")
_RELATIVE = re.compile(r"([0-9]{1,4})([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_SPAN = timedelta(days=3660)
_CODE = re.compile(r"[a-z_]{1,32}")


def parse_since(value: str | None, default: timedelta | None = None, *, name: str = "since") -> datetime | None:
    """`7d`, `24h`, `2w` (back from now) or an ISO 8601 time; 400 otherwise."""
    if value is None or value == "":
        return utcnow() - default if default is not None else None
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        span = int(match.group(1)) * _UNITS[match.group(2)]
        if span > MAX_SPAN:
            raise bad_request(f"{name} reaches back at most 3660 days")
        return utcnow() - span
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise bad_request(f"{name} must be like 24h, 7d, 2w or an ISO 8601 time: {exc}") from None


def _code(name: str) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not _CODE.fullmatch(value):
        raise bad_request(f"{name} must be a code such as locker_no_notice or sf")
    return value


def _report_args(default: timedelta) -> dict:
    since = parse_since(request.args.get("since"), default)
    until = parse_since(request.args.get("until"), None, name="until") or utcnow()
    if until <= since:
        raise bad_request("until must be after since")
    return {"since": since, "until": until, "carrier": _code("carrier"), "category": _code("category")}


# --- v1 API ---


@api.post("/analytics/run")
def run_detectors():
    imported = conversations.import_conversations(session(), current_app.extensions["settings"].tracker_store_url)
    result = service.run(session())
    still_open = service.list_alerts(session(), status="open")
    return {**result.as_dict(), "conversations": imported.as_dict(),
            "open": [service.alert_dict(a) for a in still_open]}


@api.get("/analytics/alerts")
def list_alerts():
    alerts = service.list_alerts(session(), since=parse_since(request.args.get("since")), category=_code("category"),
                                 status=request.args.get("status") or None)
    return {"alerts": [service.alert_dict(a) for a in alerts]}


@api.get("/analytics/report")
def report():
    by = request.args.get("by") or "category"
    return service.report(session(), by=by, **_report_args(timedelta(days=7)))


@api.get("/analytics/trend")
def trend():
    return service.trend(session(), **_report_args(timedelta(days=30)))


# --- the dashboard ---


def _ops_only():
    if g.agent.role not in DASHBOARD_ROLES:
        raise ApiError(403, "forbidden", "运营看板只对主管和运营人员开放")


@dashboard.errorhandler(ApiError)
def dashboard_error(exc: ApiError):
    if request.path.startswith("/agent/ops/api/"):
        return jsonify(exc.body()), exc.status
    return render_template("ops_forbidden.html", message=exc.message), exc.status


@dashboard.after_request
def no_store(response):
    if request.endpoint != "ops.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@dashboard.get("/")
@console.login_required(api=False)
def page():
    _ops_only()
    return render_template("ops_dashboard.html", agent=g.agent, csrf_token=console.csrf_token())


@dashboard.get("/api/overview")
@console.login_required(api=True)
def overview():
    """Everything the dashboard draws for one filter: trend, breakdowns, alerts, facets."""
    _ops_only()
    args = _report_args(timedelta(days=30))
    s = session()
    by = request.args.get("by") or "area"
    return {
        "trend": service.trend(s, **args),
        "breakdown": service.report(s, by=by, limit=30, problems_only=True, **args),
        "categories": service.report(s, by="category", limit=40, problems_only=True, **args),
        "alerts": [service.alert_dict(a) for a in service.list_alerts(
            s, since=args["since"], category=args["category"], status=request.args.get("status") or None)],
        "facets": service.facets(s, since=args["since"]),
    }


@dashboard.post("/api/run")
@console.login_required(api=True)
def run_now():
    _ops_only()
    if not console._same_token(request.headers.get("X-CSRF-Token"), console.csrf_token()):
        return jsonify({"error": "csrf", "message": "missing or wrong CSRF token"}), 403
    return service.run(session()).as_dict()
