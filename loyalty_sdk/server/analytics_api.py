"""``GET /api/v1/analytics/...``: the figures of ``loyalty report`` as JSON, for the key's shop.

Each endpoint takes an optional period, ``from`` and ``to`` (ISO 8601 instants with an offset,
or dates, read on the program's clock; default: the current month so far and the eleven
before it), and answers the matching :mod:`loyalty_sdk.analytics` value's ``as_dict()``: points
as integers, money as ``{"amount": "5.00", "currency": "USD"}``, rates as decimal strings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from loyalty_sdk import analytics
from loyalty_sdk.analytics.period import period_between
from loyalty_sdk.analytics.scope import scope_of
from loyalty_sdk.server.api_models import problem_answers
from loyalty_sdk.server.auth import ReadAccess

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=problem_answers())

Moment = Annotated[str | None, Query(min_length=10, max_length=40, description="ISO 8601 date or instant.")]


class AnalyticsQuery:
    """The key's shop as analytics reads it, and the period asked for."""

    def __init__(self, request: Request, access: ReadAccess, start: Annotated[Moment, Query(alias="from")] = None,
                 end: Annotated[Moment, Query(alias="to")] = None) -> None:
        self.scope = scope_of(request.app.state.runtime.loyalty(access.shop_id))
        self.period = period_between(start, end, self.scope.now, self.scope.zone)


Asked = Annotated[AnalyticsQuery, Depends()]


@router.get("/summary")
def summary(asked: Asked) -> dict[str, Any]:
    """Members, activity, churn, members against non-members, points flows, liability, CLV."""
    return analytics.summary(asked.scope, asked.period).as_dict()


@router.get("/cohorts")
def cohorts(asked: Asked) -> dict[str, Any]:
    """Retention by monthly enrollment cohort (a triangle)."""
    return analytics.cohorts(asked.scope, asked.period).as_dict()


@router.get("/liability")
def liability(asked: Asked) -> dict[str, Any]:
    """Points outstanding and their worth at the period's start, each month end, and its end."""
    return analytics.liability_over_time(asked.scope, asked.period).as_dict()


@router.get("/tiers")
def tiers(asked: Asked) -> dict[str, Any]:
    """Members per tier at the period's end and tier movements during it."""
    return analytics.tier_distribution(asked.scope, asked.period).as_dict()


@router.get("/rules")
def rules(asked: Asked, limit: Annotated[int | None, Query(ge=1, le=1000)] = None) -> dict[str, Any]:
    """Points awarded per rule during the period, most first."""
    return analytics.top_rules(asked.scope, asked.period, limit).as_dict()


@router.get("/campaigns")
def campaigns(asked: Asked) -> dict[str, Any]:
    """Each campaign's bonus points and lift against its members' own baseline."""
    return analytics.campaign_lift(asked.scope, asked.period).as_dict()


@router.get("/referrals")
def referrals(asked: Asked) -> dict[str, Any]:
    """Friends referred in the period: codes used, conversion, rewards, refusals, cost, revenue."""
    return analytics.referral_figures(asked.scope, asked.period).as_dict()


@router.get("/report")
def report(asked: Asked) -> dict[str, Any]:
    """Everything above in one answer (what ``loyalty report --json`` prints)."""
    return analytics.report(asked.scope, asked.period).as_dict()


__all__ = ["router"]
