"""Points in and out of the books over a period, and what the outstanding points are worth.

Every figure sums ledger entries by account, over the transactions dated (``event_at``) in the
window: the program accounts' entries carry the opposite sign of the member side, so they are
turned into positives here. Nothing is read row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from attrs import frozen
from sqlalchemy import case, func, select

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period, month_starts
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import MEMBER_ACCOUNTS, entries, transactions

# Program accounts are credited (negative) when points go out to members.
_SIGN = {"issued": -1, "adjusted": -1, "redeemed": 1, "expired": 1, "clawed_back": 1}


@frozen
class PointsFlow(Figures):
    """Points issued, redeemed, expired, clawed back and adjusted (net, given minus taken)
    during the period, and the same up to its end (``*_to_date``)."""

    period: Period
    issued: int
    redeemed: int
    expired: int
    clawed_back: int
    adjusted: int
    redemption_rate: Decimal | None
    issued_to_date: int
    redeemed_to_date: int
    expired_to_date: int
    breakage: Decimal | None


def _by_account(scope: Scope, start: datetime, end: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Per account: the entries dated in ``[start, end)``, and all those dated before ``end``."""
    e, t = entries.c, transactions.c
    query = (
        select(e.account, func.sum(case((t.event_at >= start, e.amount), else_=0)), func.sum(e.amount))
        .select_from(entries.join(transactions, t.id == e.transaction_id))
        .where(e.shop_id == scope.shop_id, t.shop_id == scope.shop_id, t.event_at < end)
        .group_by(e.account)
    )
    within: dict[str, int] = {}
    before: dict[str, int] = {}
    with scope.read() as conn:
        for account, in_period, total in conn.execute(query):
            within[account], before[account] = int(in_period or 0), int(total or 0)
    return within, before


def points_flow(source: object, period: Period | None = None) -> PointsFlow:
    """Points flows of ``period``, its redemption rate, and the breakage up to its end."""
    scope = scope_of(source)
    period = scope.period(period)
    within, before = _by_account(scope, period.start, period.end)
    flow = {account: sign * within.get(account, 0) for account, sign in _SIGN.items()}
    to_date = {account: sign * before.get(account, 0) for account, sign in _SIGN.items()}
    return PointsFlow(
        period=period, **flow, redemption_rate=rate(flow["redeemed"], flow["issued"]),
        issued_to_date=to_date["issued"], redeemed_to_date=to_date["redeemed"], expired_to_date=to_date["expired"],
        breakage=rate(to_date["expired"], to_date["expired"] + to_date["redeemed"]),
    )


@frozen
class Liability(Figures):
    """Points members hold at an instant (available and pending), and their worth at the
    program's point value."""

    at: datetime
    available: int
    pending: int
    outstanding: int
    value: Money


@frozen
class LiabilitySeries(Figures):
    """The liability at the period's start, at every local month end inside it, and at its end."""

    period: Period
    points: tuple[Liability, ...]


def _liabilities(scope: Scope, instants: Sequence[datetime]) -> list[Liability]:
    e, t = entries.c, transactions.c
    columns = [func.sum(case((t.event_at < at, e.amount), else_=0)) for at in instants]
    query = (
        select(e.account, *columns)
        .select_from(entries.join(transactions, t.id == e.transaction_id))
        .where(e.shop_id == scope.shop_id, t.shop_id == scope.shop_id, e.account.in_(MEMBER_ACCOUNTS),
               t.event_at < max(instants))
        .group_by(e.account)
    )
    held = {account: [0] * len(instants) for account in MEMBER_ACCOUNTS}
    with scope.read() as conn:
        for account, *sums in conn.execute(query):
            held[account] = [int(s or 0) for s in sums]
    return [
        Liability(at, available, pending, available + pending, scope.worth(available + pending))
        for at, available, pending in zip(instants, held["available"], held["pending"], strict=True)
    ]


def liability(source: object, at: datetime | None = None) -> Liability:
    """The points outstanding at ``at`` (default: now) and what they are worth."""
    scope = scope_of(source)
    if at is not None and at.tzinfo is None:
        raise InvalidInput(f"at must be timezone-aware, got {at!r}", field="at", value=str(at))
    return _liabilities(scope, [at or scope.now])[0]


def liability_over_time(source: object, period: Period | None = None) -> LiabilitySeries:
    """The liability at ``period.start``, at each local month end inside the period, and at
    ``period.end``."""
    scope = scope_of(source)
    period = scope.period(period)
    instants = [period.start, *(s for s in month_starts(period, scope.zone) if s > period.start), period.end]
    return LiabilitySeries(period, tuple(_liabilities(scope, instants)))


__all__ = ["Liability", "LiabilitySeries", "PointsFlow", "liability", "liability_over_time", "points_flow"]
