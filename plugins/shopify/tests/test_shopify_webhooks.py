"""POST /webhooks/shopify: the HMAC of the raw body decides, before anything is read; a
genuine delivery is stored once per shop, topic and Shopify event."""

from __future__ import annotations

import orjson
import pytest
import shopify_payloads as shopify
from shopify_harness import SHOP, shopify_headers
from sqlalchemy import func, select

from loyalty_sdk.core.storage import inbox as inbox_table


def stored(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox_table)).scalar_one()


BODY = orjson.dumps(shopify.order())


def test_a_genuine_delivery_is_stored_and_answered_200(client, runtime):
    answer = client.post("/webhooks/shopify", content=BODY, headers=shopify_headers(BODY, "orders/paid",
                                                                                     event_id="e-1"))
    assert answer.status_code == 200 and answer.json() == {"accepted": True}
    assert stored(runtime) == 1


@pytest.mark.parametrize("tamper", ["wrong-secret", "changed-body", "missing", "garbage"])
def test_a_delivery_without_a_valid_hmac_is_401_and_leaves_nothing(client, runtime, tamper):
    headers = shopify_headers(BODY, "orders/paid", secret="another-app" if tamper == "wrong-secret" else
                              "shpss_test_app_secret_not_for_production")
    body = BODY.replace(b'"30.00"', b'"3000.00"') if tamper == "changed-body" else BODY
    if tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    if tamper == "garbage":
        headers["X-Shopify-Hmac-Sha256"] = "not base64 at all"
    answer = client.post("/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_signature"
    assert stored(runtime) == 0


def test_without_the_app_secret_configured_every_delivery_is_refused(client, runtime, monkeypatch):
    monkeypatch.delenv("LOYALTY_SHOPIFY_API_SECRET")
    answer = client.post("/webhooks/shopify", content=BODY, headers=shopify_headers(BODY, "orders/paid"))
    assert answer.status_code == 401
    assert stored(runtime) == 0


def test_header_names_are_case_insensitive(client, runtime):
    headers = {name.lower(): value for name, value in shopify_headers(BODY, "orders/paid").items()}
    assert client.post("/webhooks/shopify", content=BODY, headers=headers).status_code == 200
    assert stored(runtime) == 1


def test_the_same_event_delivered_again_is_stored_once(deliver, runtime):
    assert deliver("orders/paid", shopify.order(), event_id="e-1").json() == {"accepted": True}
    again = deliver("orders/paid", shopify.order(), event_id="e-1")  # a retry: new webhook id, same event
    assert again.json() == {"accepted": True, "duplicate": True}
    assert stored(runtime) == 1


def test_one_merchant_action_firing_several_topics_keeps_each(deliver, runtime):
    deliver("orders/paid", shopify.order(), event_id="e-1")
    deliver("customers/update", shopify.customer(), event_id="e-1")
    assert stored(runtime) == 2


def test_without_an_event_id_the_webhook_id_identifies_the_delivery(deliver, runtime):
    deliver("orders/paid", shopify.order(), webhook_id="w-1")
    assert deliver("orders/paid", shopify.order(), webhook_id="w-1").json()["duplicate"] is True
    assert stored(runtime) == 1


def test_a_genuine_delivery_for_a_shop_that_is_not_ours_is_acknowledged_and_dropped(deliver, runtime):
    answer = deliver("orders/paid", shopify.order(), shop="someone-else.myshopify.com")
    assert answer.status_code == 200 and answer.json() == {"accepted": False}
    assert stored(runtime) == 0


def test_shop_domain_case_does_not_matter(deliver, runtime):
    deliver("orders/paid", shopify.order(), shop=SHOP.upper(), event_id="e-9")
    with runtime.db.connect() as conn:
        assert conn.execute(select(inbox_table.c.shop_id)).scalar_one() == SHOP
