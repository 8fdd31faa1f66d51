"""Which outbox events become which member messages, and which of those are marketing.

==================  =============  ==================================================================
message kind        category       made from
==================  =============  ==================================================================
``points_earned``   marketing      ``points_posted`` of an order's (or an activity's) earn
``birthday_bonus``  marketing      ``points_posted`` of a ``birthday`` activity
``tier_up``         marketing      ``tier_changed`` to a higher tier (not the entry tier at enrolment)
``tier_down``       transactional  ``tier_changed`` to a lower tier (or none)
``reward_issued``   transactional  ``reward_issued``: the code the member asked for
``points_expiring`` transactional  ``points_expiring``: one message for all the lots one reminder
                                   run found for a member (a batch), not one per lot
==================  =============  ==================================================================

Transactional messages tell a member what they asked for or what changes their account
against them (their code, points about to go, a lower tier): every member with an address gets
them. Marketing messages invite them to buy or celebrate with them; a member gets those only
with marketing consent: ``members.marketing_consent`` is one of :data:`CONSENTED` (what
Shopify and most stores send for an opted-in customer). A member the store said nothing about
is not sent marketing unless the shop's ``assume_marketing_consent`` setting is true
(``loyalty shops set SHOP assume_marketing_consent true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loyalty_sdk.core.program import Program

TRANSACTIONAL = frozenset({"tier_down", "reward_issued", "points_expiring"})
MARKETING = frozenset({"points_earned", "birthday_bonus", "tier_up"})
KINDS = TRANSACTIONAL | MARKETING
SOURCES = ("points_posted", "tier_changed", "reward_issued", "points_expiring")
"""The outbox event kinds messages are made from."""
CONSENTED = frozenset({"subscribed", "opted_in", "opt_in", "granted", "yes", "true"})
EARNING = frozenset({"earn", "activity"})


def category(kind: str) -> str:
    return "transactional" if kind in TRANSACTIONAL else "marketing"


def may_market(consent: str | None, shop_settings: Mapping[str, Any]) -> bool:
    """Whether a member with this ``marketing_consent`` may be sent marketing messages."""
    if consent is None:
        return shop_settings.get("assume_marketing_consent") is True
    return consent.strip().lower() in CONSENTED


def message_kind(event_kind: str, payload: Mapping[str, Any], program: Program,
                 activity: str | None = None) -> str | None:
    """The message an outbox event makes, or None; ``activity`` is the activity kind of a
    ``points_posted`` event's transaction, when it has one."""
    if event_kind == "points_posted":
        if payload.get("kind") not in EARNING or int(payload.get("points") or 0) <= 0:
            return None
        return "birthday_bonus" if activity == "birthday" else "points_earned"
    if event_kind == "tier_changed":
        tiers = program.tiers
        before, after = tiers.rank(payload.get("from")), tiers.rank(payload.get("to"))
        if after > before:
            entry = tiers.level(payload.get("to"))
            # Enrolment puts a member in a tier at threshold 0: a welcome, not a promotion.
            if payload.get("from") is None and entry is not None and entry.threshold <= 0:
                return None
            return "tier_up"
        return "tier_down" if after < before else None
    if event_kind in ("reward_issued", "points_expiring"):
        return event_kind
    return None


def message_key(event_kind: str, dedup_key: str, member_id: int, created_at_iso: str) -> str:
    """What a message is sent once for: the event, or for expiry reminders the member's batch
    (every reminder one job run wrote for them carries the same ``created_at``)."""
    if event_kind == "points_expiring":
        return f"expiring:{member_id}:{created_at_iso}"
    return dedup_key


__all__ = ["CONSENTED", "KINDS", "MARKETING", "SOURCES", "TRANSACTIONAL", "category", "may_market", "message_key",
           "message_kind"]
