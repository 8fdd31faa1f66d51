"""Reading WooCommerce's REST order JSON: paid, unpaid, refunded, guests, awkward values."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loyalty_sdk.cli import app
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import MemberRef
from loyalty_sdk.core.money import Money
from loyalty_sdk.simulate import read_history


def wc_order(order_id: int, status: str = "completed", *, customer_id: int = 25, email: str = "john@example.com",
             lines: list[dict[str, Any]] | None = None, refunds: list[dict[str, Any]] | None = None,
             total: str = "66.00", currency: str = "EUR", paid: str | None = "2026-03-02T10:01:00") -> dict[str, Any]:
    return {
        "id": order_id, "status": status, "currency": currency, "customer_id": customer_id,
        "billing": {"first_name": "John", "last_name": "Doe", "email": email},
        "date_created_gmt": "2026-03-02T10:00:00", "date_modified_gmt": "2026-03-05T09:00:00",
        "date_paid_gmt": paid, "total": total,
        "line_items": lines if lines is not None else [
            {"id": 315, "name": "Hoodie, blue", "product_id": 93, "variation_id": 0, "quantity": 2,
             "subtotal": "40.00", "total": "36.00", "sku": "HOODIE", "price": 18.0},
            {"id": 316, "name": "Tee", "product_id": 22, "variation_id": 23, "quantity": 1,
             "subtotal": "20.00", "total": "18.00", "sku": "", "price": 18.0},
        ],
        "refunds": refunds or [],
    }


def write(tmp_path: Path, orders: Any) -> Path:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(orders), encoding="utf-8")
    return path


def test_a_paid_order_reads_as_the_plugin_reads_it(tmp_path: Path) -> None:
    history = read_history(write(tmp_path, [wc_order(727)]), "woocommerce")
    (order,) = history.orders
    assert order.order_id == "727" and order.fingerprint == "woocommerce-order-727"
    assert order.member == MemberRef("25", "john@example.com")
    assert order.placed_at == datetime(2026, 3, 2, 10, 1, tzinfo=UTC)  # paid, not created
    assert order.currency == "EUR"
    # What earns is each line's total after coupons: 36.00 + 18.00.
    assert sum(order.line_nets.values()) == 5400
    assert [line.product_id for line in order.lines] == ["93", "23"]  # the variation, when there is one
    assert order.lines[0].title == "Hoodie, blue"


def test_the_plugin_builds_the_same_order(tmp_path: Path) -> None:
    from loyalty_woocommerce import payloads, webhooks

    document = wc_order(727)
    (order,) = read_history(write(tmp_path, [document]), "woocommerce").orders
    assert webhooks.to_order(payloads.Order.model_validate(document)) == order


def test_unpaid_refunded_cancelled_and_guest_orders(tmp_path: Path) -> None:
    orders = [
        wc_order(1, "pending", paid=None),
        wc_order(2, "cancelled", paid=None),                       # cancelled before payment: never earned
        wc_order(3, "cancelled"),                                  # cancelled after payment: earn, then cancel
        wc_order(4, "refunded", refunds=[{"id": 90, "total": "-66.00"}]),
        wc_order(5, refunds=[{"id": 91, "total": "-11.00"}]),       # partly refunded, tax and shipping included
        wc_order(6, customer_id=0, email=""),                      # a guest with no email: revenue, no member
        wc_order(7, customer_id=0, email="Guest@Example.com"),      # a guest checkout earns by email
    ]
    history = read_history(write(tmp_path, {"orders": orders}), "woocommerce")
    assert history.unpaid == 2 and history.rows == 7
    assert sorted(order.order_id for order in history.orders) == ["3", "4", "5", "7"]
    assert next(o for o in history.orders if o.order_id == "7").member == MemberRef(email="guest@example.com")
    assert [(g.currency, g.net_minor) for g in history.guests] == [("EUR", 5400)]
    assert sorted(c.order_id for c in history.cancellations) == ["3", "4"]
    refunds = {r.refund_id: r for r in history.refunds}
    # 11.00 of a 66.00 order with 54.00 of merchandise: 9.00 of merchandise came back.
    assert refunds["91"].amount == Money("9.00", "EUR") and refunds["91"].order_id == "5"
    assert refunds["90"].amount == Money("54.00", "EUR")


def test_awkward_values_are_bad_rows(tmp_path: Path) -> None:
    float_money = wc_order(10)
    float_money["line_items"][0]["total"] = 36.0
    no_lines = wc_order(11, lines=[])
    bad_currency = wc_order(12, currency="EURO")
    history = read_history(write(tmp_path, [float_money, no_lines, bad_currency, "junk", wc_order(13)]),
                           "woocommerce")
    assert [order.order_id for order in history.orders] == ["13"]
    assert [(b.line, b.reason) for b in history.bad_rows] == [
        (1, "order 10: total must be a decimal string, got the number 36.0"),
        (2, "order 11: has no line items"),
        (3, "order 12: currency 'EURO' is not an ISO 4217 code"),
        (4, "not a JSON object"),
    ]
    with pytest.raises(InvalidInput, match=r"orders\.json:1: order 10"):
        read_history(write(tmp_path, [float_money]), "woocommerce", strict=True)


def test_not_json_at_all(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text("id,status\n1,paid\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="is not JSON"):
        read_history(path, "woocommerce")
    with pytest.raises(InvalidInput, match="expected a JSON array"):
        read_history(write(tmp_path, {"id": 1}), "woocommerce")


def test_simulate_replays_a_woocommerce_export(program_file, tmp_path: Path) -> None:
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("LOYALTY_")}
    env["LOYALTY_DATABASE_URL"] = f"sqlite:///{tmp_path}/live.db"
    orders = write(tmp_path, [wc_order(1, currency="USD"), wc_order(2, "pending", paid=None, currency="USD")])
    result = CliRunner().invoke(app, ["simulate", "--program", str(program_file()), "--orders", str(orders),
                                      "--format", "woocommerce", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["input"]["orders"], data["input"]["unpaid_orders"]) == (1, 1)
    assert data["programs"][0]["points"]["issued"] == 54
    assert not (tmp_path / "live.db").exists()
