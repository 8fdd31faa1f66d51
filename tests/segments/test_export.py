"""Segments from a plugin, and exports a merchant pushes to an e-mail or ads tool: CSV from
``loyalty segments export`` and from ``GET /api/v1/segments/{name}``."""

from __future__ import annotations

import csv
import io
import os

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from loyalty_sdk.cli import app
from loyalty_sdk.core.errors import PluginError
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.storage import members
from loyalty_sdk.segments import Segment, export
from loyalty_sdk.server.auth import create_key
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

from . import PROGRAM, PROGRAM_TOML, buy, customers

ADMIN_KEY = "test-admin-key-0123456789abcdef"
AT_T0 = ["--as-of", "2026-03-02T15:00Z"]


class BigBalances:
    """A rule writer's segment: members holding at least ``min`` points."""

    @hookimpl
    def loyalty_segments(self, program):
        def query(ctx):
            m = members.c
            return select(m.id.label("member_id"), m.lifetime_points).where(
                m.shop_id == ctx.shop_id, m.available >= ctx.params["min"])

        return [Segment("big-balances", "At least `min` points to spend.", query, {"min": 100})]


def test_a_plugin_adds_a_segment(loyalty_at):
    books = loyalty_at(plugins=[BigBalances()])
    buy(books, "small", 50, days_ago=1)
    buy(books, "big", 150, days_ago=1)
    buy(books, "bigger", 400, days_ago=1)
    assert customers(export(books, "big-balances")) == ["big", "bigger"]
    result = export(books, "big-balances", {"min": "200"})
    assert [(r["customer_id"], r["balance"], r["lifetime_points"]) for r in result.members] == [("bigger", 400, 400)]


def test_two_plugins_cannot_name_the_same_segment(loyalty_at):
    books = loyalty_at(plugins=[BigBalances(), BigBalances()])
    with pytest.raises(PluginError, match="two plugins contribute the segment 'big-balances'"):
        export(books, "big-balances")


@pytest.fixture
def shop_books(loyalty_at):
    """The default shop: two members whose points expire within 30 days, one later."""
    books = loyalty_at()
    buy(books, "ada", 40, days_ago=160)
    buy(books, "bob", 25, days_ago=170)
    buy(books, "cy", 40, days_ago=100)
    return books


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_cli_exports_a_segment_as_csv(shop_books, database_url, tmp_path):
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM_TOML)
    env = {**{name: None for name in os.environ if name.startswith("LOYALTY_")},
           "LOYALTY_DATABASE_URL": database_url, "LOYALTY_PROGRAM": str(program), "LOYALTY_LOAD_PLUGINS": "none"}
    runner = CliRunner()
    result = runner.invoke(app, ["segments", "export", "points-expiring", "--csv", *AT_T0], env=env)
    assert result.exit_code == 0, result.output
    exported = rows(result.stdout)
    assert [(r["customer_id"], r["email"], r["name"], r["tier"], r["balance"], r["expiring_points"])
            for r in exported] == [("ada", "ada@example.com", "ADA", "bronze", "40", "40"),
                                   ("bob", "bob@example.com", "BOB", "bronze", "25", "25")]
    wider = runner.invoke(app, ["segments", "export", "points-expiring", "--csv", "--param", "days=90", *AT_T0], env=env)
    assert [r["customer_id"] for r in rows(wider.stdout)] == ["ada", "bob", "cy"]
    listed = runner.invoke(app, ["segments", "list", "--json"], env=env)
    assert {"tier-gold", "rfm", "at-risk", "points-expiring", "near-next-tier", "never-redeemed"} <= {
        s["name"] for s in __import__("json").loads(listed.stdout)["segments"]}
    refused = runner.invoke(app, ["segments", "export", "points-expiring", "--param", "weeks=2"], env=env)
    assert refused.exit_code == 2 and "has no parameter 'weeks'" in refused.stderr


@pytest.fixture
def client(shop_books, database_url, clock):
    settings = Settings(database_url=database_url, api_key=ADMIN_KEY)
    with Runtime(settings, program=PROGRAM, plugins=[BigBalances()], clock=clock, entry_points=False) as runtime:
        runtime.add_shop("other.example", "custom")
        with serving(runtime) as http:
            http.runtime = runtime
            yield http


ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


def test_the_api_lists_segments_and_exports_json_or_csv(client):
    listed = client.get("/api/v1/segments", headers=ADMIN)
    assert listed.status_code == 200
    names = {s["name"]: s for s in listed.json()["segments"]}
    assert names["at-risk"]["params"] == {"days": 60} and "big-balances" in names

    as_json = client.get("/api/v1/segments/points-expiring", headers=ADMIN)
    assert as_json.status_code == 200
    assert [(m["customer_id"], m["expiring_points"]) for m in as_json.json()["members"]] == [("ada", 40), ("bob", 25)]

    as_csv = client.get("/api/v1/segments/points-expiring?format=csv&days=90", headers=ADMIN)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert [r["customer_id"] for r in rows(as_csv.text)] == ["ada", "bob", "cy"]
    accepted = client.get("/api/v1/segments/points-expiring", headers={**ADMIN, "accept": "text/csv"})
    assert rows(accepted.text)[0]["email"] == "ada@example.com"


def test_the_api_pages_through_a_segment_at_one_moment(client, clock):
    whole = client.get("/api/v1/segments/points-expiring?days=90", headers=ADMIN).json()
    assert [m["customer_id"] for m in whole["members"]] == ["ada", "bob", "cy"] and whole["next"] is None
    csv_page = client.get("/api/v1/segments/points-expiring?days=90&limit=1&format=csv", headers=ADMIN)
    assert [r["customer_id"] for r in rows(csv_page.text)] == ["ada"] and 'rel="next"' in csv_page.headers["link"]
    pages, answer = [], client.get("/api/v1/segments/points-expiring?days=90&limit=2", headers=ADMIN)
    clock.advance(days=400)  # later pages are still evaluated at the first page's moment
    while True:
        assert answer.status_code == 200
        page = answer.json()
        pages.append([m["customer_id"] for m in page["members"]])
        if page["next"] is None:
            assert "link" not in answer.headers
            break
        link = answer.headers["link"]
        assert link.endswith('>; rel="next"') and "days=90" in link and "limit=2" in link
        answer = client.get(link[1:link.index(">")], headers=ADMIN)
    assert pages == [["ada", "bob"], ["cy"]]
    assert client.get("/api/v1/segments/points-expiring?limit=0", headers=ADMIN).status_code == 422


def test_the_api_refuses_what_it_cannot_answer(client):
    assert client.get("/api/v1/segments").status_code == 401
    assert client.get("/api/v1/segments/nope", headers=ADMIN).json()["error"] == "segment_not_found"
    assert client.get("/api/v1/segments/at-risk?days=soon", headers=ADMIN).status_code == 422


def test_a_shop_key_sees_only_its_shop(client):
    key, _ = create_key(client.runtime.db, "other.example", "read")
    answer = client.get("/api/v1/segments/points-expiring", headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json()["members"] == []
    other_shop = client.get("/api/v1/segments/points-expiring?shop=default",
                            headers={"authorization": f"Bearer {key}"})
    assert other_shop.status_code == 403
