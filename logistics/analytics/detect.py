"""The detectors: spikes (the last 24 hours against a trailing 14-day baseline, Poisson) and concentrations (a
category's share on one route or outlet against that scope's share of everything else, binomial).

Both read aggregated counts from analytics_events (service.py runs the queries); this module is the statistics and
the choice between overlapping signals, so tests and the evaluation script can check it on synthetic histories.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

# Scope types in the order a signal is attributed to them when several describe the same events.
SPIKE_SCOPES = ("area", "outlet", "route", "hub")
CONCENTRATION_SCOPES = ("route", "outlet")


@dataclass(frozen=True)
class Params:
    recent: timedelta = timedelta(hours=24)
    baseline_days: int = 14
    # A spike needs at least this many events in the recent window, this many times the baseline rate, and a
    # Poisson tail probability below spike_alpha (many scopes are tested at once: a strict level).
    min_count: int = 5
    min_ratio: float = 3.0
    spike_alpha: float = 1e-6
    # Concentration: over this window, a share this many times the scope's share of all other events.
    window: timedelta = timedelta(days=7)
    min_lift: float = 2.0
    concentration_alpha: float = 1e-6


DEFAULT = Params()


def poisson_logsf(count: int, lam: float) -> float:
    """log P(X >= count) for X ~ Poisson(lam), accurate in the far tail (no underflow)."""
    if count <= 0:
        return 0.0
    if lam <= 0:
        return -math.inf
    if count <= lam:
        term, total = math.exp(-lam), 0.0
        for k in range(count):
            total += term
            term *= lam / (k + 1)
        return math.log(max(1.0 - total, 1e-300))
    log_first = count * math.log(lam) - lam - math.lgamma(count + 1)
    term, total, k = 1.0, 1.0, count
    while term > total * 1e-15 and k < count + 100_000:
        k += 1
        term *= lam / k
        total += term
    return min(0.0, log_first + math.log(total))


def binomial_logsf(k: int, n: int, p: float) -> float:
    """log P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 0.0
    if k > n or p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    if k <= n * p:
        term, total = (1 - p) ** n, 0.0
        for i in range(k):
            total += term
            term *= (n - i) / (i + 1) * p / (1 - p)
        return math.log(max(1.0 - total, 1e-300))
    log_first = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
                 + (n - k) * math.log1p(-p))
    term, total, i = 1.0, 1.0, k
    while i < n and term > total * 1e-15:
        term *= (n - i) / (i + 1) * p / (1 - p)
        i += 1
        total += term
    return min(0.0, log_first + math.log(total))


def poisson_sf(count: int, lam: float) -> float:
    return math.exp(poisson_logsf(count, lam))


def binomial_sf(k: int, n: int, p: float) -> float:
    return math.exp(binomial_logsf(k, n, p))


@dataclass
class Signal:
    kind: str  # spike, concentration
    category: str
    scope_type: str
    scope_key: str
    scope_name: str
    count: int
    baseline: float  # spike: expected events in the window; concentration: expected events on the scope
    p_value: float
    log_p: float = 0.0
    stats: dict = field(default_factory=dict)
    event_ids: set = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.category}:{self.scope_type}:{self.scope_key}"


def spike(category: str, scope_type: str, scope_key: str, scope_name: str, recent: int, baseline_total: int,
          params: Params = DEFAULT) -> Signal | None:
    """A spike when the recent count is unlikely under the baseline rate (events per recent window)."""
    if recent < params.min_count:
        return None
    windows = params.baseline_days * (timedelta(days=1) / params.recent)
    # One pseudo-event keeps a scope that was silent for two weeks from having a rate of exactly zero.
    expected = (baseline_total + 1) / windows
    if recent < params.min_ratio * expected:
        return None
    log_p = poisson_logsf(recent, expected)
    if log_p >= math.log(params.spike_alpha):
        return None
    return Signal("spike", category, scope_type, scope_key, scope_name, recent, round(expected, 3),
                  math.exp(log_p), log_p, {"baseline_total": baseline_total, "baseline_days": params.baseline_days,
                   "baseline_per_day": round(baseline_total / params.baseline_days, 3),
                   "ratio": round(recent / expected, 1)})


