"""VIP tiers: which tier a member holds, from the points, spend or orders that qualify.

A member moves up the moment their qualifying total reaches a tier's threshold, and moves down
only once the period that earned the tier is over, plus ``tiers.grace_days``:

- ``lifetime``: everything ever counted qualifies; only a clawback can take a member down.
- ``calendar_year`` (the program's time zone): a tier reached in year Y is held for the rest of
  Y, all of Y+1 and ``grace_days`` into Y+2.
- ``rolling``: a tier reached at any moment t (the total of the ``window_days`` up to t) is held
  until t + ``window_days`` + ``grace_days``.

Only released points qualify: the engine passes no pending points. A clawback is a negative
event and lowers the total of the period its ``at`` falls in, so a refund that undoes the points
that earned this period's tier takes that tier away, while a tier earned in an earlier period
stays held. A total below zero counts as zero, so a base tier at threshold 0 is a floor.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Member, QualifyingEvent, TierDecision, TierStats
from loyalty_sdk.core.program import Program, TierLevel, Tiers

Amount = int | Decimal


@frozen
class Qualification:
    """A tier earned in one period: the total that earned it and when the hold ends."""

    level: TierLevel | None
    value: Amount
    period: str | None
    """The year, the day a rolling total reached the tier, or ``lifetime``; None: held from the start."""
    held_until: datetime | None
    current: bool
    """Whether the period is still running at ``as_of`` (the member qualifies now)."""


_Found = tuple[list[Qualification], Amount, str]
"""What a window yields: the periods still held, the current total and how to name its span."""


def metric_value(event: QualifyingEvent, metric: str) -> Amount:
    """What one event adds to ``metric`` (``points``, ``spend`` or ``orders``); may be negative."""
    return getattr(event, metric)


def tier_by(levels: Sequence[TierLevel], value: Amount) -> TierLevel | None:
    """The highest level whose threshold ``value`` reaches; None if it reaches none."""
    value = max(value, 0)  # clawbacks dated in a later period must not push a member below the base tier
    reached = None
    for level in levels:  # ascending, as the program validates
        if level.threshold <= value:
            reached = level
    return reached


def total(events: Iterable[QualifyingEvent], metric: str, start: datetime | None, end: datetime) -> Amount:
    """Sum of ``metric`` over events with ``start < at <= end`` (no lower bound when start is None)."""
    value_of = attrgetter(metric)
    return sum(
        (value_of(e) for e in events if (start is None or e.at > start) and e.at <= end),
        Decimal(0) if metric == "spend" else 0,
    )


def year_start(year: int, zone: ZoneInfo) -> datetime:
    """Local midnight of January 1st: where a calendar-year period begins."""
    return datetime(year, 1, 1, tzinfo=zone)


def calendar_hold_end(year: int, tiers: Tiers, zone: ZoneInfo) -> datetime:
    """When a tier qualified in ``year`` lapses: after all of the next year plus the grace days."""
    return _hold_end(year, tiers.grace_days, zone)


@lru_cache(maxsize=256)  # a decision needs one or two; every decision of a shop needs the same few
def _hold_end(year: int, grace_days: int, zone: ZoneInfo) -> datetime:
    # Wall-clock arithmetic on the local zone, so the hold ends at local midnight whatever DST does.
    return year_start(year + 2, zone) + timedelta(days=grace_days)


def rolling_segments(
    events: Iterable[QualifyingEvent], metric: str, window_days: int
) -> list[tuple[datetime | None, Amount]]:
    """The rolling total as steps: ``(start, total)`` holds from start until the next start.

    The total over ``(t - window_days, t]`` only changes when an event enters (at its ``at``) or
    leaves the window (``window_days`` later). The first step starts at None (the distant past).
    """
    window = timedelta(days=window_days)
    zero: Amount = Decimal(0) if metric == "spend" else 0
    changes: dict[datetime, Amount] = {}
    value_of = attrgetter(metric)  # metric_value, without a call per event
    for event in events:
        at = event.at
        if at.tzinfo is not UTC:  # one zone so equal instants share a key and days are 24 hours
            at = at.astimezone(UTC)
        value = value_of(event)
        changes[at] = changes.get(at, zero) + value
        changes[at + window] = changes.get(at + window, zero) - value
    steps: list[tuple[datetime | None, Amount]] = [(None, zero)]
    running = zero
    for at in sorted(changes):
        running += changes[at]
        steps.append((at, running))
    return steps


_FAR = datetime.max.replace(tzinfo=UTC)  # a hold without end outlasts every other
CALENDAR_YEARS_BACK = 3  # the tier lookback of a calendar-year window (``tiering.lookback``)


@lru_cache(maxsize=64)
def _year_starts(first: int, zone: ZoneInfo) -> tuple[datetime, ...]:
    """January 1st of ``first`` and the years up to the next one, as UTC instants."""
    return tuple(year_start(first + n, zone).astimezone(UTC) for n in range(CALENDAR_YEARS_BACK + 2))


def _calendar(events: Sequence[QualifyingEvent], as_of: datetime, program: Program) -> _Found:
    tiers, zone = program.tiers, program.zone
    year = as_of.astimezone(zone).year
    totals: dict[int, Amount] = {year: Decimal(0) if tiers.metric == "spend" else 0}
    # The local year of an event, by comparing it with year starts as UTC instants: re-tiering
    # a shop reads every member's events, and a comparison costs far less than a conversion
    # to local time. Events outside the years a hold can reach are converted.
    # Events come mostly in date order, so the year of the event before is tried first.
    first = year - CALENDAR_YEARS_BACK
    starts = _year_starts(first, zone)
    value = attrgetter(tiers.metric)  # metric_value, without a call per event
    begins = ends = None
    event_year, running = year, None  # the year being summed and its sum so far
    for event in events:
        at = event.at
        if begins is not None and begins <= at < ends:
            running += value(event)
            continue
        if running is not None:
            totals[event_year] = totals.get(event_year, 0) + running
        found = bisect_right(starts, at)
        if 0 < found < len(starts):
            event_year, begins, ends = first + found - 1, starts[found - 1], starts[found]
        else:
            event_year, begins = at.astimezone(zone).year, None
        running = value(event)
    if running is not None:
        totals[event_year] = totals.get(event_year, 0) + running
    found = []
    for event_year, value in totals.items():
        end = calendar_hold_end(event_year, tiers, zone)
        if as_of < end:
            found.append(Qualification(tier_by(tiers.levels, value), value, str(event_year), end, event_year == year))
    return found, totals[year], f"in {year}"


def _rolling(events: Sequence[QualifyingEvent], as_of: datetime, program: Program) -> _Found:
    tiers, zone = program.tiers, program.zone
    steps = rolling_segments(events, tiers.metric, tiers.window_days)
    hold = timedelta(days=tiers.window_days + tiers.grace_days)
    earliest = as_of - hold  # a total reached after this moment is still held at as_of
    latest: dict[int, int] = {}  # per tier rank, the last step that reached it while still held
    # A step's rank is the number of thresholds its total reaches, less one (tier_by then _rank:
    # thresholds ascend, as the program validates), found by bisection for the many steps of a
    # long window.
    thresholds = [level.threshold for level in tiers.levels]
    last = len(steps) - 1
    for index, (start, value) in enumerate(steps):
        if start is not None and start > as_of:
            break  # steps are in time order: every later one starts after as_of too
        if index < last and steps[index + 1][0] <= earliest:
            continue
        latest[bisect_right(thresholds, value if value > 0 else 0) - 1] = index
    found = []
    for index in latest.values():
        start, value = steps[index]
        level = tier_by(tiers.levels, value)
        threshold = level.threshold if level is not None else Decimal("Infinity")
        # The hold ends window+grace after the unbroken stretch at or above the threshold ends,
        # which lies after as_of when the member still qualifies now.
        # A total below a positive threshold, negative or not, is below it (max(total, 0) <
        # threshold); a threshold at or below zero is never fallen below.
        run_end = None
        run_start = start
        if threshold > 0:
            run_end = next((at for at, later in islice(steps, index + 1, None) if later < threshold), None)
            for earlier_start, earlier in reversed(steps[:index]):
                if earlier < threshold:
                    break
                run_start = earlier_start
        else:
            run_start = None if index else start
        period = run_start.astimezone(zone).date().isoformat() if run_start is not None else None
        current = index + 1 == len(steps) or steps[index + 1][0] > as_of
        found.append(Qualification(level, value, period, run_end + hold if run_end is not None else None, current))
    now = total(events, tiers.metric, as_of - timedelta(days=tiers.window_days), as_of)
    return found, now, f"in the {tiers.window_days} days to {as_of.astimezone(zone).date().isoformat()}"


def _lifetime(events: Sequence[QualifyingEvent], as_of: datetime, program: Program) -> _Found:
    value = total(events, program.tiers.metric, None, as_of)
    return [Qualification(tier_by(program.tiers.levels, value), value, "lifetime", None, True)], value, "lifetime"


_WINDOWS: dict[str, Callable[[Sequence[QualifyingEvent], datetime, Program], _Found]] = {
    "calendar_year": _calendar,
    "rolling": _rolling,
    "lifetime": _lifetime,
}


def _rank(program: Program, level: TierLevel | None) -> int:
    return program.tiers.rank(level.id) if level is not None else -1


def _amount(metric: str, value: Amount, currency: str) -> str:
    if metric == "spend":
        return f"{value:,} {currency} spend"
    unit = "point" if metric == "points" else "order"
    return f"{value:,} {unit}" if abs(value) == 1 else f"{value:,} {unit}s"


def _json(value: Amount) -> int | str:
    return value if isinstance(value, int) else str(value)


@lru_cache(maxsize=1024)  # holds end on a few dates (calendar years); rolling ones vary more
def _local_text(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` in the program's zone, ISO 8601 (its first ten characters: the local date)."""
    return moment.astimezone(zone).isoformat()


