"""The server's commands: API keys, outbound webhooks, the custom shop's webhook secret and
the inbox, as an operator uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_cli import _env, as_json, assert_clean_error, invoke

from loyalty_sdk.server.app import create_app
from loyalty_sdk.server.custom import webhook_secret
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings

SECRET = "cli-secret-key"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    env = _env(tmp_path / "ledger.db", LOYALTY_SECRET_KEY=SECRET)
    assert invoke(["shops", "add", "custom", "north.example"], env).exit_code == 0
    return env


def test_a_created_key_works_is_shown_once_and_a_revoked_one_is_refused(env):
    created = as_json(invoke(["apikey", "create", "--shop", "north.example", "--scope", "write", "--json"], env))
    revoked = as_json(invoke(["apikey", "create", "--shop", "north.example", "--json"], env))
    assert created["key"].startswith("lk_") and (created["scope"], revoked["scope"]) == ("write", "read")
    assert as_json(invoke(["apikey", "revoke", str(revoked["id"]), "--json"], env))["revoked_at"]
    listed = as_json(invoke(["apikey", "list", "--json"], env))["keys"]
    assert [k["id"] for k in listed] == [created["id"], revoked["id"]]
    assert created["key"] not in str(listed)  # shown once, never again
    runtime = Runtime(Settings(database_url=env["LOYALTY_DATABASE_URL"]), entry_points=False)
    with TestClient(create_app(runtime, embedded=False)) as client:
        enrolled = client.post("/api/v1/members", json={"customer_id": "c1"},
                               headers={"authorization": f"Bearer {created['key']}"})
        refused = client.get("/api/v1/members", params={"customer_id": "c1"},
                             headers={"authorization": f"Bearer {revoked['key']}"})
    runtime.close()
    assert enrolled.status_code == 201
    assert refused.status_code == 401


def test_a_key_for_an_unknown_shop_is_refused_by_name(env):
    assert_clean_error(invoke(["apikey", "create", "--shop", "nowhere.example"], env), "nowhere.example")


def test_the_webhook_secret_of_a_custom_shop_is_printed_from_the_secret_key(env):
    shown = as_json(invoke(["shops", "secret", "north.example", "--json"], env))
    assert shown["webhook_secret"] == webhook_secret(SECRET, "north.example")


def test_webhook_secrets_need_a_secret_key(env):
    env = {**env, "LOYALTY_SECRET_KEY": None}
    assert_clean_error(invoke(["shops", "secret", "north.example"], env), "LOYALTY_SECRET_KEY")


def test_an_outbound_endpoint_is_added_with_its_secret_and_listed(env):
    added = as_json(invoke(["webhooks", "add", "https://crm.example/hooks", "--shop", "north.example",
                            "--kind", "tier_changed", "--json"], env))
    assert added["kinds"] == ["tier_changed"] and len(added["secret"]) == 64
    listed = as_json(invoke(["webhooks", "list", "--json"], env))["endpoints"]
    assert [(e["url"], e["deliveries"]) for e in listed] == [
        ("https://crm.example/hooks", {"pending": 0, "done": 0, "dead": 0})]


def test_a_bad_endpoint_is_refused_naming_what_is_wrong(env):
    assert_clean_error(invoke(["webhooks", "add", "crm.example/hooks", "--shop", "north.example"], env), "http")
    assert_clean_error(invoke(["webhooks", "add", "https://crm.example", "--shop", "north.example",
                               "--kind", "everything"], env), "everything")


def test_webhooks_retry_with_nothing_dead_retries_nothing(env):
    assert as_json(invoke(["webhooks", "retry", "--json"], env)) == {"retried": 0}
    assert as_json(invoke(["webhooks", "retry", "--endpoint", "7", "--shop", "north.example", "--json"], env)) == \
        {"retried": 0}


def test_inbox_retry_needs_ids_or_all(env):
    assert_clean_error(invoke(["inbox", "retry"], env), "--all")
    assert as_json(invoke(["inbox", "retry", "--all", "--json"], env)) == {"retried": 0}


def test_inbox_show_of_an_unknown_delivery_says_so(env):
    assert_clean_error(invoke(["inbox", "show", "42"], env), "42")


def test_members_redact_erases_personal_data_once(env):
    from loyalty_sdk.facade import Loyalty

    with Loyalty(env["LOYALTY_DATABASE_URL"], entry_points=False) as loyalty:
        member = loyalty.enroll("c-ada", email="ada@example.com", name="Ada")
    first = as_json(invoke(["members", "redact", "ada@example.com", "--json"], env))
    assert first == {"member_id": member.id, "redacted": True}
    with Loyalty(env["LOYALTY_DATABASE_URL"], entry_points=False) as loyalty:
        erased = loyalty.member(member.id)
    assert (erased.customer_id, erased.email, erased.name) == (None, None, None)
    assert_clean_error(invoke(["members", "redact", "ada@example.com"], env), "ada@example.com")  # gone


def test_a_shop_setting_is_set_as_json_or_text_and_unset(env):
    assert as_json(invoke(["shops", "set", "north.example", "exclude_sources", '["pos"]', "--json"], env)) == {
        "shop": "north.example", "settings": {"exclude_sources": ["pos"]}}
    shown = as_json(invoke(["shops", "set", "north.example", "money", "presentment", "--json"], env))
    assert shown["settings"] == {"exclude_sources": ["pos"], "money": "presentment"}
    shown = as_json(invoke(["shops", "set", "north.example", "money", "--unset", "--json"], env))
    assert shown["settings"] == {"exclude_sources": ["pos"]}
    assert_clean_error(invoke(["shops", "set", "nowhere.example", "money", "x"], env), "nowhere.example")
    assert_clean_error(invoke(["shops", "set", "north.example", "access_token", "x"], env), "access_token")
