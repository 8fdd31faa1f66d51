"""Points for things members do besides buying: signing up, a birthday, a review, a follow.

Each ``[[activities]]`` entry of the program names a kind and the points it earns, optionally
limited per day, per calendar year and per lifetime (counted on the shop's calendar by the
caller, in ``history``). Once a limit is reached the activity earns nothing more. Any kind the
program names works, including your own (``kind = "newsletter"``); a kind the program does not
name earns nothing. A birthday needs no payload: the yearly limit (``per_year = 1``) is what
keeps it to one a year.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Activity, ActivityHistory, Award, Member
from loyalty_sdk.core.program import ActivityRule, Program
from loyalty_sdk.plugins.earning import points_label

WHAT = {
    "signup": "signing up",
    "birthday": "your birthday",
    "review": "a review",
    "social_follow": "following us",
    "referral": "a referral",
}


def limit_reached(rule: ActivityRule, history: ActivityHistory) -> bool:
    """Whether the member already earned for this kind as often as the rule allows."""
    return any(
        limit is not None and done >= limit
        for limit, done in (
            (rule.per_day, history.today),
            (rule.per_year, history.this_year),
            (rule.per_lifetime, history.lifetime),
        )
    )


@hookimpl(trylast=True)
def loyalty_activity_awards(
    activity: Activity, member: Member, program: Program, history: ActivityHistory
) -> Sequence[Award]:
    """One ``activity.<kind>`` award, or none for an unknown kind, a reached limit or 0 points."""
    rule = program.activity(activity.kind)
    if rule is None or rule.points == 0 or limit_reached(rule, history):
        return []
    what = WHAT.get(rule.kind, rule.kind.replace("_", " "))
    return [Award(rule.points, f"{points_label(rule.points)} for {what}", f"activity.{rule.kind}")]