def decide(stats: TierStats, program: Program) -> TierDecision:
    """The tier held at ``stats.as_of``: the highest tier any still-held period earned."""
    tiers = program.tiers
    if not tiers.levels:
        return TierDecision(None, "no tiers", {})
    if not isinstance(stats.as_of, datetime) or stats.as_of.utcoffset() is None:
        raise InvalidInput(
            f"stats.as_of must be a timezone-aware datetime, got {stats.as_of!r}", field="as_of", value=stats.as_of
        )
    as_of = stats.as_of.astimezone(UTC)  # windows count 24-hour days, whatever zone the caller used
    events = [e for e in stats.events if e.at <= as_of]  # nothing after as_of may qualify
    found, now, span = _WINDOWS[tiers.window](events, as_of, program)
    # Highest tier first; among equals the current period, then the hold that lasts longest.
    best = max(found, key=lambda q: (_rank(program, q.level), q.current, q.held_until or _FAR))
    level = best.level
    held_until = best.held_until if level is not None and level.threshold > 0 else None
    zone = program.zone
    if best.current:
        above = _rank(program, level) + 1
        following = tiers.levels[above] if above < len(tiers.levels) else None
        if following is not None and (level is None or level.threshold <= 0):
            reason = f"below {following.id} ({max(now, 0):,} < {following.threshold:,})"
        else:
            reason = f"qualified: {_amount(tiers.metric, now, program.program.currency)} {span}"
    else:
        until = _local_text(held_until, zone)[:10] if held_until is not None else "further notice"
        reason = f"held from {best.period} until {until}"
    inputs: dict[str, Any] = {
        "metric": tiers.metric,
        "value": _json(best.value),
        "current_value": _json(now),
        "window": tiers.window,
        "period": best.period,
        "threshold": str(level.threshold) if level is not None else None,
        "held_until": _local_text(held_until, zone) if held_until is not None else None,
    }
    return TierDecision(level.id if level is not None else None, reason, inputs)


@hookimpl(trylast=True)
def loyalty_resolve_tier(member: Member, stats: TierStats, program: Program) -> TierDecision:
    """The built-in tier rule; any plugin of yours that answers decides first."""
    return decide(stats, program)
