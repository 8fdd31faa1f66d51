"""An order imported with ``earn`` and later delivered by its platform's webhook earns once.

Each test runs the real server app with the platform plugin loaded from its entry point, posts
a signed webhook for the same order, lets a worker process the inbox, and checks the member's
points. The other way round (the webhook first, then the import) leaves the order alone.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_sdk.core.storage import inbox
from loyalty_sdk.imports import import_orders
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import Worker
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import Clock, serving

from .conftest import PROGRAM

Deliver = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def server(loyalty_database_url: str) -> Callable[..., AbstractContextManager[tuple[Runtime, Any]]]:
    """``with server(platform, shop) as (runtime, client)``: the runtime (clock: now, as
    signatures are checked against the real time) with ``shop`` registered, and a client on its app."""

    @contextmanager
    def start(platform: str, shop: str) -> Iterator[tuple[Runtime, Any]]:
        with Runtime(Settings(database_url=loyalty_database_url), program=PROGRAM,
                     clock=Clock(datetime.now(UTC))) as runtime:
            runtime.add_shop(shop, platform)
            with serving(runtime) as client:
                yield runtime, client

    return start


def processed(runtime: Runtime) -> list[str]:
    """Apply every waiting delivery, as a worker would; the deliveries' statuses."""
    Worker(runtime, name="test-worker").drain()
    with runtime.db.connect() as conn:
        return [row.status for row in conn.execute(select(inbox.c.status).order_by(inbox.c.id))]


def earned(runtime: Runtime, shop: str, ref: str) -> tuple[int, int]:
    """(points, earn transactions) of the member ``ref``."""
    loyalty = runtime.loyalty(shop)
    return loyalty.balance(ref).available, sum(1 for line in loyalty.history(ref) if line.kind == "earn")


# -- WooCommerce ------------------------------------------------------------------------------

WC_SHOP = "https://shop.example/"
WC_SECRET = "wc-webhook-secret"
WC_ORDER = {
    "id": 727, "number": "727", "status": "processing", "currency": "USD", "customer_id": 25,
    "billing": {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"},
    "date_created_gmt": "2026-03-02T10:00:00", "date_modified_gmt": "2026-03-02T10:05:00",
    "date_paid_gmt": "2026-03-02T10:01:00", "total": "80.94",
    "line_items": [
        {"id": 315, "name": "Hoodie", "product_id": 93, "variation_id": 0, "quantity": 2, "subtotal": "40.00",
         "total": "36.00", "sku": "HOODIE", "price": 18.0},
        {"id": 316, "name": "Tee", "product_id": 22, "variation_id": 23, "quantity": 1, "subtotal": "20.00",
         "total": "18.00", "sku": "TEE", "price": 18.0},
    ],
    "coupon_lines": [], "refunds": [],
}


@pytest.fixture
def woocommerce(server, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, Deliver]]:
    from loyalty_woocommerce import connection
    from loyalty_woocommerce.verify import webhook_signature

    monkeypatch.setenv("LOYALTY_SECRET_KEY", "test-secret-key-for-sealing-store-keys")
    monkeypatch.setenv("LOYALTY_LOAD_PLUGINS", "woocommerce")
    with server("woocommerce", WC_SHOP) as (runtime, client):
        connection.connect(runtime.db, WC_SHOP, consumer_key="ck_test", consumer_secret="cs_test",
                           webhook_secret=WC_SECRET, api_url="http://127.0.0.1:9/")
        runtime.forget(WC_SHOP)

        def deliver(topic: str, document: dict[str, Any]) -> Any:
            body = json.dumps(document).encode()
            resource, event = topic.split(".", 1)
            return client.post("/webhooks/woocommerce", content=body, headers={
                "content-type": "application/json", "x-wc-webhook-source": WC_SHOP, "x-wc-webhook-topic": topic,
                "x-wc-webhook-resource": resource, "x-wc-webhook-event": event,
                "x-wc-webhook-signature": webhook_signature(WC_SECRET, body), "x-wc-webhook-id": "12",
                "x-wc-webhook-delivery-id": uuid.uuid4().hex})

        yield runtime, deliver


def test_woocommerce_import_then_webhook_earns_once(woocommerce, tmp_path: Path) -> None:
    runtime, deliver = woocommerce
    export = tmp_path / "orders.json"
    export.write_text(json.dumps([WC_ORDER]), encoding="utf-8")
    result = import_orders(runtime.loyalty(WC_SHOP), export, "woocommerce", earn=True)
    assert (result.earned, result.points) == (1, 54)  # the lines' totals after the coupon: 36 + 18
    completed = {**WC_ORDER, "status": "completed", "date_modified_gmt": "2026-03-03T09:00:00"}
    assert deliver("order.updated", completed).status_code == 200
    assert processed(runtime) == ["done"]
    assert earned(runtime, WC_SHOP, "25") == (54, 1)


