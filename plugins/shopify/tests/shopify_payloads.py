"""Shopify REST webhook payloads, written to Shopify's documented schemas (order and refund
resources as the webhooks deliver them), with only the values each test needs changed.

Money fields come as Shopify sends them: decimal strings with ``*_set`` twins in shop and
presentment currency; a refund line's ``subtotal`` is a JSON number. Ids are 64-bit integers.
"""

from __future__ import annotations

from typing import Any

ORDER_ID = 820982911946154508
CUSTOMER_ID = 115310627314723954


def money(amount: str, currency: str = "USD", presentment: tuple[str, str] | None = None) -> dict[str, Any]:
    shown_amount, shown_currency = presentment or (amount, currency)
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": shown_amount, "currency_code": shown_currency}}


def line(line_id: int, price: str, quantity: int = 1, *, discount: str | None = None, tax: str | None = None,
         gift_card: bool = False, currency: str = "USD", presentment: str | None = None,
         presentment_currency: str | None = None) -> dict[str, Any]:
    shown = (presentment, presentment_currency) if presentment else None
    return {
        "id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": 632910392 + line_id, "variant_id": 808950810 + line_id, "title": f"Product {line_id}",
        "name": f"Product {line_id} - Default", "variant_title": None, "sku": f"SKU-{line_id}", "vendor": "Acme",
        "price": price, "price_set": money(price, currency, shown), "quantity": quantity,
        "current_quantity": quantity, "fulfillable_quantity": quantity, "fulfillment_status": None,
        "gift_card": gift_card, "taxable": tax is not None, "total_discount": "0.00",
        "tax_lines": [{"price": tax, "price_set": money(tax, currency), "rate": 0.2, "title": "VAT",
                       "channel_liable": False}] if tax else [],
        "discount_allocations": [{"amount": discount, "amount_set": money(discount, currency),
                                  "discount_application_index": 0}] if discount else [],
        "duties": [],
    }


def order(order_id: int = ORDER_ID, lines: list[dict[str, Any]] | None = None, *, customer: bool = True,
          email: str = "jon@example.com", currency: str = "USD", presentment_currency: str | None = None,
          taxes_included: bool = False, test: bool = False, source_name: str = "web",
          created_at: str = "2026-03-02T10:00:00-05:00", cancelled_at: str | None = None) -> dict[str, Any]:
    items = lines if lines is not None else [line(1, "30.00", 2, discount="6.00"), line(2, "15.00")]
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": "#9999",
        "email": email, "contact_email": email, "created_at": created_at, "processed_at": created_at,
        "updated_at": created_at, "cancelled_at": cancelled_at, "cancel_reason": "customer" if cancelled_at else None,
        "currency": currency, "presentment_currency": presentment_currency or currency,
        "financial_status": "paid", "fulfillment_status": None, "taxes_included": taxes_included, "test": test,
        "source_name": source_name, "total_price": "74.00", "subtotal_price": "69.00", "total_tax": "0.00",
        "total_discounts": "6.00", "total_tip_received": "0.00",
        "shipping_lines": [{"id": 271878346596884015, "title": "Standard", "price": "5.00",
                            "price_set": money("5.00", currency), "discount_allocations": []}],
        "discount_codes": [{"code": "TENOFF", "amount": "6.00", "type": "fixed_amount"}],
        "customer": {"id": CUSTOMER_ID, "email": email, "first_name": "Jon", "last_name": "Doe",
                     "state": "enabled", "verified_email": True, "currency": currency,
                     "admin_graphql_api_id": f"gid://shopify/Customer/{CUSTOMER_ID}"} if customer else None,
        "line_items": items, "refunds": [],
    }


def refund(refund_id: int, lines: list[tuple[int, int, str]], order_id: int = ORDER_ID,
           created_at: str = "2026-03-05T09:00:00-05:00", currency: str = "USD") -> dict[str, Any]:
    """``lines``: (line item id, quantity, subtotal as Shopify computed it)."""
    return {
        "id": refund_id, "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}", "order_id": order_id,
        "created_at": created_at, "processed_at": created_at, "note": "damaged", "restock": False,
        "user_id": None, "order_adjustments": [], "duties": [],
        "refund_line_items": [
            {"id": refund_id * 10 + n, "line_item_id": line_item_id, "quantity": quantity,
             "restock_type": "no_restock", "location_id": None, "subtotal": float(subtotal),
             "total_tax": 0.0, "subtotal_set": money(subtotal, currency), "total_tax_set": money("0.00", currency)}
            for n, (line_item_id, quantity, subtotal) in enumerate(lines)],
        "transactions": [{"id": refund_id + 1, "order_id": order_id, "kind": "refund", "status": "success",
                          "amount": "10.00", "currency": currency, "gateway": "bogus"}],
    }


def customer(customer_id: int = CUSTOMER_ID, email: str = "jon@example.com") -> dict[str, Any]:
    return {"id": customer_id, "email": email, "first_name": "Jon", "last_name": "Doe", "state": "enabled",
            "created_at": "2026-03-01T09:00:00-05:00", "updated_at": "2026-03-01T09:00:00-05:00",
            "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in"},
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"}


def privacy(customer_id: int = CUSTOMER_ID, email: str = "jon@example.com", orders: list[int] | None = None,
            shop: str = "jon-doe.myshopify.com", request_id: int | None = None) -> dict[str, Any]:
    """``customers/redact`` (with ``orders_to_redact``) or ``customers/data_request``."""
    document: dict[str, Any] = {"shop_id": 954889, "shop_domain": shop,
                                "customer": {"id": customer_id, "email": email, "phone": "555-625-1199"},
                                "orders_to_redact": orders if orders is not None else [ORDER_ID]}
    if request_id is not None:
        document["orders_requested"] = document.pop("orders_to_redact")
        document["data_request"] = {"id": request_id}
    return document


def shop_redact(shop: str = "jon-doe.myshopify.com") -> dict[str, Any]:
    return {"shop_id": 954889, "shop_domain": shop}
