"""Analytics over analytics_events: the detector run (signals -> alerts -> ops_alert tickets, resolved when the
signal is gone), alert lists, reports by category x area/outlet/route/hub/carrier, and daily trends."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from logistics.analytics import detect, rules
from logistics.analytics.models import Alert, AnalyticsEvent
from logistics.errors import bad_request
from logistics.handoffs.models import Handoff
from logistics.network.models import Facility
from logistics.tickets import service as ticket_service
from logistics.tickets.enums import OPEN_STATUSES, TicketStatus, TicketType
from logistics.tickets.models import Ticket, TicketIn, TicketPatch
from logistics.timeutil import to_iso, utcnow

log = logging.getLogger(__name__)
E = AnalyticsEvent.__table__.c

# A scope type: how its key and its name are read from a row.
SCOPES = {
    "area": ((E.city, E.district, E.community), E.community),
    "outlet": ((E.outlet_code,), E.outlet_code),
    "route": ((E.route,), E.route),
    "hub": ((E.hub_code,), E.hub_code),
}
NAME_COLUMNS = {"outlet": E.outlet_name, "route": E.route_name, "hub": E.hub_name}
BREAKDOWNS = ("category", "area", "outlet", "route", "hub", "carrier", "city", "channel", "goods_type")
EXAMPLES = 5
# Questions the bot answered are the traffic every share is measured against, not a problem to alert on.
DETECTED = E.kind != "inquiry"


def _key(scope_type: str, values) -> tuple[str, str]:
    """(key, display name) of a scope from its key columns."""
    values = [v or "" for v in values]
    if scope_type == "area":
        return "|".join(values), "".join(values)
    return values[0], values[0]


# --- detection ---


def _spike_signals(session: Session, now: datetime, params: detect.Params) -> list[detect.Signal]:
    base_start, recent_start, end = detect.recent_window(now, params)
    signals = []
    recent = func.sum(case((E.occurred_at >= recent_start, 1), else_=0))
    for scope_type in detect.SPIKE_SCOPES:
        columns, not_null = SCOPES[scope_type]
        rows = session.execute(
            select(E.category, *columns, recent.label("recent"), func.count().label("total"))
            .where(E.occurred_at >= base_start, E.occurred_at < end, not_null.is_not(None), DETECTED)
            .group_by(E.category, *columns)
            .having(recent >= params.min_count)).all()
        for row in rows:
            key, name = _key(scope_type, row[1:1 + len(columns)])
            signal = detect.spike(row.category, scope_type, key, name, int(row.recent),
                                  int(row.total) - int(row.recent), params)
            if signal is not None:
                signal.stats["window"] = {"from": to_iso(recent_start), "to": to_iso(end)}
                signal.stats["baseline_window"] = {"from": to_iso(base_start), "to": to_iso(recent_start)}
                signals.append(signal)
    return signals


def _concentration_signals(session: Session, now: datetime, params: detect.Params) -> list[detect.Signal]:
    start = now - params.window
    in_window = and_(E.occurred_at >= start, E.occurred_at < now)
    per_category = dict(session.execute(
        select(E.category, func.count()).where(in_window).group_by(E.category)).all())
    overall = sum(per_category.values())
    signals = []
    for scope_type in detect.CONCENTRATION_SCOPES:
        columns, not_null = SCOPES[scope_type]
        totals = {tuple(r[:-1]): r[-1] for r in session.execute(
            select(*columns, func.count()).where(in_window, not_null.is_not(None)).group_by(*columns)).all()}
        rows = session.execute(
            select(E.category, *columns, func.count().label("n"))
            .where(in_window, not_null.is_not(None), DETECTED)
            .group_by(E.category, *columns).having(func.count() >= params.min_count)).all()
        for row in rows:
            values = tuple(row[1:1 + len(columns)])
            key, name = _key(scope_type, values)
            signal = detect.concentration(row.category, scope_type, key, name, int(row.n),
                                          per_category[row.category], totals[values], overall, params)
            if signal is not None:
                signal.stats["window"] = {"from": to_iso(start), "to": to_iso(now)}
                signals.append(signal)
    return signals


def _scope_filter(scope_type: str, key: str):
    columns, _ = SCOPES[scope_type]
    if scope_type == "area":
        city, district, community = (key.split("|") + ["", "", ""])[:3]
        return and_(func.coalesce(E.city, "") == city, func.coalesce(E.district, "") == district,
                    E.community == community)
    return columns[0] == key


def _signal_rows(session: Session, signal: detect.Signal, now: datetime, params: detect.Params) -> list:
    start = now - (params.recent if signal.kind == "spike" else params.window)
    return session.execute(
        select(E.id, E.occurred_at, E.conversation_id, E.ticket_id, E.example, E.outlet_code, E.outlet_name,
               E.route, E.route_name, E.hub_code, E.hub_name, E.city, E.district, E.community, E.carrier,
               E.goods_type, E.channel)
        .where(E.category == signal.category, E.occurred_at >= start, E.occurred_at < now,
               _scope_filter(signal.scope_type, signal.scope_key))
        .order_by(E.occurred_at.desc())).all()


def detect_signals(session: Session, now: datetime | None = None,
                   params: detect.Params = detect.DEFAULT) -> list[detect.Signal]:
    """Every spike and concentration at `now`, one per cause, each with its events and evidence."""
    now = now or utcnow()
    candidates = _spike_signals(session, now, params) + _concentration_signals(session, now, params)
    rows_of = {}
    for signal in candidates:
        rows = _signal_rows(session, signal, now, params)
        rows_of[signal.key] = rows
        signal.event_ids = {r.id for r in rows}
    kept = detect.choose(candidates, params)
    for signal in kept:
        _evidence(session, signal, rows_of[signal.key], now, params)
    return kept


def _top(rows, attribute: str, name_attribute: str | None = None, n: int = 3) -> list[dict]:
    counts = Counter(getattr(r, attribute) for r in rows if getattr(r, attribute))
    names = {getattr(r, attribute): getattr(r, name_attribute) for r in rows} if name_attribute else {}
    return [{"key": k, "name": names.get(k) or k, "count": c} for k, c in counts.most_common(n)]


def _area(r) -> str | None:
    return "".join(p for p in (r.city, r.district, r.community) if p) if r.community else None


def _evidence(session: Session, signal: detect.Signal, rows, now: datetime, params: detect.Params) -> None:
    outlets = _top(rows, "outlet_code", "outlet_name")
    routes = _top(rows, "route", "route_name")
    areas = Counter(a for a in map(_area, rows) if a).most_common(3)
    evidence = {
        **{k: v for k, v in signal.stats.items() if k != "scope_share_exact"},
        "count": signal.count,
        "expected": signal.baseline,
        "p_value": float(f"{signal.p_value:.3g}"),
        "top_outlets": outlets,
        "top_routes": routes,
        "top_areas": [{"name": a, "count": c} for a, c in areas],
        "carriers": dict(Counter(r.carrier for r in rows if r.carrier).most_common(5)),
        "goods_types": dict(Counter(r.goods_type for r in rows if r.goods_type).most_common(5)),
        "examples": [{"time": to_iso(r.occurred_at), "conversation_id": r.conversation_id, "ticket_id": r.ticket_id,
                      "text": r.example} for r in rows[:EXAMPLES]],
    }
    if signal.kind == "spike":
        evidence["by_day"] = _by_day(session, signal, now, params)
    signal.stats = evidence
    outlet = outlets[0] if outlets else None
    route = routes[0] if routes else None
    scope = signal.scope_name
    if signal.scope_type in NAME_COLUMNS and rows:
        scope = getattr(rows[0], NAME_COLUMNS[signal.scope_type].name) or scope
        signal.scope_name = scope
    signal.stats["owner"] = _owner(session, signal, outlet, route)
    signal.stats["suggested_action"] = rules.suggest(
        signal.kind, signal.category, signal.scope_type, scope=scope,
        outlet=(outlet or {}).get("name"), route=(route or {}).get("name"))


def _by_day(session: Session, signal: detect.Signal, now: datetime, params: detect.Params) -> list[dict]:
    """Counts per 24-hour window back from now, oldest first (the baseline days, then the recent window)."""
    start = now - params.recent - timedelta(days=params.baseline_days)
    times = session.execute(select(E.occurred_at).where(
        E.category == signal.category, E.occurred_at >= start, E.occurred_at < now,
        _scope_filter(signal.scope_type, signal.scope_key))).scalars()
    days = params.baseline_days + 1
    counts = [0] * days
    for t in times:
        index = days - 1 - int((now - t) / params.recent)
        if 0 <= index < days:
            counts[index] += 1
    return [{"until": to_iso(now - params.recent * (days - 1 - i)), "count": c} for i, c in enumerate(counts)]


def _owner(session: Session, signal: detect.Signal, outlet: dict | None, route: dict | None) -> dict:
    """Who gets the ops_alert ticket: the outlet where the events were delivered from, or the route's owner (the
    origin hub's line planning) for a route, the hub for a hub."""
    if signal.scope_type == "route":
        origin = signal.scope_key.split(">")[0]
        return {"type": "route", "code": origin, "name": f"{signal.scope_name}（线路规划）", "route": signal.scope_key}
    if signal.scope_type == "hub":
        return {"type": "hub", "code": signal.scope_key, "name": signal.scope_name}
    if outlet:
        return {"type": "outlet", "code": outlet["key"], "name": outlet["name"]}
    return {"type": "operations", "code": None, "name": "运营中心"}


