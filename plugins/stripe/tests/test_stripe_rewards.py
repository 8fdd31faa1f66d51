"""Rewards on Stripe through a local stand-in of the Stripe API (localstripe has no promotion
codes or balance transactions): a customer-restricted single-use promotion code, or a credit
on the customer's balance; retries keep their idempotency key; a final failure gives the points
back."""

from __future__ import annotations

import pytest
from loyalty_stripe import rewards
from sqlalchemy import update

from loyalty_sdk.core.storage import shops


@pytest.fixture
def shop(runtime, send, process):
    """A Stripe shop whose customer cus_1 has 100 points."""
    import stripe_events as stripe_event

    runtime.add_shop("acme", "stripe")
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=10000)),
         path="/webhooks/stripe/acme")
    process()
    return runtime.loyalty("acme")


def test_a_reward_is_a_customer_restricted_single_use_promotion_code(shop, api):
    result = shop.redeem("cus_1", "5-off", idempotency_key="r1")
    [(coupon_path, coupon, coupon_key), (code_path, code, code_key)] = api.calls
    assert coupon_path == "/v1/coupons" and coupon["amount_off"] == ["500"] and coupon["currency"] == ["usd"]
    assert coupon["duration"] == ["once"] and coupon["max_redemptions"] == ["1"]
    assert code_path == "/v1/promotion_codes"
    assert code["promotion[type]"] == ["coupon"] and code["promotion[coupon]"] == ["co_1"]
    assert code["customer"] == ["cus_1"] and result.code == code["code"][0]
    assert coupon_key and code_key and coupon_key != code_key
    assert shop.balance("cus_1").available == 50


def test_a_shop_can_credit_the_customer_balance_instead(shop, api, runtime):
    with runtime.db.begin() as conn:
        conn.execute(update(shops).where(shops.c.id == "acme").values(settings={"reward_as": "balance"}))
    result = shop.redeem("cus_1", "5-off", idempotency_key="r1")
    [(path, form, _)] = api.calls
    assert path == "/v1/customers/cus_1/balance_transactions"
    assert form["amount"] == ["-500"] and form["currency"] == ["usd"]
    assert result.code == "credit:cbtxn_1"


def test_a_failure_is_tried_again_under_the_same_idempotency_key(shop, api):
    api.failures = 1
    assert shop.redeem("cus_1", "5-off", idempotency_key="r1").status == "issued"
    coupon_keys = [key for path, _, key in api.calls if path == "/v1/coupons"]
    assert len(coupon_keys) == 2 and len(set(coupon_keys)) == 1


def test_when_stripe_never_issues_the_points_come_back(shop, api):
    api.failures = 10
    with pytest.raises(rewards.RewardNotIssued):
        shop.redeem("cus_1", "5-off", idempotency_key="r1")
    assert shop.balance("cus_1").available == 100
    assert "could not be issued" in shop.history("cus_1")[0].reason
    assert shop.doctor()["ok"]
