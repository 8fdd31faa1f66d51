"""``loyalty simulate`` end to end: JSON, tables, --compare, bad rows and --strict."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loyalty_sdk.cli import app

runner = CliRunner()

# The plain program with a richer earn rate and no tiers: the same orders, twice the points.
GENEROUS = """
[program]
name = "Generous"

[earn]
points_per_unit = 2
pending_days = 0
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    # The live database must stay untouched: it is never even created.
    cleared: dict[str, str | None] = {name: None for name in os.environ if name.startswith("LOYALTY_")}
    return {**cleared, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/live.db"}


def test_compare_two_programs_as_json(program_file, generic_csv, small_history, env, tmp_path: Path) -> None:
    small_history.append({"kind": "order", "order_id": "X", "at": "2026-01-04T10:00:00Z", "customer_id": "c3",
                          "currency": "USD", "price": "oops"})
    plain, generous = program_file(), program_file("generous", text=GENEROUS)
    result = runner.invoke(app, ["simulate", "--program", str(plain), "--orders", str(generic_csv(small_history)),
                                 "--compare", str(generous), "--redemption-rate", "0.5", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["assumptions"]["redemption_rate"] == "0.5"
    assert data["input"]["bad_rows"] == [{"file": data["input"]["file"], "line": 7,
                                          "reason": "price 'oops' is not an amount in USD"}]
    assert "orders.csv:7: price 'oops'" in result.stderr
    plain_books, generous_books = data["programs"]
    assert plain_books["points"]["issued"] == 430  # see test_replay.test_small_history_by_hand
    # Generous: 2 points a dollar, no tiers: (150 + 80 + 100 + 50) * 2 = 760 issued; R1 takes back
    # 80 * 2 * 40 / 80 = 80. Redeemed floor(0.5 * 600) + floor(0.5 * 80) = 300 + 40 = 340.
    assert generous_books["program"] == "Generous"
    assert generous_books["points"] == {"issued": 760, "clawed_back": 80, "redeemed": 340, "expired": 0,
                                        "outstanding": 340}
    assert generous_books["discount_cost"] == {"amount": "3.40", "currency": "USD", "share_of_revenue": "0.0100"}
    assert generous_books["tiers"]["crossed"] == {}
    assert not (tmp_path / "live.db").exists()


def test_tables_side_by_side_and_html(program_file, generic_csv, small_history, env, tmp_path: Path) -> None:
    plain, generous = program_file(), program_file("generous", text=GENEROUS)
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["simulate", "--program", str(plain), "--orders", str(generic_csv(small_history)),
                                 "--compare", str(generous), "--html", str(page)], env=env)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    for needle in ("Plain", "Generous", "points issued", "customers reaching vip", "c1"):
        assert needle in result.stdout
        assert needle in html
    assert f"wrote {page}" in result.stdout
    assert "<script" not in html and "src=" not in html and "<link" not in html
    # Charts: each program's points side by side, their costs, and members per tier by month.
    assert html.count('aria-label="points issued, redeemed, expired and outstanding under') == 2
    assert 'aria-label="liability and discount cost per program"' in html
    assert 'aria-label="members per tier at the end under Plain' in html and "Generous (" in html


def test_strict_fails_with_the_line(program_file, generic_csv, small_history, env) -> None:
    small_history[2]["at"] = "yesterday"
    result = runner.invoke(app, ["simulate", "--program", str(program_file()), "--orders",
                                 str(generic_csv(small_history)), "--strict"], env=env)
    assert result.exit_code == 2, result.output
    assert "orders.csv:4: at 'yesterday' is not a date and time" in result.stderr
    assert "Traceback" not in result.output


def test_bad_rate_is_a_clean_error(program_file, generic_csv, small_history, env) -> None:
    result = runner.invoke(app, ["simulate", "--program", str(program_file()), "--orders",
                                 str(generic_csv(small_history)), "--redemption-rate", "most"], env=env)
    assert result.exit_code == 2
    assert "--redemption-rate must be a decimal" in result.stderr


def test_members_per_tier_are_drawn_month_by_month() -> None:
    from loyalty_sdk.simulate.charts import render_charts

    months = [{"month": f"2026-0{n}", "tiers": {"member": 10 - n, "vip": n}} for n in (1, 2, 3)]
    result = {"program": "Plain", "file": "plain.toml", "revenue": {"amount": "10.00", "currency": "USD"},
              "points": {"issued": 900, "redeemed": 500, "expired": 100, "outstanding": 300},
              "liability": {"amount": "3.00", "currency": "USD"}, "discount_cost": {"amount": "5.00", "currency": "USD"},
              "tiers": {"end": {"member": 7, "vip": 3}, "monthly": months}}
    html = render_charts({"programs": [result]})
    # One line per tier, each through its three months, labelled with the counts.
    assert html.count("<polyline") == 2
    assert html.count("<title>2026-03: 3</title>") == 1 and "<title>2026-01: 9</title>" in html
    assert 'aria-label="liability and discount cost per program"' in html and ">5.00<" in html
