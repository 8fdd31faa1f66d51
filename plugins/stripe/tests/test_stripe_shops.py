"""Several Stripe accounts on one server: each shop's own signing secret and API key, kept
sealed, set with ``loyalty stripe connect``."""

from __future__ import annotations

import json
import os

import pytest
import stripe_events as stripe_event
from typer.testing import CliRunner

from loyalty_sdk.cli import app
from loyalty_sdk.core.storage import shops

runner = CliRunner()
SECRET_KEY = "stripe-tests-secret-key"


@pytest.fixture
def connect(runtime, loyalty_database_url, monkeypatch):
    """``connect(*args)``: ``loyalty stripe connect`` on the server's database."""
    monkeypatch.setenv("LOYALTY_SECRET_KEY", SECRET_KEY)
    env = {name: None for name in os.environ if name.startswith(("LOYALTY_", "STRIPE_"))}
    env.update(LOYALTY_DATABASE_URL=loyalty_database_url, LOYALTY_SECRET_KEY=SECRET_KEY)
    return lambda *args: runner.invoke(app, ["stripe", "connect", *args], env=env)


def test_a_shop_with_its_own_secret_accepts_only_events_signed_with_it(runtime, client, send, process, connect):
    runtime.add_shop("acme", "stripe")
    result = connect("acme", "--webhook-secret", "whsec_acme_own", "--json")
    assert json.loads(result.stdout) == {"shop": "acme", "credentials": ["stripe_webhook_secret"]}
    runtime.forget("acme")  # the server's shop cache, as the CLI ran in another process
    event = stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent())
    assert send(event, path="/webhooks/stripe/acme").status_code == 401  # signed with the server's secret
    body, headers = stripe_event.signed(event, secret="whsec_acme_own")
    assert client.post("/webhooks/stripe/acme", content=body, headers=headers).json() == {"accepted": True}
    process()
    assert runtime.loyalty("acme").balance("cus_1").available == 25
    with runtime.db.connect() as conn:
        stored = str(conn.execute(shops.select().where(shops.c.id == "acme")).one().settings)
    assert "whsec_acme_own" not in stored  # sealed at rest


def test_a_shops_own_api_key_issues_its_rewards(runtime, send, process, connect, api):
    runtime.add_shop("acme", "stripe")
    assert connect("acme", "--api-key", "sk_test_acme_own").exit_code == 0
    runtime.forget("acme")
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=10000)),
         path="/webhooks/stripe/acme")
    process()
    runtime.loyalty("acme").redeem("cus_1", "5-off", idempotency_key="r1")
    keys = {headers.get("authorization") for _, _, headers in api.stand_in.calls if headers[":method"] == "POST"}
    assert keys == {"Bearer sk_test_acme_own"}


def test_a_credential_in_the_wrong_field_is_refused_without_being_echoed(runtime, connect):
    runtime.add_shop("acme", "stripe")
    result = connect("acme", "--webhook-secret", "sk_live_oops")
    assert result.exit_code != 0
    assert "webhook_secret must start with whsec_" in result.stderr and "sk_live_oops" not in result.output
    assert connect("nowhere", "--webhook-secret", "whsec_x").exit_code != 0
