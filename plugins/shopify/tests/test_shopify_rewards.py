"""Rewards come back as Shopify discount codes: made through the Admin GraphQL API (a local
stand-in here), shaped per API version, tried again on user errors, reversed when Shopify
never makes them, and recorded as used when they come back on an order."""

from __future__ import annotations

from decimal import Decimal

import pytest
import shopify_payloads as shopify
from loyalty_shopify import oauth, rewards
from shopify_harness import SECRET_KEY, SHOP
from sqlalchemy import select, update

from loyalty_sdk.core.errors import LoyaltyError
from loyalty_sdk.core.storage import redemptions, shops

CUSTOMER = str(shopify.CUSTOMER_ID)
FOUR_HUNDRED = [shopify.line(1, "400.00")]


@pytest.fixture
def installed(runtime, admin, deliver, process, monkeypatch):
    """The shop holds a sealed token (as after an install); its member has 1,400 points."""
    monkeypatch.setattr(rewards.time, "sleep", lambda seconds: None)  # backoff without waiting
    with runtime.db.begin() as conn:
        conn.execute(update(shops).where(shops.c.id == SHOP).values(
            settings={"access_token": oauth.seal("shpat_token", SECRET_KEY)}))
    runtime.forget(SHOP)
    deliver("orders/paid", shopify.order(lines=[shopify.line(1, "1400.00")]))
    process()
    return runtime.loyalty(SHOP)


def mutations(admin):
    return [body for path, body in admin.calls if "discountCode" in body.get("query", "")]


def test_redeeming_creates_a_single_use_code_for_that_customer(installed, admin):
    result = installed.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    [call] = mutations(admin)
    discount = call["variables"]["discount"]
    assert result.status == "issued" and result.code == discount["code"] and result.code.startswith("LOYAL-")
    assert "discountCodeBasicCreate" in call["query"] and call["token"] == "shpat_token"
    assert discount["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER}"]}}
    assert discount["customerGets"]["value"] == {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}}
    assert (discount["usageLimit"], discount["appliesOncePerCustomer"]) == (1, True)
    assert installed.balance(CUSTOMER).available == 900


def test_older_api_versions_name_the_customer_in_customer_selection(installed, admin, monkeypatch):
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_VERSION", "2024-10")
    installed.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    discount = mutations(admin)[0]["variables"]["discount"]
    assert "context" not in discount
    assert discount["customerSelection"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER}"]}}


def test_user_errors_are_tried_again_with_a_new_code(installed, admin):
    admin.refusals = ["Code must be unique", "Code must be unique"]
    result = installed.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    sent = [call["variables"]["discount"]["code"] for call in mutations(admin)]
    assert len(sent) == 3 and len(set(sent)) == 3
    assert result.code == sent[-1] and result.status == "issued"


def test_when_shopify_never_makes_the_code_the_points_come_back_and_say_why(installed, admin, runtime):
    admin.refusals = ["Something went wrong"] * 3
    with pytest.raises(rewards.RewardNotIssued, match="Something went wrong"):
        installed.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    assert installed.balance(CUSTOMER).available == 1400
    [reversal, redeem, *_] = installed.history(CUSTOMER)
    assert reversal.points == 500 and "could not be issued" in reversal.reason and "went wrong" in reversal.reason
    assert redeem.points == -500
    with runtime.db.connect() as conn:
        assert conn.execute(select(redemptions.c.status)).scalar_one() == "failed"
    assert installed.doctor()["ok"]


def test_an_outage_fails_the_redemption_through_the_api_with_502(installed, admin, client, runtime):
    from loyalty_sdk.server import auth

    key, _ = auth.create_key(runtime.db, SHOP, "write")
    admin.down = True
    answer = client.post(f"/api/v1/members/{installed.member(CUSTOMER).id}/redemptions",
                         json={"reward_id": "5-off"}, headers={"authorization": f"Bearer {key}", "idempotency-key": "r1"})
    assert answer.status_code == 502 and answer.json()["error"] == "reward_not_issued"
    assert installed.balance(CUSTOMER).available == 1400


