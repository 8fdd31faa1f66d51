"""Shopify orders earn, refunds and cancellations take back, customers become members: from
payloads written to Shopify's schemas, through the inbox and a worker, into the books.

The program (``shopify_harness.PROGRAM``) earns 1 point per whole unit of the order's currency,
rounded down once per order, available at once. Expected figures are worked out in comments.
"""

from __future__ import annotations

import shopify_payloads as shopify
from shopify_harness import SHOP, points
from sqlalchemy import update

from loyalty_sdk.core.storage import shops

CUSTOMER = str(shopify.CUSTOMER_ID)


def test_an_order_earns_on_its_lines_after_their_discounts(deliver, process, runtime):
    # (30.00 x 2 - 6.00 allocated discount) + 15.00 = 69.00; shipping (5.00) earns nothing.
    deliver("orders/paid", shopify.order(), event_id="e-1")
    assert process().done == 1
    assert points(runtime, CUSTOMER) == (69, 0)
    member = runtime.loyalty(SHOP).member(CUSTOMER)
    assert (member.email, member.name) == ("jon@example.com", None)


def test_tax_included_prices_earn_on_the_price_without_its_tax(deliver, process, runtime):
    # 24.00 with 4.00 VAT inside: 20.00 earns 20.
    order = shopify.order(lines=[shopify.line(1, "24.00", tax="4.00")], taxes_included=True)
    deliver("orders/paid", order)
    process()
    assert points(runtime, CUSTOMER) == (20, 0)


def test_tax_added_on_top_earns_nothing(deliver, process, runtime):
    deliver("orders/paid", shopify.order(lines=[shopify.line(1, "20.00", tax="4.00")]))
    process()
    assert points(runtime, CUSTOMER) == (20, 0)


def test_a_multi_currency_order_earns_in_the_shop_currency(deliver, process, runtime):
    # Shop in EUR, the buyer paid in GBP: 50.00 EUR (43.00 GBP) earns 50.
    line = shopify.line(1, "50.00", currency="EUR", presentment="43.00", presentment_currency="GBP")
    deliver("orders/paid", shopify.order(lines=[line], currency="EUR", presentment_currency="GBP"))
    process()
    assert points(runtime, CUSTOMER) == (50, 0)


def test_gift_cards_earn_nothing(deliver, process, runtime):
    lines = [shopify.line(1, "40.00"), shopify.line(2, "25.00", gift_card=True)]
    deliver("orders/paid", shopify.order(lines=lines))
    process()
    assert points(runtime, CUSTOMER) == (40, 0)


def test_a_guest_checkout_earns_for_the_email(deliver, process, runtime):
    deliver("orders/paid", shopify.order(customer=False, email="guest@example.com"))
    process()
    assert points(runtime, "guest@example.com") == (69, 0)


def test_pos_orders_earn_unless_the_shop_excludes_them(deliver, process, runtime):
    deliver("orders/paid", shopify.order(order_id=1, source_name="pos"))
    process()
    assert points(runtime, CUSTOMER) == (69, 0)
    with runtime.db.begin() as conn:
        conn.execute(update(shops).where(shops.c.id == SHOP).values(settings={"exclude_sources": ["pos"]}))
    runtime.forget(SHOP)  # as half a minute passing would: the process reads the new settings
    deliver("orders/paid", shopify.order(order_id=2, source_name="pos"))
    process()
    assert points(runtime, CUSTOMER) == (69, 0)


def test_test_orders_earn_nothing(deliver, process, runtime):
    deliver("orders/paid", shopify.order(test=True))
    assert process().done == 1
    loyalty = runtime.loyalty(SHOP)
    assert loyalty.summary()["orders"] == 0


