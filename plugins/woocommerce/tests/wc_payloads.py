"""WooCommerce REST v3 resources as webhooks deliver them (and ``GET /wc/v3/...`` answers),
written to the documented schemas, with only the values each test needs changed.

Money is decimal strings; a line's ``price`` is a JSON number (never read). ``*_gmt`` dates
have no offset. The default order: two lines (the second a variation) with a 10% coupon,
tax on each line, 10.00 shipping with its tax and a 5.00 fee: 54.00 of merchandise earns.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

ORDER_ID = 727
CUSTOMER_ID = 25
EMAIL = "john.doe@example.com"
CREATED = "2026-03-02T10:00:00"


def line(line_id: int, product_id: int, quantity: int, subtotal: str, total: str, tax: str = "0.00", *,
         variation_id: int = 0, sku: str = "") -> dict[str, Any]:
    subtotal_tax = format(Decimal(tax) * Decimal(subtotal) / Decimal(total), ".2f") if Decimal(total) else tax
    return {
        "id": line_id, "name": f"Product {product_id}", "product_id": product_id, "variation_id": variation_id,
        "quantity": quantity, "tax_class": "", "subtotal": subtotal, "subtotal_tax": subtotal_tax, "total": total,
        "total_tax": tax, "taxes": [{"id": 75, "total": tax, "subtotal": subtotal_tax}] if Decimal(tax) else [],
        "meta_data": [], "sku": sku, "price": float(Decimal(total) / quantity) if quantity else 0.0,
    }


LINES = [line(315, 93, 2, "40.00", "36.00", "3.60", sku="HOODIE"),
         line(316, 22, 1, "20.00", "18.00", "1.80", variation_id=23, sku="TEE-BLUE-M")]


def order(order_id: int = ORDER_ID, status: str = "processing", lines: list[dict[str, Any]] | None = None, *,
          customer_id: int = CUSTOMER_ID, email: str = EMAIL, modified: str = "2026-03-02T10:05:00",
          paid: str | None = "2026-03-02T10:01:00", coupons: tuple[str, ...] = ("spring10",),
          refunds: list[tuple[int, str]] = (), shipping: str = "10.00", fee: str = "5.00",
          currency: str = "USD") -> dict[str, Any]:
    """``refunds``: (refund id, total) as the order lists them (totals negative, as WooCommerce
    writes them)."""
    items = copy.deepcopy(LINES if lines is None else lines)
    merchandise = sum(Decimal(item["total"]) for item in items)
    line_tax = sum(Decimal(item["total_tax"]) for item in items)
    shipping_tax = Decimal(shipping) / 10
    total = merchandise + line_tax + Decimal(shipping) + shipping_tax + Decimal(fee)
    discount = sum(Decimal(item["subtotal"]) - Decimal(item["total"]) for item in items)
    return {
        "id": order_id, "parent_id": 0, "number": str(order_id), "order_key": f"wc_order_{order_id}",
        "created_via": "checkout", "version": "9.4.0", "status": status, "currency": currency,
        "date_created": CREATED, "date_created_gmt": CREATED, "date_modified": modified, "date_modified_gmt": modified,
        "discount_total": format(discount, ".2f"), "discount_tax": "0.00", "shipping_total": shipping,
        "shipping_tax": format(shipping_tax, ".2f"), "cart_tax": format(line_tax, ".2f"), "total": format(total, ".2f"),
        "total_tax": format(line_tax + shipping_tax, ".2f"), "prices_include_tax": False,
        "customer_id": customer_id, "customer_ip_address": "", "customer_user_agent": "", "customer_note": "",
        "billing": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market",
                    "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US",
                    "email": email, "phone": "(555) 555-5555"},
        "shipping": {"first_name": "John", "last_name": "Doe", "company": "", "address_1": "969 Market",
                     "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US"},
        "payment_method": "bacs", "payment_method_title": "Direct Bank Transfer", "transaction_id": "",
        "date_paid": paid, "date_paid_gmt": paid, "date_completed": None, "date_completed_gmt": None,
        "cart_hash": "", "meta_data": [],
        "line_items": items,
        "tax_lines": [{"id": 318, "rate_code": "US-CA-STATE TAX", "rate_id": 75, "label": "State Tax",
                       "compound": False, "tax_total": format(line_tax, ".2f"),
                       "shipping_tax_total": format(shipping_tax, ".2f"), "meta_data": []}],
        "shipping_lines": [{"id": 317, "method_title": "Flat Rate", "method_id": "flat_rate", "total": shipping,
                            "total_tax": format(shipping_tax, ".2f"), "taxes": [], "meta_data": []}],
        "fee_lines": [{"id": 319, "name": "Gift wrap", "tax_class": "", "tax_status": "none", "total": fee,
                       "total_tax": "0.00", "taxes": [], "meta_data": []}] if Decimal(fee) else [],
        "coupon_lines": [{"id": 320 + n, "code": code, "discount": format(discount, ".2f"), "discount_tax": "0.00",
                          "meta_data": []} for n, code in enumerate(coupons)],
        "refunds": [{"id": refund_id, "reason": "", "total": total} for refund_id, total in refunds],
        "_links": {"self": [{"href": f"https://shop.example/wp-json/wc/v3/orders/{order_id}"}]},
    }


def refund(refund_id: int, lines: list[tuple[int, int, str]], *, amount: str | None = None,
           created: str = "2026-03-05T09:00:00", shipping: str | None = None) -> dict[str, Any]:
    """``GET /orders/<id>/refunds`` entry. ``lines``: (order line id, quantity, line total
    refunded, without tax); ``amount`` defaults to the lines with 10% tax."""
    refunded = sum((Decimal(total) for _, _, total in lines), Decimal(0))
    given = amount if amount is not None else format(refunded * Decimal("1.1") + Decimal(shipping or 0), ".2f")
    return {
        "id": refund_id, "date_created": created, "date_created_gmt": created, "amount": given, "reason": "",
        "refunded_by": 1, "refunded_payment": False, "meta_data": [],
        "line_items": [{"id": refund_id * 10 + n, "name": "", "product_id": 0, "variation_id": 0,
                        "quantity": -quantity, "tax_class": "", "subtotal": f"-{total}", "subtotal_tax": "0.00",
                        "total": f"-{total}", "total_tax": "0.00", "taxes": [],
                        "meta_data": [{"id": 5000 + n, "key": "_refunded_item_id", "value": str(item)}],
                        "sku": "", "price": -float(total)} for n, (item, quantity, total) in enumerate(lines)],
        "shipping_lines": [{"id": refund_id * 10 + 9, "method_title": "Flat Rate", "method_id": "flat_rate",
                            "total": f"-{shipping}", "total_tax": "0.00", "taxes": [],
                            "meta_data": [{"id": 5999, "key": "_refunded_item_id", "value": "317"}]}]
        if shipping else [],
        "fee_lines": [],
    }


def customer(customer_id: int = CUSTOMER_ID, email: str = EMAIL,
             modified: str = "2026-03-01T09:00:00") -> dict[str, Any]:
    return {"id": customer_id, "date_created": "2026-03-01T09:00:00", "date_created_gmt": "2026-03-01T09:00:00",
            "date_modified": modified, "date_modified_gmt": modified, "email": email, "first_name": "John",
            "last_name": "Doe", "role": "customer", "username": "john.doe",
            "billing": {"first_name": "John", "last_name": "Doe", "email": email},
            "shipping": {"first_name": "John", "last_name": "Doe"}, "is_paying_customer": False,
            "avatar_url": "", "meta_data": []}