def test_woocommerce_webhook_then_import_leaves_the_order_alone(woocommerce, tmp_path: Path) -> None:
    runtime, deliver = woocommerce
    assert deliver("order.created", WC_ORDER).status_code == 200
    assert processed(runtime) == ["done"]
    export = tmp_path / "orders.json"
    export.write_text(json.dumps([{**WC_ORDER, "status": "completed"}]), encoding="utf-8")
    result = import_orders(runtime.loyalty(WC_SHOP), export, "woocommerce", earn=True)
    assert (result.earned, result.already_recorded) == (0, 1)
    assert earned(runtime, WC_SHOP, "25") == (54, 1)


# -- Stripe -----------------------------------------------------------------------------------

STRIPE_SECRET = "whsec_test_secret_for_imports"
STRIPE_EXPORT = ("id,Description,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Status,Customer ID,"
                 "Customer Email,PaymentIntent ID\n"
                 "ch_1,Order 1,2026-03-02 10:00:00,25.99,{refunded},usd,true,{status},cus_1,jenny@example.com,pi_1\n")


def stripe_event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex[:12]}", "object": "event", "api_version": "2026-10-28.endive",
            "created": 1772445600, "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind}


INTENT = {"id": "pi_1", "object": "payment_intent", "amount": 2599, "amount_received": 2599, "currency": "usd",
          "customer": "cus_1", "receipt_email": None, "status": "succeeded", "created": 1772445600,
          "latest_charge": "ch_1", "metadata": {}, "livemode": False}
CHARGE = {"id": "ch_1", "object": "charge", "amount": 2599, "amount_captured": 2599, "amount_refunded": 0,
          "currency": "usd", "customer": "cus_1", "payment_intent": "pi_1", "paid": True, "refunded": False,
          "created": 1772445600, "receipt_email": None, "metadata": {}, "billing_details": {"email": None}}