@dataclass
class RunResult:
    opened: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    resolved: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"opened": [alert_dict(a) for a in self.opened], "updated": [alert_dict(a) for a in self.updated],
                "resolved": [alert_dict(a) for a in self.resolved]}


def sync_ratings(session: Session) -> int:
    """Handoff rows get the user's satisfaction rating once given (the handoff table is the source)."""
    rated = select(Handoff.rating).where(Handoff.ticket_id == E.ticket_id, Handoff.rating.is_not(None)) \
        .limit(1).scalar_subquery()
    result = session.execute(update(AnalyticsEvent.__table__).where(
        E.ticket_type == "handoff", E.rating.is_(None), E.ticket_id.is_not(None)).values(rating=rated))
    return result.rowcount or 0


def run(session: Session, now: datetime | None = None, params: detect.Params = detect.DEFAULT) -> RunResult:
    """Detect now; open an alert (and its ops_alert ticket) per new signal, refresh the open ones still seen,
    resolve the open ones no longer seen (and their tickets)."""
    now = now or utcnow()
    sync_ratings(session)
    signals = detect_signals(session, now, params)
    open_alerts = {a.key: a for a in session.execute(select(Alert).where(Alert.status == "open")).scalars()}
    result = RunResult()
    for signal in signals:
        alert = open_alerts.pop(signal.key, None)
        if alert is None:
            alert = _open(session, signal, now)
            result.opened.append(alert)
        else:
            _refresh(alert, signal, now)
            result.updated.append(alert)
    for alert in open_alerts.values():
        _resolve(session, alert, now)
        result.resolved.append(alert)
    session.flush()
    return result