def test_a_code_used_on_a_later_order_is_recorded_as_used(installed, admin, deliver, process, runtime):
    code = installed.redeem(CUSTOMER, "5-off", idempotency_key="r1").code
    order = shopify.order(order_id=777, lines=FOUR_HUNDRED)
    order["discount_codes"] = [{"code": code.lower(), "amount": "5.00", "type": "fixed_amount"}]
    deliver("orders/paid", order)
    process()
    with runtime.db.connect() as conn:
        row = conn.execute(select(redemptions.c.status, redemptions.c.used_order_id)).one()
    assert tuple(row) == ("used", "777")


def test_a_free_product_is_its_value_off_that_product_only(installed, admin):
    from loyalty_sdk.core.models import Member, Redemption, Reward
    from loyalty_sdk.core.money import Money

    reward = Reward("mug", "A free mug", "free_product", 300, value=Decimal("12.00"), product_id="632910392")
    member = Member(1, SHOP, CUSTOMER, None, None, installed.member(CUSTOMER).enrolled_at)
    _, field, discount = rewards.discount_input(Redemption(1, 1, reward, 300, Money("12.00", "USD")), member,
                                                "LOYAL-X", "2025-10")
    assert discount["customerGets"] == {
        "value": {"discountAmount": {"amount": "12.00", "appliesOnEachItem": False}},
        "items": {"products": {"productsToAdd": ["gid://shopify/Product/632910392"]}}}
    nameless = Reward("mug", "A free mug", "free_product", 300, value=Decimal("12.00"))
    with pytest.raises(LoyaltyError, match="product_id"):
        rewards.discount_input(Redemption(1, 1, nameless, 300, Money("12.00", "USD")), member, "LOYAL-X", "2025-10")


def test_percent_and_free_shipping_rewards_take_their_own_shapes(installed, admin):
    from loyalty_sdk.core.models import Member, Redemption, Reward

    member = Member(1, SHOP, CUSTOMER, None, None, installed.member(CUSTOMER).enrolled_at)
    percent = Redemption(1, 1, Reward("10-pct", "10% off", "percent_off", 800, value=Decimal("10")), 800, None)
    _, field, discount = rewards.discount_input(percent, member, "LOYAL-A", "2025-10")
    assert field == "discountCodeBasicCreate" and discount["customerGets"]["value"] == {"percentage": Decimal("0.1")}
    shipping = Redemption(2, 1, Reward("ship", "Free shipping", "free_shipping", 300), 300, None)
    mutation, field, discount = rewards.discount_input(shipping, member, "LOYAL-B", "2025-10")
    assert field == "discountCodeFreeShippingCreate" and discount["destination"] == {"all": True}


def test_a_redacted_customers_unused_codes_are_voided_and_switched_off(installed, admin, deliver, process, runtime):
    used = installed.redeem(CUSTOMER, "5-off", idempotency_key="r1").code
    unused = installed.redeem(CUSTOMER, "5-off", idempotency_key="r2").code
    order = shopify.order(order_id=778, lines=FOUR_HUNDRED)
    order["discount_codes"] = [{"code": used, "amount": "5.00", "type": "fixed_amount"}]
    deliver("orders/paid", order)
    deliver("customers/redact", shopify.privacy())
    process()
    with runtime.db.connect() as conn:
        statuses = dict(conn.execute(select(redemptions.c.code, redemptions.c.status)).all())
    assert statuses == {used: "used", unused: "void"}
    deactivated = [body["variables"]["id"] for path, body in admin.calls if "discountCodeDeactivate" in body["query"]]
    assert deactivated == [f"gid://shopify/DiscountCodeNode/{unused}"]


def test_decimals_reach_the_admin_api_as_exact_json_numbers():
    from loyalty_shopify.shopify_api import json_body

    body = json_body({"value": {"percentage": Decimal("0.1"), "share": Decimal("0.333333333333333333")}, "n": 1})
    assert body == b'{"value": {"percentage": 0.1, "share": 0.333333333333333333}, "n": 1}'
