"""Where a WooCommerce order went reaches the core (for the referral checks), as one line."""

from __future__ import annotations

import wc_payloads as wc
from loyalty_woocommerce import payloads
from loyalty_woocommerce.webhooks import to_order


def test_the_shipping_address_is_the_orders_address_else_the_billing_one():
    document = wc.order()
    document["shipping"].update(address_1="1 Shipping Way", address_2="Apt 4", city="Oakland", postcode="94607")
    assert to_order(payloads.Order.model_validate(document)).address == "1 Shipping Way, Apt 4, Oakland, 94607, US"
    document["shipping"].update(address_1="", address_2="", city="", postcode="")
    assert to_order(payloads.Order.model_validate(document)).address == "969 Market, San Francisco, 94103, US"
