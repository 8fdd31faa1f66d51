"""Rewards on Stripe, chosen per shop (``loyalty shops set SHOP reward_as promotion_code|balance``):

- ``promotion_code`` (the default for Stripe shops): a single-use Coupon (amount or percent off,
  ``duration: once``) and a PromotionCode for it, restricted to the member's Stripe customer
  when they have one (stripe-python 16: ``promotion: {type: "coupon", coupon: ...}``). Codes
  apply in Checkout, Invoices and Subscriptions.
- ``balance``: a credit through a customer balance transaction (a negative amount), applied to
  the customer's next invoices; the member must be a Stripe customer.

Each call carries an idempotency key derived from the redemption, so the client's own retries
and ours never create two. Failures are tried again with backoff; when issuing finally fails
the error propagates and the SDK gives the points back with a compensating transaction.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import stripe

from loyalty_sdk import hookimpl
from loyalty_sdk.core.errors import RedemptionRefused
from loyalty_sdk.core.models import Member, Redemption
from loyalty_sdk.core.retry import backoff
from loyalty_stripe.amounts import exponent
from loyalty_stripe.client import configured

log = logging.getLogger("loyalty_stripe")
ATTEMPTS = 3
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class RewardNotIssued(Exception):
    """Stripe did not create the reward; the redemption is reversed."""


def client(shop: Any = None) -> stripe.StripeClient:
    api = configured(shop)
    if api is None:
        raise RewardNotIssued("no Stripe API key: set LOYALTY_STRIPE_API_KEY or loyalty stripe connect SHOP")
    return api


def minor(amount: Any, currency: str) -> int:
    return int((amount * (10 ** exponent(currency))).to_integral_value())


def _stripe_customer(member: Member) -> str | None:
    return member.customer_id if member.customer_id and member.customer_id.startswith("cus_") else None


def issue_promotion_code(api: stripe.StripeClient, redemption: Redemption, member: Member) -> str:
    reward = redemption.reward
    if reward.kind == "percent_off" and reward.value is not None:
        off: dict[str, Any] = {"percent_off": str(reward.value)}
    elif redemption.value is not None and reward.kind in ("fixed_amount", "points_as_money"):
        off = {"amount_off": minor(redemption.value.amount, redemption.value.currency),
               "currency": redemption.value.currency.lower()}
    else:
        raise RedemptionRefused(f"reward {reward.id!r} ({reward.kind}) cannot be a Stripe coupon", field="kind",
                                value=reward.kind)
    key = f"loyalty-redemption-{redemption.id}"
    coupon = api.v1.coupons.create(params={**off, "duration": "once", "max_redemptions": 1,
                                           "name": f"{reward.name} ({redemption.points} points)"[:40]},
                                   options={"idempotency_key": f"{key}-coupon"})
    code = "LOYAL" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    params: dict[str, Any] = {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code,
                              "max_redemptions": 1}
    customer = _stripe_customer(member)
    if customer:
        params["customer"] = customer
    promotion = api.v1.promotion_codes.create(params=params, options={"idempotency_key": f"{key}-code"})
    return str(promotion.code)


def issue_balance_credit(api: stripe.StripeClient, redemption: Redemption, member: Member) -> str:
    customer = _stripe_customer(member)
    if customer is None:
        raise RedemptionRefused("a balance credit needs the member's Stripe customer", field="customer",
                                value=member.customer_id)
    if redemption.value is None:
        raise RedemptionRefused(f"reward {redemption.reward.id!r} has no amount to credit", field="kind",
                                value=redemption.reward.kind)
    credit = api.v1.customers.balance_transactions.create(customer, params={
        "amount": -minor(redemption.value.amount, redemption.value.currency),
        "currency": redemption.value.currency.lower(),
        "description": f"Loyalty reward: {redemption.reward.name}"},
        options={"idempotency_key": f"loyalty-redemption-{redemption.id}-credit"})
    return f"credit:{credit.id}"


def issue(redemption: Redemption, member: Member, reward_as: str, *, shop: Any = None, attempts: int = ATTEMPTS,
          pause: float = 0.5) -> str:
    make = issue_balance_credit if reward_as == "balance" else issue_promotion_code
    api = client(shop)
    why = ""
    for attempt in range(1, attempts + 1):
        try:
            return make(api, redemption, member)
        except stripe.StripeError as error:
            why = str(error.user_message or error)
            log.warning("Stripe refused reward %s (try %d of %d): %s", redemption.id, attempt, attempts, why)
        if attempt < attempts:
            time.sleep(backoff(attempt, pause, 5.0).total_seconds())
    raise RewardNotIssued(f"Stripe did not create the reward: {why}")


@hookimpl(tryfirst=True)
def loyalty_issue_reward(redemption: Redemption, member: Member, shop: Any) -> str | None:
    """Stripe rewards for shops that take them (platform ``stripe``, or ``reward_as`` set)."""
    settings = (getattr(shop, "settings", None) or {}) if shop is not None else {}
    reward_as = settings.get("reward_as")
    if reward_as is None and getattr(shop, "platform", None) != "stripe":
        return None
    return issue(redemption, member, reward_as or "promotion_code", shop=shop)


__all__ = ["RewardNotIssued", "issue", "loyalty_issue_reward"]