def concentration(category: str, scope_type: str, scope_key: str, scope_name: str, k: int, category_total: int,
                  scope_total: int, overall_total: int, params: Params = DEFAULT) -> Signal | None:
    """A concentration when the category's events fall on this scope far more often than the scope's share of all
    other events predicts: k of the category's K events on it, against (n_scope - k) / (N - K)."""
    if k < params.min_count:
        return None
    others, others_here = overall_total - category_total, scope_total - k
    if others <= 0:
        return None
    # Half a pseudo-event: a scope that carries nothing else still has a small positive share.
    q = max(others_here, 0.5) / others
    share = k / category_total
    if share < params.min_lift * q:
        return None
    log_p = binomial_logsf(k, category_total, q)
    if log_p >= math.log(params.concentration_alpha):
        return None
    expected = category_total * q
    return Signal("concentration", category, scope_type, scope_key, scope_name, k, round(expected, 3),
                  math.exp(log_p), log_p,
                  {"category_total": category_total, "share": round(share, 4), "scope_share": round(q, 4),
                   "scope_share_exact": q,
                   "lift": round(share / q, 1), "scope_total": scope_total, "overall_total": overall_total})


def _still_significant(signal: Signal, explained: set, explained_total: int, params: Params) -> bool:
    """Whether the signal stands without the events that a kept signal already explains (a 小区's spike seen again
    at its outlet, an outlet's concentration seen again on the routes that feed it)."""
    left = len(signal.event_ids - explained)
    if left < params.min_count:
        return False
    if signal.kind == "spike":
        return left >= params.min_ratio * signal.baseline and \
            poisson_logsf(left, signal.baseline) < math.log(params.spike_alpha)
    total = signal.stats["category_total"] - explained_total
    q = signal.stats["scope_share_exact"]
    return total > 0 and left / total >= params.min_lift * q and \
        binomial_logsf(left, total, q) < math.log(params.concentration_alpha)


def _inside(a: Signal, b: Signal, share: float = 0.8) -> bool:
    """Whether most of a's events are b's: a is b seen in a narrower (or the same) scope."""
    return bool(a.event_ids) and len(a.event_ids & b.event_ids) / len(a.event_ids) >= share


def choose(signals: Iterable[Signal], params: Params = DEFAULT) -> list[Signal]:
    """One signal per cause, most significant first. A 小区's spike is also its outlet's and its hub's; an outlet's
    concentration shows again on the routes that feed it. Of two nested signals of the same kind and category the
    wider one is the cause only when it stays significant without the narrower one's events (an outlet-wide
    spike), else the narrower one is (one 小区). Any other signal must stay significant without the events of the
    signals of its category kept before it."""
    order = {name: i for i, name in enumerate(SPIKE_SCOPES)}
    ranked = sorted(signals, key=lambda s: (s.kind != "spike", s.log_p, order.get(s.scope_type, 9), -s.count,
                                            s.scope_key))
    kept: list[Signal] = []
    for signal in ranked:
        nested = False
        for i, other in enumerate(kept):
            if other.category != signal.category or other.kind != signal.kind:
                continue
            inner, outer = (signal, other) if _inside(signal, other) else (other, signal)
            if not _inside(inner, outer):
                continue
            nested = True
            if _inside(outer, inner):
                # The same events: the narrowest scope names the place.
                inner, outer = sorted((signal, other), key=lambda s: order.get(s.scope_type, 9))
                kept[i] = inner
            elif _still_significant(outer, inner.event_ids, len(inner.event_ids), params):
                kept[i] = outer  # the wider signal stands without the narrower one: it is the cause
            else:
                kept[i] = inner  # the narrower signal explains the wider one
            break
        if nested:
            continue
        explained: set = set()
        for other in kept:
            if other.category == signal.category:
                explained |= other.event_ids
        if not explained or _still_significant(signal, explained, len(explained), params):
            kept.append(signal)
    return kept


def recent_window(now: datetime, params: Params = DEFAULT) -> tuple[datetime, datetime, datetime]:
    """(baseline start, recent start, now)."""
    recent_start = now - params.recent
    return recent_start - timedelta(days=params.baseline_days), recent_start, now