def _fill(alert: Alert, signal: detect.Signal, now: datetime) -> None:
    evidence = dict(signal.stats)
    alert.suggested_action = evidence.pop("suggested_action")[:500]
    alert.count, alert.baseline, alert.p_value = signal.count, float(signal.baseline), float(signal.p_value)
    alert.evidence = evidence
    alert.scope_name = signal.scope_name[:250]
    alert.last_seen_at = now


def _open(session: Session, signal: detect.Signal, now: datetime) -> Alert:
    alert = Alert(key=signal.key[:300], kind=signal.kind, category=signal.category, scope_type=signal.scope_type,
                  scope_key=signal.scope_key[:200], status="open", opened_at=now)
    _fill(alert, signal, now)
    session.add(alert)
    session.flush()
    owner = alert.evidence.get("owner") or {}
    details = {"alert_id": alert.id, "kind": alert.kind, "category": alert.category,
               "category_label": rules.label(alert.category),
               "scope": {"type": alert.scope_type, "key": alert.scope_key, "name": alert.scope_name},
               "owner": owner, "count": alert.count, "baseline": alert.baseline,
               "summary": summary_line(alert), "suggested_action": alert.suggested_action,
               "examples": alert.evidence.get("examples", [])[:3]}
    ticket, _ = ticket_service.create(session=session, actor="analytics", data=TicketIn(
        type=TicketType.OPS_ALERT, details=details, idempotency_key=f"ops_alert:{alert.id}:{alert.key}"[:200]))
    facility_id = None
    if owner.get("code"):
        facility_id = session.execute(select(Facility.id).where(Facility.code == owner["code"])).scalar()
    ticket.facility_id = facility_id
    alert.ticket_id = ticket.id
    log.info("analytics: opened alert %s (%s) with ticket %s", alert.id, alert.key, ticket.id)
    return alert


