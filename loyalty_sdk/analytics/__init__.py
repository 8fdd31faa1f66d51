"""Retention analytics over the ledger and the order records, computed in SQL.

Every function takes the shop's books (a ``Loyalty`` facade, its ``Books``, or a
:class:`Scope`) and a :class:`Period` (``[start, end)``; default: the current month so far and
the eleven before it), and returns a frozen value with ``as_dict()`` for JSON. Points are
ints, money :class:`~loyalty_sdk.core.money.Money`, rates ``Decimal`` (None when undefined).
Definitions: docs/analytics.md.

    from loyalty_sdk.analytics import Period, summary, cohorts
    figures = summary(loyalty, Period(start, end))
    figures.members.active_90, figures.purchases.members.average_order_value
"""

from loyalty_sdk.analytics.campaigns import CampaignLift, Campaigns, campaign_lift
from loyalty_sdk.analytics.cohorts import Cohort, Cohorts, cohorts
from loyalty_sdk.analytics.members import MemberFigures, member_figures
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.points import (
    Liability,
    LiabilitySeries,
    PointsFlow,
    liability,
    liability_over_time,
    points_flow,
)
from loyalty_sdk.analytics.purchases import BuyerGroup, Purchases, purchases
from loyalty_sdk.analytics.referrals import ReferralFigures, referral_figures
from loyalty_sdk.analytics.rules import RulePoints, RuleTotals, top_rules
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.analytics.summary import Report, Summary, report, summary
from loyalty_sdk.analytics.tiers import TierMovement, Tiers, tier_distribution

__all__ = [
    "BuyerGroup",
    "CampaignLift",
    "Campaigns",
    "Cohort",
    "Cohorts",
    "Liability",
    "LiabilitySeries",
    "MemberFigures",
    "Period",
    "PointsFlow",
    "Purchases",
    "ReferralFigures",
    "Report",
    "RulePoints",
    "RuleTotals",
    "Scope",
    "Summary",
    "TierMovement",
    "Tiers",
    "campaign_lift",
    "cohorts",
    "liability",
    "liability_over_time",
    "member_figures",
    "points_flow",
    "purchases",
    "referral_figures",
    "report",
    "scope_of",
    "summary",
    "tier_distribution",
    "top_rules",
]
