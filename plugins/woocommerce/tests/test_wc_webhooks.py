"""The webhook door: WooCommerce's signature (the secret HTML-decoded first), the ping, the
store found from its source, and deliveries deduplicated on the change, not the delivery id."""

from __future__ import annotations

import base64
import hashlib
import hmac

import wc_payloads as wc
from loyalty_woocommerce.verify import signing_key, webhook_signature
from sqlalchemy import func, select
from wc_harness import SHOP, balance, wc_headers, wc_json

from loyalty_sdk.core.storage import inbox


def stored(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox)).scalar_one()


def test_the_secret_is_html_decoded_as_wordpress_does():
    assert signing_key("wc&amp;secret&#039;42") == "wc&secret'42"
    assert signing_key("a&#0039;b&#x027;c&quot;d&#34;e&lt;f&#x26;g") == "a'b'c\"d\"e<f&g"
    assert signing_key("&amp;lt;") == "&lt;"  # one pass, as PHP's strtr
    assert signing_key("caf&eacute;&copy;") == "caf&eacute;&copy;"  # no other entity is read
    body = b'{"id":1}'
    expected = base64.b64encode(hmac.new(b"wc&secret'42", body, hashlib.sha256).digest()).decode()
    assert webhook_signature("wc&amp;secret&#039;42", body) == expected


def test_a_signed_order_is_stored_and_earns(deliver, process, runtime):
    answer = deliver("order.updated", wc.order())
    assert answer.status_code == 200 and answer.json() == {"accepted": True}
    process()
    assert balance(runtime, str(wc.CUSTOMER_ID)) == 54


def test_forgeries_and_unknown_stores_are_refused_with_401(client, runtime):
    body = wc_json(wc.order())
    forged = wc_headers(body, "order.updated", secret="not-the-secret")
    assert client.post("/webhooks/woocommerce", content=body, headers=forged).status_code == 401
    undecoded = wc_headers(body, "order.updated", secret="wc&secret'42")
    undecoded["x-wc-webhook-signature"] = base64.b64encode(
        hmac.new(b"wc&amp;secret&#039;42", body, hashlib.sha256).digest()).decode()
    assert client.post("/webhooks/woocommerce", content=body, headers=undecoded).status_code == 401
    tampered = wc_headers(body, "order.updated")
    assert client.post("/webhooks/woocommerce", content=body.replace(b"36.00", b"99.00"),
                       headers=tampered).status_code == 401
    elsewhere = wc_headers(body, "order.updated", source="https://other.example/")
    answer = client.post("/webhooks/woocommerce", content=body, headers=elsewhere)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_signature"
    assert stored(runtime) == 0


def test_the_ping_a_saved_webhook_sends_is_answered_200_and_keeps_nothing(client, runtime):
    answer = client.post("/webhooks/woocommerce", content=b"webhook_id=12",
                         headers={"content-type": "application/x-www-form-urlencoded",
                                  "user-agent": "WordPress/6.7; https://shop.example/"})
    assert answer.status_code == 200
    assert stored(runtime) == 0


def test_a_change_is_stored_once_whatever_its_delivery_id(deliver, process, runtime):
    first = deliver("order.updated", wc.order(), delivery_id="a1")
    again = deliver("order.updated", wc.order(), delivery_id="b2")  # WooCommerce resent it a second later
    created = deliver("order.created", wc.order(), delivery_id="c3")  # one change, two topics
    assert first.json() == {"accepted": True}
    assert again.json() == created.json() == {"accepted": True, "duplicate": True}
    newer = deliver("order.updated", wc.order(status="completed", modified="2026-03-03T08:00:00"))
    assert newer.json() == {"accepted": True}
    process()
    assert stored(runtime) == 2 and balance(runtime, str(wc.CUSTOMER_ID)) == 54


def test_the_store_is_found_with_or_without_its_trailing_slash(deliver, runtime):
    assert deliver("order.updated", wc.order(), source=SHOP.rstrip("/")).status_code == 200
    assert deliver("order.updated", wc.order(order_id=728), source="HTTPS://Shop.Example/").status_code == 200
    assert stored(runtime) == 2


def test_topics_loyalty_does_not_use_are_acknowledged_and_dropped(deliver, runtime):
    answer = deliver("product.updated", {"id": 93, "name": "Hoodie", "date_modified_gmt": "2026-03-02T10:00:00"})
    assert answer.status_code == 200 and answer.json() == {"accepted": False}
    assert stored(runtime) == 0


def test_a_payload_that_cannot_apply_is_dead_lettered_naming_the_field(deliver, process, runtime):
    document = wc.order()
    document["line_items"][0]["total"] = 36.0  # money as a JSON number: refused, never read as a float
    deliver("order.updated", document)
    result = process()
    assert result.dead == 1
    with runtime.db.connect() as conn:
        error = conn.execute(select(inbox.c.last_error)).scalar_one()
    assert "InvalidInput" in error and "line_items.0.total" in error


def test_customers_are_enrolled_and_a_guest_keeps_their_points(deliver, process, runtime):
    guest = wc.order(order_id=801, customer_id=0, email="Guest@Example.com", coupons=())
    deliver("order.updated", guest)
    process()
    assert balance(runtime, "guest@example.com") == 54
    deliver("customer.created", wc.customer(customer_id=40, email="guest@example.com"))
    process()
    member = runtime.loyalty(SHOP).member("40")
    assert member.email == "guest@example.com" and member.available == 54 and member.name == "John Doe"


def test_a_store_configured_by_environment_signs_with_its_secret(client, runtime, monkeypatch):
    runtime.add_shop("https://env.example/", "woocommerce")
    monkeypatch.setenv("LOYALTY_WOOCOMMERCE_WEBHOOK_SECRET", "env-secret")
    body = wc_json(wc.order(order_id=900))
    signed = wc_headers(body, "order.updated", source="https://env.example/", secret="env-secret")
    assert client.post("/webhooks/woocommerce", content=body, headers=signed).status_code == 200
    # The environment's keys are for the store LOYALTY_WOOCOMMERCE_URL names, when it names one.
    monkeypatch.setenv("LOYALTY_WOOCOMMERCE_URL", "https://another.example")
    body = wc_json(wc.order(order_id=901))
    signed = wc_headers(body, "order.updated", source="https://env.example/", secret="env-secret")
    assert client.post("/webhooks/woocommerce", content=body, headers=signed).status_code == 401