def _refresh(alert: Alert, signal: detect.Signal, now: datetime) -> None:
    _fill(alert, signal, now)


def _resolve(session: Session, alert: Alert, now: datetime) -> None:
    alert.status, alert.resolved_at = "resolved", now
    ticket = session.get(Ticket, alert.ticket_id) if alert.ticket_id else None
    if ticket is not None and TicketStatus(ticket.status) in OPEN_STATUSES:
        ticket_service.update(session=session, ticket_id=ticket.id, data=TicketPatch(
            status=TicketStatus.RESOLVED, actor="analytics",
            note=f"信号已消失：{rules.label(alert.category)}在{alert.scope_name}回落到正常水平，预警自动解除"))


def summary_line(alert: Alert) -> str:
    what = rules.label(alert.category)
    if alert.kind == "spike":
        return (f"{alert.scope_name}近24小时「{what}」{alert.count} 起，过去14天平均每天 "
                f"{alert.evidence.get('baseline_per_day', 0)} 起")
    share = alert.evidence.get("share", 0) * 100
    return (f"近7天「{what}」{alert.count} 起集中在{alert.scope_name}（占该类 {share:.0f}%，"
            f"该范围平时只占 {alert.evidence.get('scope_share', 0) * 100:.1f}%）")


def alert_dict(alert: Alert) -> dict:
    """An alert as the API gives it (DESIGN.md)."""
    return {
        "id": alert.id, "kind": alert.kind, "category": alert.category,
        "category_label": rules.label(alert.category),
        "scope": {"type": alert.scope_type, "name": alert.scope_name, "key": alert.scope_key},
        "count": alert.count, "baseline": alert.baseline, "p_value": alert.p_value,
        "summary": summary_line(alert), "evidence": alert.evidence or {},
        "suggested_action": alert.suggested_action, "ticket_id": alert.ticket_id, "status": alert.status,
        "opened_at": to_iso(alert.opened_at), "last_seen_at": to_iso(alert.last_seen_at),
        "resolved_at": to_iso(alert.resolved_at),
    }


def list_alerts(session: Session, *, since: Optional[datetime] = None, category: Optional[str] = None,
                status: Optional[str] = None, limit: int = 200) -> list[Alert]:
    query = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc())
    if since is not None:
        query = query.where(Alert.last_seen_at >= since)
    if category:
        query = query.where(Alert.category == category)
    if status:
        if status not in ("open", "resolved"):
            raise bad_request("status must be open or resolved")
        query = query.where(Alert.status == status)
    return list(session.execute(query.limit(limit)).scalars())


# --- reports ---


def _filters(since: datetime, until: datetime, carrier: Optional[str], category: Optional[str]) -> list:
    where = [E.occurred_at >= since, E.occurred_at < until]
    if carrier:
        where.append(E.carrier == carrier)
    if category:
        where.append(E.category == category)
    return where


def _group_columns(by: str) -> tuple:
    if by == "category":
        return ()
    if by == "area":
        return (E.city, E.district, E.community)
    named = {"outlet": E.outlet_code, "route": E.route, "hub": E.hub_code}
    return (named[by] if by in named else getattr(E, by),)


