"""Referral rewards and the fraud checks every referral passes (programs with ``[referrals]``).

The friend's reward (activity ``referral_welcome``) and the referrer's (``referral``) are
ordinary activity awards, so adjusters (tier multipliers, caps of your own) see them too. The
checks follow what the leading referral programs refuse: a member referring themselves, the
referrer's own email under another spelling, a friend who had already bought, a friend paying
with the referrer's card or shipping to the referrer's address, and referrers over their cap.
Add your own with a ``loyalty_refuse_referral`` implementation of yours.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Activity, ActivityHistory, Award, Member, ReferralCheck
from loyalty_sdk.core.program import REFERRAL_KINDS, Program
from loyalty_sdk.plugins.earning import points_label

# Providers that ignore dots in the local part (so j.doe@ and jdoe@ are one mailbox).
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


@hookimpl
def loyalty_activity_awards(
    activity: Activity, member: Member, program: Program, history: ActivityHistory
) -> Sequence[Award]:
    """The referral section's points for the two referral kinds; nothing for any other."""
    referrals = program.referrals
    if referrals is None or activity.kind not in REFERRAL_KINDS:
        return []
    if activity.kind == "referral":
        points, what, rule = referrals.referrer_points, "referring a friend", "referral.referrer"
    else:
        points, what, rule = referrals.referee_points, "joining through a friend", "referral.referee"
    if points <= 0:
        return []
    return [Award(points, f"{points_label(points)} for {what}", rule)]


def mailbox(email: str | None) -> str | None:
    """The mailbox an address delivers to: case, ``+tags`` and (where the provider ignores
    them) dots in the local part do not make a different person."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


@hookimpl
def loyalty_refuse_referral(check: ReferralCheck, program: Program) -> str | None:
    """The built-in checks, in the order a merchant would ask them."""
    referrer, referee = check.referrer, check.referee
    if referee.id == referrer.id:
        return "a member cannot refer themselves"
    if mailbox(referee.email) is not None and mailbox(referee.email) == mailbox(referrer.email):
        return "the friend's email is the referrer's own"
    if check.referee_orders:
        return "the friend had already ordered before the referral"
    shared = check.referrer_traits & check.referee_traits
    if any(digest.startswith("p") for digest in shared):
        return "the friend paid with the referrer's payment method"
    if any(digest.startswith("a") for digest in shared):
        return "the friend's order went to the referrer's address"
    cap = program.referrals.max_rewards if program.referrals is not None else None
    if cap is not None and check.rewarded >= cap:
        return f"the referrer reached the cap of {cap} rewarded referrals"
    return None