def test_a_partial_refund_takes_back_the_refunded_lines_share(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    # One of the two 30.00 units of line 1 (27.00 after its share of the discount): 27 back.
    deliver("refunds/create", shopify.refund(501, [(1, 1, "27.00")]))
    process()
    assert points(runtime, CUSTOMER) == (42, 0)


def test_a_full_refund_takes_back_everything_the_order_earned(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    deliver("refunds/create", shopify.refund(501, [(1, 2, "54.00"), (2, 1, "15.00")]))
    process()
    assert points(runtime, CUSTOMER) == (0, 0)


def test_a_refund_of_shipping_only_takes_nothing_back(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    deliver("refunds/create", shopify.refund(501, []))
    result = process()
    assert (result.done, result.dead) == (2, 0)
    assert points(runtime, CUSTOMER) == (69, 0)


def test_a_refund_after_the_points_were_spent_goes_negative_as_the_program_says(deliver, process, runtime):
    deliver("orders/paid", shopify.order(lines=[shopify.line(1, "600.00")]))
    process()
    runtime.loyalty(SHOP).adjust(CUSTOMER, -500, "spent at the till")  # 500 of the 600 gone
    deliver("refunds/create", shopify.refund(501, [(1, 1, "600.00")]))
    process()
    # The program lets a refund of spent points run the balance negative (to -1,000).
    assert points(runtime, CUSTOMER) == (-500, 0)
    assert runtime.loyalty(SHOP).doctor()["ok"]


def test_a_cancelled_order_gives_back_what_it_earned(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    deliver("orders/cancelled", shopify.order(cancelled_at="2026-03-03T10:00:00-05:00"))
    process()
    assert points(runtime, CUSTOMER) == (0, 0)


def test_a_refund_delivered_before_its_order_waits_for_it(deliver, process, runtime):
    deliver("refunds/create", shopify.refund(501, [(1, 1, "27.00")]))
    deliver("orders/paid", shopify.order())
    assert process().retried == 0
    assert points(runtime, CUSTOMER) == (42, 0)


def test_a_redelivery_hours_later_changes_nothing(deliver, process, runtime):
    deliver("orders/paid", shopify.order(), event_id="e-1")
    process()
    # Shopify retries carry the original payload; a new event id gets past the inbox, and the
    # ledger's key on the order id stops it.
    deliver("orders/paid", shopify.order(), event_id="e-1-resent-later")
    deliver("refunds/create", shopify.refund(501, [(1, 1, "27.00")]), event_id="e-2")
    deliver("refunds/create", shopify.refund(501, [(1, 1, "27.00")]), event_id="e-2-resent-later")
    result = process()
    assert (result.done, result.dead) == (3, 0)
    assert points(runtime, CUSTOMER) == (42, 0)


def test_a_new_customer_becomes_a_member(deliver, process, runtime):
    deliver("customers/create", shopify.customer(customer_id=42, email="Ada@Example.com"))
    process()
    member = runtime.loyalty(SHOP).member("42")
    assert (member.email, member.name, member.available) == ("ada@example.com", "Jon Doe", 0)


def test_an_order_from_a_member_by_email_finds_them(deliver, process, runtime):
    runtime.loyalty(SHOP).enroll(email="jon@example.com")
    deliver("orders/paid", shopify.order(customer=False))
    process()
    assert points(runtime, "jon@example.com") == (69, 0)


def test_a_malformed_payload_is_dead_lettered_naming_the_field(deliver, process, runtime):
    order = shopify.order()
    del order["line_items"][0]["price_set"]
    deliver("orders/paid", order)
    result = process()
    assert result.dead == 1
    from loyalty_sdk.server import inbox

    with runtime.db.connect() as conn:
        [row] = inbox.listing(conn, status="dead")
    assert "line_items.0.price_set" in row["last_error"]


def test_a_topic_not_handled_yet_is_dead_lettered_visibly(deliver, process, runtime):
    deliver("orders/fulfilled", shopify.order())
    assert process().dead == 1


def test_a_customer_update_brings_the_member_up_to_date(deliver, process, runtime):
    deliver("customers/create", shopify.customer(customer_id=42, email="ada@example.com"))
    updated = shopify.customer(customer_id=42, email="ada.lovelace@example.com")
    updated["first_name"] = "Ada"
    deliver("customers/update", updated)
    process()
    member = runtime.loyalty(SHOP).member("42")
    assert (member.email, member.name) == ("ada.lovelace@example.com", "Ada Doe")


def test_a_guest_who_opens_an_account_keeps_their_points(deliver, process, runtime):
    deliver("orders/paid", shopify.order(customer=False, email="guest@example.com"))
    deliver("customers/create", shopify.customer(customer_id=43, email="guest@example.com"))
    process()
    assert points(runtime, "43") == (69, 0)


def test_a_shop_can_earn_in_the_currency_the_buyer_paid_in(deliver, process, runtime):
    with runtime.db.begin() as conn:
        conn.execute(update(shops).where(shops.c.id == SHOP).values(settings={"money": "presentment"}))
    runtime.forget(SHOP)
    line = shopify.line(1, "50.00", currency="EUR", presentment="43.00", presentment_currency="GBP")
    deliver("orders/paid", shopify.order(lines=[line], currency="EUR", presentment_currency="GBP"))
    process()
    assert points(runtime, CUSTOMER) == (43, 0)


def test_marketing_consent_is_kept_as_shopify_states_it(deliver, process, runtime):
    from sqlalchemy import select

    from loyalty_sdk.core.storage import members

    deliver("customers/create", shopify.customer(customer_id=44, email="c@example.com"))
    withdrawn = shopify.customer(customer_id=44, email="c@example.com")
    withdrawn["email_marketing_consent"] = {"state": "unsubscribed", "opt_in_level": "single_opt_in"}
    deliver("customers/update", withdrawn)
    process()
    with runtime.db.connect() as conn:
        states = conn.execute(select(members.c.marketing_consent).where(members.c.customer_id == "44")).scalars()
        assert list(states) == ["unsubscribed"]
