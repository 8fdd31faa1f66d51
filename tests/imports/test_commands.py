"""``loyalty import orders`` and ``loyalty import balances`` end to end: JSON, tables, bad rows,
--dry-run and --strict."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loyalty_sdk.cli import app

runner = CliRunner()

ORDERS = '''kind,order_id,at,customer_id,email,currency,price,quantity
order,A1,2026-01-05T10:00:00Z,c1,,USD,100.00,1
order,A2,2026-01-06T10:00:00Z,c1,,USD,oops,1
refund,A1,2026-01-09T10:00:00Z,,,USD,,
'''
BALANCES = '''customer_id,email,balance,tier,lifetime_points,expires_at,name
c1,ada@example.com,500,,900,,"Lovelace, Ada"
c2,,ten,,,,
'''


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    cleared: dict[str, str | None] = {name: None for name in os.environ if name.startswith("LOYALTY_")}
    program = tmp_path / "loyalty.toml"
    program.write_text('[program]\nname = "Plain"\ntimezone = "UTC"\n\n[earn]\npending_days = 0\n', encoding="utf-8")
    return {**cleared, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/loyalty.db", "LOYALTY_PROGRAM": str(program)}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    orders, balances = tmp_path / "orders.csv", tmp_path / "members.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    balances.write_text(BALANCES, encoding="utf-8")
    return orders, balances


def invoke(env: dict[str, str | None], *args: str):
    return runner.invoke(app, ["import", *args], env=env)


def test_orders_with_earn_as_json_then_again(env, files) -> None:
    orders, _ = files
    result = invoke(env, "orders", str(orders), "--platform", "generic", "--earn", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["earned"], data["points"], data["members_enrolled"]) == (1, 100, 1)
    assert data["bad_rows"] == [
        {"file": str(orders), "line": 3, "reason": "price 'oops' is not an amount in USD"},
        {"file": str(orders), "line": 4, "reason": "amount is empty"},
    ]
    again = json.loads(invoke(env, "orders", str(orders), "--platform", "generic", "--earn", "--json").stdout)
    assert (again["earned"], again["already_recorded"]) == (0, 1)
    shown = runner.invoke(app, ["members", "show", "c1", "--json"], env=env)
    assert json.loads(shown.stdout)["member"]["available"] == 100


def test_orders_table_and_bad_rows_on_stderr(env, files) -> None:
    orders, _ = files
    result = invoke(env, "orders", str(orders), "--platform", "generic")
    assert result.exit_code == 0, result.output
    assert "orders.csv:3: price 'oops' is not an amount in USD" in result.stderr
    assert "recorded for analytics" in result.stdout


def test_strict_and_unknown_platform_exit_2(env, files) -> None:
    orders, balances = files
    result = invoke(env, "orders", str(orders), "--platform", "generic", "--earn", "--strict")
    assert result.exit_code == 2 and "orders.csv:3: price 'oops'" in result.stderr
    assert invoke(env, "orders", str(orders), "--platform", "magento").exit_code == 2
    result = invoke(env, "balances", str(balances), "--strict")
    assert result.exit_code == 2 and "members.csv:3: balance 'ten'" in result.stderr
    shown = runner.invoke(app, ["members", "show", "c1", "--json"], env=env)
    assert shown.exit_code == 2  # nothing was written: c1 is not a member


def test_balances_dry_run_then_import(env, files) -> None:
    _, balances = files
    dry = invoke(env, "balances", str(balances), "--dry-run", "--source", "smile.io export members.csv")
    assert dry.exit_code == 0, dry.output
    assert "would import 1 members (500 points, 1 newly enrolled)" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert "members.csv:3: balance 'ten'" in dry.stderr
    assert runner.invoke(app, ["members", "show", "c1", "--json"], env=env).exit_code == 2
    done = invoke(env, "balances", str(balances), "--source", "smile.io export members.csv", "--json")
    data = json.loads(done.stdout)
    assert (data["imported"], data["source"]) == (1, "smile.io export members.csv")
    assert data["members"][0]["lifetime_points"] == 900
    member = json.loads(runner.invoke(app, ["members", "show", "c1", "--json"], env=env).stdout)
    assert member["member"]["available"] == 500
    assert any(line["reason"] == "starting balance imported from smile.io export members.csv"
               for line in member["history"])