def report(session: Session, *, since: datetime, until: Optional[datetime] = None, by: str = "category",
           carrier: Optional[str] = None, category: Optional[str] = None, limit: int = 100,
           problems_only: bool = False) -> dict:
    """Counts by category x scope in [since, until), with each count's rate: its share of all events of that scope
    in the window (for by=category, of all events). problems_only leaves out the questions the bot answered."""
    if by not in BREAKDOWNS:
        raise bad_request(f"by must be one of {', '.join(BREAKDOWNS)}")
    until = until or utcnow()
    columns = _group_columns(by)
    where = _filters(since, until, carrier, None)
    scope_not_null = [columns[-1].is_not(None)] if columns else []
    totals = {tuple(r[:-1]): r[-1] for r in session.execute(
        select(*columns, func.count()).where(*where, *scope_not_null).group_by(*columns)).all()}
    names = {}
    if by in NAME_COLUMNS:
        names = dict(session.execute(select(columns[0], func.max(NAME_COLUMNS[by])).where(
            *where, *scope_not_null).group_by(columns[0])).all())
    rows = session.execute(
        select(E.category, *columns, func.count().label("n"))
        .where(*_filters(since, until, carrier, category), *scope_not_null, *([DETECTED] if problems_only else []))
        .group_by(E.category, *columns).order_by(func.count().desc()).limit(limit)).all()
    out = []
    for row in rows:
        values = tuple(row[1:1 + len(columns)])
        total = totals.get(values) or sum(totals.values()) or 1
        key, name = _key("area" if by == "area" else by, values) if columns else ("", "全部")
        out.append({"category": row.category, "category_label": rules.label(row.category),
                    "scope": by, "key": key, "name": names.get(key) or name, "count": int(row.n),
                    "scope_total": int(total), "rate": round(int(row.n) / int(total), 4)})
    return {"since": to_iso(since), "until": to_iso(until), "by": by, "carrier": carrier, "category": category,
            "total": int(sum(totals.values())), "rows": out}


def _day_bucket(session: Session):
    """The China-time calendar day of an event, as the database computes it."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(E.occurred_at + timedelta(hours=8), "YYYY-MM-DD")
    return func.date(E.occurred_at, "+8 hours")


def trend(session: Session, *, since: datetime, until: Optional[datetime] = None, carrier: Optional[str] = None,
          category: Optional[str] = None, top: int = 6) -> dict:
    """Events per China-time day and category (the `top` categories by count; the rest as 其他)."""
    until = until or utcnow()
    day = _day_bucket(session).label("day")
    rows = session.execute(select(day, E.category, func.count()).where(*_filters(since, until, carrier, category))
                           .group_by(day, E.category).order_by(day)).all()
    totals = Counter()
    for _, cat, n in rows:
        totals[cat] += n
    leaders = [c for c, _ in totals.most_common(top)]
    days = sorted({str(d) for d, _, _ in rows})
    series = {c: [0] * len(days) for c in leaders}
    other = [0] * len(days)
    index = {d: i for i, d in enumerate(days)}
    for d, cat, n in rows:
        (series[cat] if cat in series else other)[index[str(d)]] += n
    out = [{"category": c, "label": rules.label(c), "counts": series[c]} for c in leaders]
    if any(other):
        out.append({"category": "other_categories", "label": "其他", "counts": other})
    return {"since": to_iso(since), "until": to_iso(until), "days": days, "series": out,
            "totals": [{"category": c, "label": rules.label(c), "count": n} for c, n in totals.most_common()]}


def facets(session: Session, *, since: datetime) -> dict:
    """The carriers and categories present since a time, for the dashboard's filters."""
    carriers = session.execute(select(E.carrier).where(E.occurred_at >= since, E.carrier.is_not(None))
                               .group_by(E.carrier)).scalars().all()
    categories = session.execute(select(E.category).where(E.occurred_at >= since).group_by(E.category)
                                 ).scalars().all()
    return {"carriers": sorted(carriers),
            "categories": [{"code": c, "label": rules.label(c)} for c in sorted(categories)]}
