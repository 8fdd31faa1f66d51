"""Shopify's mandatory privacy topics and app/uninstalled: a customer's data is exported on
request and erased on redaction (the ledger still adds up), an uninstalled shop is no longer
processed, and shop/redact erases the shop."""

from __future__ import annotations

import shopify_payloads as shopify
from shopify_harness import SHOP
from sqlalchemy import func, select

from loyalty_sdk.core.storage import inbox as inbox_table
from loyalty_sdk.core.storage import members, shops, transactions
from loyalty_sdk.server import inbox

CUSTOMER = str(shopify.CUSTOMER_ID)


def outcome(runtime, topic: str):
    with runtime.db.connect() as conn:
        rows = [r for r in inbox.listing(conn) if r["topic"] == topic]
        return inbox.show(conn, rows[0]["id"])["outcome"][0]


def test_a_data_request_exports_everything_held_about_the_customer(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    deliver("customers/data_request", shopify.privacy(request_id=9999))
    assert process().done == 2
    answer = outcome(runtime, "customers/data_request")
    export = answer["export"]
    assert answer["request_id"] == "9999"
    assert export["member"]["email"] == "jon@example.com"
    assert [(t["kind"], t["points"], t["order_id"]) for t in export["transactions"]] == [
        ("earn", 69, str(shopify.ORDER_ID))]
    assert "69 points on spend" in export["transactions"][0]["reason"]


def test_a_data_request_for_someone_unknown_says_nothing_is_held(deliver, process, runtime):
    deliver("customers/data_request", shopify.privacy(customer_id=1, email="nobody@example.com", request_id=1))
    assert process().done == 1
    assert outcome(runtime, "customers/data_request")["export"] is None


def test_a_redaction_erases_the_customer_and_keeps_the_books(deliver, process, runtime):
    deliver("orders/paid", shopify.order())
    process()
    member_id = runtime.loyalty(SHOP).member(CUSTOMER).id
    deliver("customers/redact", shopify.privacy())
    assert process().done == 1
    erased = runtime.loyalty(SHOP).member(member_id)
    assert (erased.customer_id, erased.email, erased.name) == (None, None, None)
    assert erased.available == 69  # the anonymous ledger still adds up
    assert runtime.loyalty(SHOP).doctor()["ok"]
    with runtime.db.connect() as conn:
        bodies = conn.execute(select(inbox_table.c.body)).scalars().all()
    # Neither the order's payload nor the redaction request itself keeps who they were.
    assert len(bodies) == 2
    assert not any(b"jon@example.com" in bytes(body) or CUSTOMER.encode() in bytes(body) for body in bodies)


def test_after_uninstall_orders_are_no_longer_processed(deliver, process, runtime):
    deliver("app/uninstalled", {"id": 954889, "name": "Jon's shop", "domain": SHOP})
    process()
    answer = deliver("orders/paid", shopify.order())
    assert answer.json() == {"accepted": False}
    # ...but the erasure requests that follow an uninstall still are.
    assert deliver("customers/redact", shopify.privacy()).json() == {"accepted": True}


def test_shop_redact_erases_every_row_of_the_shop(deliver, process, runtime):
    runtime.add_shop("other.myshopify.com", "shopify")
    deliver("orders/paid", shopify.order())
    deliver("orders/paid", shopify.order(order_id=2), shop="other.myshopify.com")
    process()
    deliver("shop/redact", shopify.shop_redact())
    assert process().done == 1
    with runtime.db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(shops).where(shops.c.id == SHOP)) == 0
        assert conn.scalar(select(func.count()).select_from(members).where(members.c.shop_id == SHOP)) == 0
        assert conn.scalar(select(func.count()).select_from(transactions)
                           .where(transactions.c.shop_id == SHOP)) == 0
        assert conn.scalar(select(func.count()).select_from(inbox_table)
                           .where(inbox_table.c.shop_id == SHOP)) == 0
    # The other shop is untouched.
    assert runtime.loyalty("other.myshopify.com").balance(CUSTOMER).available == 69
    # A late delivery for the erased shop is acknowledged and dropped.
    assert deliver("orders/paid", shopify.order()).json() == {"accepted": False}