@pytest.fixture
def stripe(server, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, Deliver]]:
    import stripe as stripe_library

    monkeypatch.setenv("LOYALTY_STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
    monkeypatch.setenv("LOYALTY_LOAD_PLUGINS", "stripe")
    monkeypatch.delenv("LOYALTY_STRIPE_API_KEY", raising=False)  # no API: the payment's first report earns
    with server("stripe", "default") as (runtime, client):

        def deliver(kind: str, obj: dict[str, Any]) -> Any:
            body = json.dumps(stripe_event(kind, obj))
            header = stripe_library.WebhookSignature.generate_signature_header(body, STRIPE_SECRET,
                                                                               timestamp=int(time.time()))
            return client.post("/webhooks/stripe", content=body.encode(),
                               headers={"Stripe-Signature": header, "Content-Type": "application/json"})

        yield runtime, deliver


def test_stripe_import_then_webhooks_earn_and_refund_once(stripe, tmp_path: Path) -> None:
    runtime, deliver = stripe
    export = tmp_path / "payments.csv"
    export.write_text(STRIPE_EXPORT.format(refunded="5.00", status="Partially Refunded"), encoding="utf-8")
    result = import_orders(runtime.loyalty("default"), export, "stripe", earn=True)
    # 25.99 earns 25; 5.00 of it refunded takes back floor(25 x 5.00 / 25.99) = 4.
    assert (result.earned, result.points, result.points_taken_back) == (1, 25, 4)
    # The payment's reports, then the refund the export already held (Stripe's total to date).
    assert deliver("payment_intent.succeeded", INTENT).status_code == 200
    assert deliver("charge.succeeded", CHARGE).status_code == 200
    assert deliver("charge.refunded", {**CHARGE, "amount_refunded": 500}).status_code == 200
    assert processed(runtime) == ["done", "done", "done"]
    assert earned(runtime, "default", "cus_1") == (21, 1)
    # A refund beyond what the export knew still takes back its own share: 15.00 to date, 14 in all.
    deliver("charge.refunded", {**CHARGE, "amount_refunded": 1500})
    assert processed(runtime)[-1] == "done"
    assert earned(runtime, "default", "cus_1")[0] == 11


def test_stripe_webhook_then_import_leaves_the_payment_alone(stripe, tmp_path: Path) -> None:
    runtime, deliver = stripe
    deliver("payment_intent.succeeded", INTENT)
    assert processed(runtime) == ["done"]
    export = tmp_path / "payments.csv"
    export.write_text(STRIPE_EXPORT.format(refunded="0.00", status="Paid"), encoding="utf-8")
    result = import_orders(runtime.loyalty("default"), export, "stripe", earn=True)
    assert (result.earned, result.already_recorded) == (0, 1)
    assert earned(runtime, "default", "cus_1") == (25, 1)


# -- Shopify ----------------------------------------------------------------------------------

SHOPIFY_SHOP = "jon-doe.myshopify.com"
SHOPIFY_SECRET = "shpss_test_app_secret_for_imports"
SHOPIFY_EXPORT = (
    "Name,Email,Financial Status,Created at,Currency,Discount Amount,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem sku,Lineitem discount,Refunded Amount,Cancelled at,Id\n"
    "#1001,jon@example.com,paid,2026-03-02 10:00:00 -0500,USD,0.00,2,\"Mug, blue\",19.99,MUG,0.00,0.00,,"
    "820982911946154508\n"
    "#1001,,,,,,1,Tote,12.00,TOTE,0.00,,,\n"
)


def shopify_order() -> dict[str, Any]:
    def money(amount: str) -> dict[str, Any]:
        return {"shop_money": {"amount": amount, "currency_code": "USD"},
                "presentment_money": {"amount": amount, "currency_code": "USD"}}

    return {"id": 820982911946154508, "name": "#1001", "email": "jon@example.com", "currency": "USD",
            "customer": {"id": 115310627314723954, "email": "jon@example.com"},
            "financial_status": "paid", "created_at": "2026-03-02T10:00:00-05:00",
            "processed_at": "2026-03-02T10:00:00-05:00", "taxes_included": False, "test": False,
            "source_name": "web", "discount_codes": [],
            "line_items": [
                {"id": 466157049, "product_id": 632910392, "sku": "MUG", "title": "Mug, blue", "quantity": 2,
                 "price_set": money("19.99"), "gift_card": False, "tax_lines": [], "discount_allocations": []},
                {"id": 518995019, "product_id": 921728736, "sku": "TOTE", "title": "Tote", "quantity": 1,
                 "price_set": money("12.00"), "gift_card": False, "tax_lines": [], "discount_allocations": []},
            ]}


@pytest.fixture
def shopify(server, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, Deliver]]:
    from loyalty_shopify.verify import webhook_signature

    monkeypatch.setenv("LOYALTY_SHOPIFY_API_SECRET", SHOPIFY_SECRET)
    monkeypatch.setenv("LOYALTY_LOAD_PLUGINS", "shopify")
    with server("shopify", SHOPIFY_SHOP) as (runtime, client):

        def deliver(topic: str, document: dict[str, Any]) -> Any:
            body = json.dumps(document).encode()
            return client.post("/webhooks/shopify", content=body, headers={
                "Content-Type": "application/json", "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": SHOPIFY_SHOP, "X-Shopify-API-Version": "2025-10",
                "X-Shopify-Hmac-Sha256": webhook_signature(SHOPIFY_SECRET, body),
                "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
                "X-Shopify-Triggered-At": "2026-03-02T15:00:00.000000000Z"})

        yield runtime, deliver


def test_shopify_webhook_then_import_leaves_the_order_alone(shopify, tmp_path: Path) -> None:
    runtime, deliver = shopify
    assert deliver("orders/paid", shopify_order()).status_code == 200
    assert processed(runtime) == ["done"]
    export = tmp_path / "orders_export.csv"
    export.write_text(SHOPIFY_EXPORT, encoding="utf-8")
    result = import_orders(runtime.loyalty(SHOPIFY_SHOP), export, "shopify", earn=True)
    assert (result.earned, result.already_recorded) == (0, 1)
    assert earned(runtime, SHOPIFY_SHOP, "jon@example.com") == (51, 1)  # 2 x 19.99 + 12.00


def test_shopify_import_then_webhook_earns_once(shopify, tmp_path: Path) -> None:
    runtime, deliver = shopify
    export = tmp_path / "orders_export.csv"
    export.write_text(SHOPIFY_EXPORT, encoding="utf-8")
    result = import_orders(runtime.loyalty(SHOPIFY_SHOP), export, "shopify", earn=True)
    assert (result.earned, result.points) == (1, 51)
    deliver("orders/paid", shopify_order())
    assert earned(runtime, SHOPIFY_SHOP, "jon@example.com") == (51, 1)
    assert processed(runtime) == ["done"]
