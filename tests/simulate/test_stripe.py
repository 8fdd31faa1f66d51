"""Reading Stripe's payments export CSV: intents and charges, refunds, currencies, awkward rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import MemberRef
from loyalty_sdk.core.money import Money
from loyalty_sdk.simulate import read_history

HEADER = ("id,Description,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Converted Amount,Fee,Status,"
          "Customer ID,Customer Email,PaymentIntent ID\n")
ROWS = [
    'ch_1,"Mug, blue",2026-03-02 10:00:00,25.99,0.00,usd,true,25.99,1.05,Paid,cus_1,jenny@example.com,pi_1',
    'ch_2,Order 2,2026-03-02 11:00:00,"1,200.00",200.00,eur,true,1300.00,3.00,Partially Refunded,,ada@example.com,pi_2',
    "ch_3,Order 3,2026-03-02 12:00:00,5000,0,jpy,true,33.00,1.00,Paid,cus_3,,pi_3",
    "py_4,Bank debit,2026-03-02 13:00:00,10.000,0.000,kwd,true,32.00,0.50,Paid,cus_4,,",
    "ch_5,Declined,2026-03-02 14:00:00,12.00,0.00,usd,false,0.00,0.00,Failed,cus_5,,pi_5",
    "ch_6,Auth only,2026-03-02 14:00:00,12.00,0.00,usd,false,0.00,0.00,Paid,cus_6,,pi_6",
    "ch_7,Anonymous,2026-03-02 15:00:00,8.00,0.00,usd,true,8.00,0.30,Paid,,,pi_7",
    "ch_8,Too precise,2026-03-02 15:00:00,8.001,0.00,usd,true,8.00,0.30,Paid,cus_8,,pi_8",
    "ch_9,Refund > paid,2026-03-02 15:00:00,8.00,9.00,usd,true,8.00,0.30,Refunded,cus_9,,pi_9",
    "ch_10,No date,,8.00,0.00,usd,true,8.00,0.30,Paid,cus_10,,pi_10",
    "ch_11,Twice,2026-03-02 15:00:00,8.00,0.00,usd,true,8.00,0.30,Paid,cus_1,,pi_1",
]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "unified_payments.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_paid_rows_become_orders_keyed_on_the_payment_intent(export: Path) -> None:
    history = read_history(export, "stripe")
    orders = {order.order_id: order for order in history.orders}
    assert sorted(orders) == ["pi_1", "pi_2", "pi_3", "py_4"]  # a payment without an intent keys on its id
    mug = orders["pi_1"]
    assert mug.member == MemberRef("cus_1", "jenny@example.com")
    assert mug.placed_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert mug.lines[0].unit_price == Money("25.99", "USD") and mug.source == "stripe"
    assert orders["pi_2"].member == MemberRef(email="ada@example.com")
    assert orders["pi_2"].lines[0].unit_price == Money("1200.00", "EUR")  # the thousands comma, quoted
    assert orders["pi_3"].lines[0].unit_price == Money("5000", "JPY")
    assert orders["py_4"].lines[0].unit_price == Money("10.000", "KWD")
    assert history.unpaid == 2  # failed, and authorized but never captured
    assert [(g.currency, g.net_minor) for g in history.guests] == [("USD", 800)]
    (refund,) = history.refunds
    assert (refund.order_id, refund.amount, refund.to_date) == ("pi_2", Money("200.00", "EUR"), True)
    assert [(b.line, b.reason) for b in history.bad_rows] == [
        (9, "payment ch_8: amount 8.001 has more decimals than Stripe keeps for USD"),
        (10, "payment ch_9: Amount Refunded 9.00 is more than the Amount 8.00"),
        (11, "payment ch_10: Created date (UTC) '' is not a date and time"),
        (12, "payment ch_11: payment pi_1 already appears on line 2"),
    ]


def test_fingerprints_match_the_stripe_plugin(export: Path) -> None:
    from loyalty_stripe.webhooks import paid_for

    orders = {order.order_id: order for order in read_history(export, "stripe").orders}
    assert orders["pi_1"].fingerprint == paid_for("pi_1", 2599, "usd")
    assert orders["pi_3"].fingerprint == paid_for("pi_3", 5000, "jpy")     # zero-decimal at Stripe
    assert orders["py_4"].fingerprint == paid_for("py_4", 10000, "kwd")    # three-decimal at Stripe


def test_missing_columns_and_strict(tmp_path: Path, export: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,Amount\nch_1,1.00\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="missing column.*Created date"):
        read_history(path, "stripe")
    with pytest.raises(InvalidInput, match=r"unified_payments\.csv:9: payment ch_8"):
        read_history(export, "stripe", strict=True)
