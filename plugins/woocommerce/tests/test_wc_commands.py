"""``loyalty woocommerce ...`` through the real ``loyalty`` command: connect a store (its keys
sealed, never shown), pull what webhooks missed, report and re-enable the store's webhooks."""

from __future__ import annotations

import json

import pytest
import wc_payloads as wc
from typer.testing import CliRunner
from wc_harness import CONSUMER_KEY, CONSUMER_SECRET, SHOP, webhook

from loyalty_sdk.cli import app

PROGRAM_TOML = """
[earn]
points_per_unit = 1
pending_days = 0
"""


@pytest.fixture
def loyalty(loyalty_database_url, tmp_path, monkeypatch, store):
    """``loyalty(*args)``: the command's JSON answer, on the test's database."""
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM_TOML)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", loyalty_database_url)
    monkeypatch.setenv("LOYALTY_PROGRAM", str(program))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> dict:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    run("shops", "add", "woocommerce", SHOP, "--currency", "USD")
    return run


def test_connect_keeps_the_keys_sealed_and_shops_set_never_shows_them(loyalty, store):
    done = loyalty("woocommerce", "connect", SHOP, "--consumer-key", CONSUMER_KEY, "--consumer-secret",
                   CONSUMER_SECRET, "--webhook-secret", "s3cret", "--api-url", store.url)
    assert done == {"shop": SHOP, "api_url": store.url, "consumer_key": True, "consumer_secret": True,
                    "webhook_secret": True}
    shown = loyalty("shops", "set", SHOP, "sync_minutes", "5")
    assert shown["settings"] == {"api_url": store.url, "sync_minutes": 5}
    assert CONSUMER_SECRET not in json.dumps(shown)


def test_sync_pulls_and_applies_what_the_webhooks_missed(loyalty, store):
    loyalty("woocommerce", "connect", SHOP, "--consumer-key", CONSUMER_KEY, "--consumer-secret", CONSUMER_SECRET,
            "--api-url", store.url)
    store.put(wc.order(status="completed"))
    store.put(wc.order(order_id=728, status="pending", paid=None, modified="2026-03-02T11:00:00"))
    answer = loyalty("woocommerce", "sync", "--since", "2026-03-01")
    [report] = answer["shops"]
    assert (report["orders"], report["stored"], report["error"]) == (2, 2, None)
    assert answer["applied"]["done"] == 2
    member = loyalty("members", "show", wc.EMAIL, "--shop", SHOP)["member"]
    assert member["available"] == 54
    assert loyalty("woocommerce", "sync")["shops"][0]["stored"] == 0


def test_a_store_without_keys_is_a_clear_error_not_a_traceback(loyalty):
    answer = loyalty("woocommerce", "sync", code=1)
    assert "no REST API keys" in answer["shops"][0]["error"]
    result = CliRunner().invoke(app, ["woocommerce", "webhooks"])
    assert result.exit_code == 1 and "no REST API keys" in result.stderr and "Traceback" not in result.output


def test_webhooks_reports_their_status_and_re_enables_disabled_ones(loyalty, store):
    loyalty("woocommerce", "connect", SHOP, "--consumer-key", CONSUMER_KEY, "--consumer-secret", CONSUMER_SECRET,
            "--api-url", store.url)
    store.webhooks = [webhook(1, "order.updated", "disabled"), webhook(2, "order.created"),
                      webhook(3, "product.updated"), webhook(4, "customer.created", delivery_url="https://x.example/")]
    listed = {(row["topic"], row["status"]) for row in loyalty("woocommerce", "webhooks")["webhooks"]}
    assert ("order.updated", "disabled") in listed and ("order.created", "active") in listed
    assert ("customer.created", "missing") in listed and not any(topic == "product.updated" for topic, _ in listed)
    enabled = loyalty("woocommerce", "webhooks", "--enable")["webhooks"]
    assert [(row["id"], row["was"], row["status"]) for row in enabled if row["id"] == 1] == [(1, "disabled", "active")]
    assert store.webhooks[0]["status"] == "active" and store.webhooks[3]["status"] == "active"
