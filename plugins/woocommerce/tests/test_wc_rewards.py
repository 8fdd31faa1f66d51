"""Rewards come back as WooCommerce coupons, made through REST v3 by the real client against
the fake store: single use, for the member's email, dated; tried again when refused; the
points given back when the store never makes one; recorded as used when an order brings it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import wc_payloads as wc
from loyalty_woocommerce import rewards
from sqlalchemy import select
from wc_harness import SHOP

from loyalty_sdk.core.models import Member, Redemption, Reward
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import redemptions

CUSTOMER = str(wc.CUSTOMER_ID)


@pytest.fixture
def member_with_points(runtime, deliver, process):
    """The member earned 1,400 points on one order."""
    deliver("order.updated", wc.order(lines=[wc.line(1, 93, 1, "1400.00", "1400.00")], coupons=()))
    process()
    return runtime.loyalty(SHOP)


def test_redeeming_creates_a_single_use_coupon_for_the_member(member_with_points, store):
    result = member_with_points.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    [coupon] = store.coupons
    assert result.status == "issued" and result.code == coupon["code"] and result.code.startswith("loyal-")
    assert (coupon["discount_type"], coupon["amount"]) == ("fixed_cart", "5.00")
    assert coupon["email_restrictions"] == [wc.EMAIL] and coupon["usage_limit"] == 1
    expires = datetime.fromisoformat(coupon["date_expires_gmt"]).replace(tzinfo=UTC)
    assert abs(expires - datetime.now(UTC) - timedelta(days=90)) < timedelta(hours=1)
    assert member_with_points.balance(CUSTOMER).available == 900


def test_a_refused_coupon_is_tried_again_with_a_new_code(member_with_points, store):
    store.fail("POST", "coupons", 400)
    store.fail("POST", "coupons", 502)
    result = member_with_points.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    codes = [query for method, route, query in store.requests if (method, route) == ("POST", "coupons")]
    assert len(codes) == 3 and [c["code"] for c in store.coupons] == [result.code]


def test_when_the_store_never_makes_the_coupon_the_points_come_back_and_say_why(member_with_points, store, runtime):
    for _ in range(3):
        store.fail("POST", "coupons", 500)
    with pytest.raises(rewards.RewardNotIssued, match="HTTP 500"):
        member_with_points.redeem(CUSTOMER, "5-off", idempotency_key="r1")
    assert member_with_points.balance(CUSTOMER).available == 1400
    [reversal, redeem, *_] = member_with_points.history(CUSTOMER)
    assert reversal.points == 500 and "could not be issued" in reversal.reason and redeem.points == -500
    with runtime.db.connect() as conn:
        assert conn.execute(select(redemptions.c.status)).scalar_one() == "failed"
    assert member_with_points.doctor()["ok"]


def test_a_coupon_used_on_a_later_order_is_recorded_as_used(member_with_points, deliver, process, runtime):
    code = member_with_points.redeem(CUSTOMER, "5-off", idempotency_key="r1").code
    deliver("order.updated", wc.order(order_id=790, coupons=(code,), modified="2026-03-07T10:00:00"))
    process()
    with runtime.db.connect() as conn:
        row = conn.execute(select(redemptions.c.status, redemptions.c.used_order_id)).one()
    assert tuple(row) == ("used", "790")


def test_percent_free_shipping_and_free_product_coupons_take_their_own_shapes():
    member = Member(1, SHOP, CUSTOMER, "ada@example.com", None, datetime.fromisoformat("2026-03-01T00:00:00+00:00"))
    now = datetime.fromisoformat("2026-03-06T12:00:00+00:00")
    percent = Redemption(1, 1, Reward("10-pct", "10% off", "percent_off", 800, value=Decimal("10")), 800, None)
    body = rewards.coupon_body(percent, member, "loyal-a", now)
    assert (body["discount_type"], body["amount"]) == ("percent", "10")
    assert body["date_expires_gmt"] == "2026-06-04T12:00:00"
    shipping = Redemption(2, 1, Reward("ship", "Free shipping", "free_shipping", 300), 300, None)
    body = rewards.coupon_body(shipping, member, "loyal-b", now)
    assert body["free_shipping"] is True and body["amount"] == "0"
    mug = Reward("mug", "A free mug", "free_product", 300, value=Decimal("12.00"), product_id="93")
    body = rewards.coupon_body(Redemption(3, 1, mug, 300, Money("12.00", "USD")), member, "loyal-c", now)
    assert (body["discount_type"], body["product_ids"], body["limit_usage_to_x_items"]) == ("fixed_product", [93], 1)


@pytest.mark.parametrize("value", ["30", 1.5, 0, True])
def test_a_count_setting_that_is_not_a_whole_number_is_refused_by_name(value):
    from loyalty_woocommerce.connection import whole_setting

    from loyalty_sdk.core.errors import InvalidInput
    from loyalty_sdk.server.platforms import ShopRecord

    shop = ShopRecord("https://shop.example/", "woocommerce", "USD", "UTC", {"coupon_days": value})
    with pytest.raises(InvalidInput, match="coupon_days"):
        whole_setting(shop, "coupon_days", 90)
    assert whole_setting(ShopRecord("s", "woocommerce", "USD", "UTC", {"coupon_days": 30}), "coupon_days", 90) == 30
    assert whole_setting(ShopRecord("s", "woocommerce", "USD", "UTC", {}), "coupon_days", 90) == 90
