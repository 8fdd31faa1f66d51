"""Rewards come back as Shopify discount codes: single use, for that customer, made through the
Admin GraphQL API when a member of a Shopify shop redeems.

Amount off (fixed, or points as money), percent off and a free product (its value off that
product only) are ``discountCodeBasicCreate``; free shipping is
``discountCodeFreeShippingCreate``. The customer restriction is ``context`` from
API version 2025-10 and ``customerSelection`` before it. ``userErrors`` and transport failures
are tried again with backoff; when issuing finally fails, the error propagates and the SDK
gives the points back with a compensating transaction, saying why.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from loyalty_sdk import hookimpl
from loyalty_sdk.core.errors import RedemptionRefused
from loyalty_sdk.core.models import Member, Redemption
from loyalty_sdk.core.retry import backoff
from loyalty_shopify import shopify_api
from loyalty_shopify.install import shop_token

log = logging.getLogger("loyalty_shopify")
ATTEMPTS = 3
CONTEXT_SINCE = "2025-10"
"""From this version a discount names its customers in ``context``; before, ``customerSelection``."""
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud at tills

BASIC = """
mutation issue($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""
FREE_SHIPPING = """
mutation issue($discount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""


FIND_BY_CODE = "query find($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"
DEACTIVATE = """
mutation deactivate($id: ID!) {
  discountCodeDeactivate(id: $id) { userErrors { field message } }
}
"""


class RewardNotIssued(Exception):
    """Shopify did not create the code; the redemption is reversed."""


def new_code() -> str:
    return "LOYAL-" + "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(2))


def discount_input(redemption: Redemption, member: Member, code: str, version: str) -> tuple[str, str, dict[str, Any]]:
    """The mutation, its payload field and its input for ``redemption``."""
    reward = redemption.reward
    customers = ({"customers": {"add": [f"gid://shopify/Customer/{member.customer_id}"]}} if member.customer_id
                 else None)
    common: dict[str, Any] = {
        "title": f"Loyalty reward: {reward.name} ({redemption.points} points)",
        "code": code,
        "startsAt": datetime.now(UTC).isoformat(),
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
    }
    if version >= CONTEXT_SINCE:
        common["context"] = customers or {"all": "ALL"}
    else:
        common["customerSelection"] = customers or {"all": True}
    if reward.kind == "free_shipping":
        return FREE_SHIPPING, "discountCodeFreeShippingCreate", {**common, "destination": {"all": True}}
    if reward.kind == "percent_off":
        if reward.value is None:
            raise RedemptionRefused(f"reward {reward.id!r} has no percentage", field="value", value=None)
        # A fraction of 1 (GraphQL Float), kept exact: the client writes Decimals as numbers.
        value: dict[str, Any] = {"percentage": Decimal(reward.value) / 100}
    elif redemption.value is not None:
        value = {"discountAmount": {"amount": str(redemption.value.amount), "appliesOnEachItem": False}}
    else:
        raise RedemptionRefused(f"reward {reward.id!r} ({reward.kind}) has no value to issue as a Shopify discount",
                                field="kind", value=reward.kind)
    items: dict[str, Any] = {"all": True}
    if reward.kind == "free_product":
        if not reward.product_id:
            raise RedemptionRefused(f"reward {reward.id!r} names no product_id", field="product_id", value=None)
        # One unit's worth off that product only (its value), whatever else is in the cart.
        items = {"products": {"productsToAdd": [f"gid://shopify/Product/{reward.product_id}"]}}
    return BASIC, "discountCodeBasicCreate", {**common, "customerGets": {"value": value, "items": items}}


def issue(shop: str, token: str, redemption: Redemption, member: Member, *, attempts: int = ATTEMPTS,
          pause: float = 0.5) -> str:
    """Create the code in Shopify, trying again on user errors and outages; the code."""
    version = shopify_api.api_version()
    why = ""
    for attempt in range(1, attempts + 1):
        code = new_code()  # a fresh code each try: a taken one is a user error
        mutation, field, discount = discount_input(redemption, member, code, version)
        try:
            created = shopify_api.graphql(shop, token, mutation, {"discount": discount})[field]
        except shopify_api.ShopifyError as error:
            why = str(error)
        else:
            if not created["userErrors"]:
                return code
            why = "; ".join(e.get("message", "") for e in created["userErrors"])
        log.warning("Shopify refused reward %s for %s (try %d of %d): %s", redemption.id, shop, attempt, attempts, why)
        if attempt < attempts:
            time.sleep(backoff(attempt, pause, 5.0).total_seconds())
    raise RewardNotIssued(f"Shopify did not create the discount code: {why}")


def deactivate(shop: str, token: str, codes: list[str]) -> int:
    """Switch the codes off in Shopify (a redacted customer's unused rewards); how many were."""
    done = 0
    for code in codes:
        node = shopify_api.graphql(shop, token, FIND_BY_CODE, {"code": code}).get("codeDiscountNodeByCode")
        if not node:
            continue  # never made, or already deleted by the merchant
        answer = shopify_api.graphql(shop, token, DEACTIVATE, {"id": node["id"]})["discountCodeDeactivate"]
        if answer["userErrors"]:
            raise shopify_api.ShopifyError(f"{shop} refused to deactivate {code}: {answer['userErrors']}")
        done += 1
    return done


@hookimpl(tryfirst=True)
def loyalty_issue_reward(redemption: Redemption, member: Member, shop: Any) -> str | None:
    """A Shopify discount code for members of Shopify shops; other shops are left to others."""
    if shop is None or shop.platform != "shopify":
        return None
    token = shop_token(shop)
    if token is None:
        raise RewardNotIssued(f"shop {shop.id} has no Shopify token (install the app, and set LOYALTY_SECRET_KEY)")
    return issue(shop.id, token, redemption, member)


__all__ = ["RewardNotIssued", "deactivate", "discount_input", "issue", "loyalty_issue_reward", "new_code"]
