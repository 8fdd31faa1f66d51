"""Rewards come back as WooCommerce coupons, made through REST v3 when a member of a
WooCommerce shop redeems.

Each coupon is single use (``usage_limit`` 1), restricted to the member's email
(``email_restrictions``) and dated (``date_expires_gmt``, ``coupon_days`` after issue, 90 by
default: a shop setting). Amount off (fixed, or points as money) is ``fixed_cart``, percent off
``percent``, a free product its value off that product (``fixed_product``, one item), free
shipping a ``free_shipping`` coupon of no amount. Failures are tried again with backoff (a
fresh code each time, so a taken code cannot block); when the store never makes the coupon,
the error propagates and the SDK gives the points back with a compensating transaction.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_sdk import hookimpl
from loyalty_sdk.core.errors import RedemptionRefused
from loyalty_sdk.core.models import Member, Redemption
from loyalty_sdk.core.retry import backoff
from loyalty_woocommerce import wc_api
from loyalty_woocommerce.connection import PLATFORM, credentials, whole_setting

log = logging.getLogger("loyalty_woocommerce")
ATTEMPTS = 3
COUPON_DAYS = 90
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # WooCommerce keeps codes lower case; no 0/o or 1/l/i


class RewardNotIssued(Exception):
    """WooCommerce did not create the coupon; the redemption is reversed."""


def new_code() -> str:
    return "loyal-" + "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(2))


def coupon_body(redemption: Redemption, member: Member, code: str, now: datetime,
                days: int = COUPON_DAYS) -> dict[str, Any]:
    """The ``POST /coupons`` body for ``redemption``."""
    reward = redemption.reward
    body: dict[str, Any] = {
        "code": code,
        "description": f"Loyalty reward: {reward.name} ({redemption.points} points)",
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "individual_use": False,
        "date_expires_gmt": (now.astimezone(UTC) + timedelta(days=days)).replace(tzinfo=None)
        .isoformat(timespec="seconds"),
        "meta_data": [{"key": "_loyalty_redemption_id", "value": str(redemption.id)}],
    }
    if member.email:
        body["email_restrictions"] = [member.email]
    if reward.kind == "free_shipping":
        return {**body, "discount_type": "fixed_cart", "amount": "0", "free_shipping": True}
    if reward.kind == "percent_off":
        if reward.value is None:
            raise RedemptionRefused(f"reward {reward.id!r} has no percentage", field="value", value=None)
        return {**body, "discount_type": "percent", "amount": format(reward.value, "f")}
    if redemption.value is None:
        raise RedemptionRefused(f"reward {reward.id!r} ({reward.kind}) has no value to issue as a WooCommerce "
                                "coupon", field="kind", value=reward.kind)
    amount = format(redemption.value.amount, "f")
    if reward.kind == "free_product":
        if not reward.product_id:
            raise RedemptionRefused(f"reward {reward.id!r} names no product_id", field="product_id", value=None)
        return {**body, "discount_type": "fixed_product", "amount": amount, "product_ids": [int(reward.product_id)],
                "limit_usage_to_x_items": 1}
    return {**body, "discount_type": "fixed_cart", "amount": amount}


def issue(shop: Any, redemption: Redemption, member: Member, *, attempts: int = ATTEMPTS, pause: float = 0.5) -> str:
    """Create the coupon in the store, trying again on refusals and outages; its code."""
    keys = credentials(shop)
    if not keys.has_rest:
        raise RewardNotIssued(f"no REST API keys for {shop.id}: loyalty woocommerce connect")
    api = wc_api.client(keys)
    days = whole_setting(shop, "coupon_days", COUPON_DAYS)
    why = ""
    for attempt in range(1, attempts + 1):
        code = new_code()
        try:
            created = wc_api.create_coupon(api, coupon_body(redemption, member, code, datetime.now(UTC), days))
            return str(created.get("code") or code)
        except wc_api.WooCommerceError as error:
            why = str(error)
        log.warning("WooCommerce refused reward %s for %s (try %d of %d): %s", redemption.id, shop.id, attempt,
                    attempts, why)
        if attempt < attempts:
            time.sleep(backoff(attempt, pause, 5.0).total_seconds())
    raise RewardNotIssued(f"WooCommerce did not create the coupon: {why}")


@hookimpl(tryfirst=True)
def loyalty_issue_reward(redemption: Redemption, member: Member, shop: Any) -> str | None:
    """A WooCommerce coupon for members of WooCommerce shops; other shops are left to others."""
    if shop is None or shop.platform != PLATFORM:
        return None
    return issue(shop, redemption, member)


__all__ = ["RewardNotIssued", "coupon_body", "issue", "loyalty_issue_reward", "new_code"]
