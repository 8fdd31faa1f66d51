"""The guides name what the code has: every route of this server they mention is served, and the
Shopify app configuration they show is the one the plugin ships, asking for the scopes it uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs").rglob("*.md"))
ROUTE = re.compile(r"`(GET|POST|PUT|DELETE) (/[^`?\s]*)[^`]*`")
OURS = ("/api/", "/webhooks/", "/shopify/", "/proxy", "/admin")  # not /apps/... (Shopify's) or /wp-json (a store's)


@pytest.fixture(scope="module")
def client():
    from loyalty_sdk.server.runtime import Runtime
    from loyalty_sdk.settings import Settings
    from loyalty_sdk.testing import serving

    runtime = Runtime(Settings(database_url="sqlite://"))
    try:
        with serving(runtime) as client:
            yield client
    finally:
        runtime.close()


def _mentioned() -> list[tuple[str, str, str]]:
    found = []
    for page in GUIDES:
        for method, path in ROUTE.findall(page.read_text(encoding="utf-8")):
            # "/analytics/..." and "/analytics/{summary,cohorts}" stand for several routes
            if path.startswith(OURS) and "..." not in path and not re.search(r"\{[^}]*,", path):
                found.append((page.relative_to(ROOT).as_posix(), method, path))
    return found


def test_the_guides_mention_routes() -> None:
    assert {path for _, _, path in _mentioned()} >= {"/webhooks/shopify", "/shopify/install", "/proxy/redeem"}


@pytest.mark.parametrize(("page", "method", "path"), _mentioned())
def test_every_route_a_guide_mentions_is_served(client, page: str, method: str, path: str) -> None:
    answer = client.request(method, re.sub(r"\{[^}]*\}", "1", path))
    # The router's own answers for a path or method it does not have; any other answer
    # (401 unsigned, 503 not configured, a problem document...) comes from a route.
    unrouted = answer.status_code == 405 or (answer.status_code == 404 and answer.json().get("detail") == "Not Found")
    assert not unrouted, f"{page}: {method} {path} is not served ({answer.status_code})"


def test_the_shopify_app_configuration_is_the_one_the_plugin_ships() -> None:
    from loyalty_shopify import oauth, shopify_api

    page = (ROOT / "docs" / "platforms" / "shopify.md").read_text(encoding="utf-8")
    shown = page.split('```toml title="shopify.app.toml"\n', 1)[1].split("\n```", 1)[0]
    shipped = (ROOT / "plugins" / "shopify" / "shopify.app.toml").read_text(encoding="utf-8")
    assert shown.strip() == shipped.strip()
    config = tomllib.loads(shown)
    assert config["access_scopes"]["scopes"].split(",") == list(oauth.SCOPES)
    topics = config["webhooks"]["subscriptions"][0]["topics"]
    assert {topic.upper().replace("/", "_") for topic in topics} == set(shopify_api.WEBHOOK_TOPICS)
