"""Where a Shopify order went reaches the core (for the referral checks), as one line."""

from __future__ import annotations

import shopify_payloads as shopify
from loyalty_shopify import payloads
from loyalty_shopify.webhooks import to_order


def address(street: str, city: str = "Ottawa") -> dict:
    return {"first_name": "Jon", "last_name": "Doe", "address1": street, "address2": "", "city": city,
            "province": "Ontario", "province_code": "ON", "zip": "K2P 1L4", "country": "Canada",
            "country_code": "CA", "phone": "555-625-1199", "company": None, "latitude": 45.41634, "longitude": -75.6868}


def test_the_shipping_address_is_the_orders_address_else_the_billing_one():
    document = shopify.order()
    document["shipping_address"] = address("123 Amoebobacterieae St")
    document["billing_address"] = address("1 Billing Rd")
    assert to_order(payloads.Order.model_validate(document)).address == \
        "123 Amoebobacterieae St, Ottawa, K2P 1L4, CA"
    document["shipping_address"] = None
    assert to_order(payloads.Order.model_validate(document)).address == "1 Billing Rd, Ottawa, K2P 1L4, CA"


def test_an_address_without_a_street_tells_nobody_apart():
    document = shopify.order()
    document["shipping_address"] = address("")
    assert to_order(payloads.Order.model_validate(document)).address is None
    assert to_order(payloads.Order.model_validate(shopify.order())).address is None
