"""The period a report covers, and the shop-local month boundaries figures are bucketed by.

A period is half-open, ``[start, end)``, between two aware instants. Months are calendar
months on the program's clock (``program.timezone``); their boundaries are computed here, in
Python, and handed to SQL as UTC instants, so bucketing works alike on SQLite (which knows no
time zones) and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from attrs import frozen

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.ledger import utc

DEFAULT_MONTHS = 12
"""A period left unsaid: the current month so far and the eleven full months before it."""


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} must be timezone-aware, got {moment!r}", field=name, value=str(moment))
    return utc(moment)


@frozen
class Period:
    """``[start, end)``: figures count what happened at or after ``start`` and before ``end``."""

    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        start, end = _aware(self.start, "start"), _aware(self.end, "end")
        if end <= start:
            raise InvalidInput(f"the period must end after it starts ({self.start} .. {self.end})", field="to",
                               value=str(self.end))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @classmethod
    def months_to(cls, end: datetime, zone: ZoneInfo, months: int = DEFAULT_MONTHS) -> Period:
        """``months`` local months up to ``end``: from the start of the month ``months - 1``
        months before the one that holds the instant just before ``end``."""
        local = (_aware(end, "end") - timedelta(microseconds=1)).astimezone(zone)
        year, month = local.year, local.month - (months - 1)
        while month < 1:
            year, month = year - 1, month + 12
        return cls(datetime.combine(local.date().replace(year=year, month=month, day=1), time.min, tzinfo=zone), end)

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def parse_moment(text: str, zone: ZoneInfo, name: str) -> datetime:
    """``2026-03-01`` (that day's start on the shop's clock), ``2026-03-01T12:00`` (shop time)
    or an instant with an offset."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date or datetime like 2026-03-01 or 2026-03-01T12:00Z, got {text!r}",
                           field=name, value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def period_between(start: str | None, end: str | None, now: datetime, zone: ZoneInfo) -> Period:
    """The period named by the texts ``start`` and ``end`` (see :func:`parse_moment`); without
    ``end`` it ends ``now``, without ``start`` it covers the twelve local months up to its end."""
    until = parse_moment(end, zone, "to") if end else now
    begin = parse_moment(start, zone, "from") if start else Period.months_to(until, zone).start
    return Period(begin, until)


def month_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """The instant the local month holding ``moment`` began, in UTC."""
    local = moment.astimezone(zone)
    return utc(datetime.combine(local.date().replace(day=1), time.min, tzinfo=zone))


def next_month(start: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local month after the one starting at ``start``, in UTC."""
    local = start.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return utc(datetime.combine(local.date().replace(year=year, month=month, day=1), time.min, tzinfo=zone))


def month_starts(period: Period, zone: ZoneInfo) -> list[datetime]:
    """The start of every local month that overlaps the period, the first one at or before
    ``period.start``."""
    starts = [month_start(period.start, zone)]
    while (following := next_month(starts[-1], zone)) < period.end:
        starts.append(following)
    return starts


def month_label(start: datetime, zone: ZoneInfo) -> str:
    """``2026-03``: the local month that begins at ``start``."""
    return start.astimezone(zone).strftime("%Y-%m")


__all__ = ["DEFAULT_MONTHS", "Period", "month_label", "month_start", "month_starts", "next_month", "parse_moment",
           "period_between"]
