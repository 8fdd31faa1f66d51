"""Reading order histories: the generic CSV and Shopify's orders export, awkward rows included."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import MemberRef
from loyalty_sdk.core.money import Money
from loyalty_sdk.simulate import BadRow, read_history

GENERIC = '''kind,order_id,at,customer_id,email,currency,price,quantity,discount,sku,collections,refund_id,amount
order,A1,2026-01-05T10:00:00Z,c1,,USD,100.00,1,,"MUG, BLUE",merch;gifts,,
order,A1,2026-01-05T10:00:00Z,c1,,USD,20.00,2,5.00,TOTE,,,
order,E1,2026-01-06T10:00:00+01:00,,Ada@Example.com,EUR,30.00,1,,,,,
order,G1,2026-01-06T11:00:00Z,,,USD,20.00,1,,,,,
refund,A1,2026-01-09T10:00:00Z,,,USD,,,,,,R-1,25.00
order,B1,2026-01-07T10:00:00Z,c2,,USD,"12,50",1,,"a ""quoted""
two-line sku",,,
order,B2,2026-01-07T10:00:00,c2,,USD,10.00,1,,,,,
order,B3,2026-01-07T10:00:00Z,c2,,XXX,10.00,1,,,,,
order,A1,2026-01-05T10:00:00Z,c9,,USD,1.00,1,,,,,
refund,ZZ,2026-01-09T10:00:00Z,,,USD,,,,,,,1.00
refund,E1,2026-01-09T10:00:00Z,,,USD,,,,,,,1.00
return,A1,2026-01-09T10:00:00Z,,,USD,,,,,,,1.00
'''


@pytest.fixture
def generic_file(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(GENERIC, encoding="utf-8")
    return path


def test_generic_rows(generic_file: Path) -> None:
    history = read_history(generic_file)
    orders = {order.order_id: order for order in history.orders}
    assert sorted(orders) == ["E1"]  # A1 lost a line to a bad row, so it is dropped whole
    euro = orders["E1"]
    assert euro.member == MemberRef(email="ada@example.com")
    assert euro.currency == "EUR" and euro.lines[0].unit_price == Money("30.00", "EUR")
    assert euro.placed_at == datetime(2026, 1, 6, 9, tzinfo=UTC)
    assert [(g.currency, g.net_minor) for g in history.guests] == [("USD", 2000)]
    file = str(generic_file)
    assert history.bad_rows == [
        BadRow(file, 7, "price '12,50' is not an amount in USD"),          # a quoted field spanning two lines
        BadRow(file, 9, "at '2026-01-07T10:00:00' has no UTC offset (write e.g. 2025-03-01T10:00:00Z)"),
        BadRow(file, 10, "currency 'XXX' is not an ISO 4217 code"),
        BadRow(file, 11, "order A1: customer, time or currency differs from its line 2"),
        BadRow(file, 14, "kind 'return' is neither order nor refund"),
        BadRow(file, 6, "refund of order 'A1', which is not in the file (or was dropped)"),
        BadRow(file, 12, "refund of order 'ZZ', which is not in the file (or was dropped)"),
        BadRow(file, 13, "refund in USD of order E1 paid in EUR"),
    ]
    assert history.rows == 12  # thirteen lines, one record spans two


def test_quoted_commas_and_refund_rows(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(GENERIC.splitlines()[0] + "\n" + "\n".join(GENERIC.splitlines()[1:6]) + "\n", encoding="utf-8")
    history = read_history(path)
    assert not history.bad_rows
    (order,) = [o for o in history.orders if o.order_id == "A1"]
    assert [line.sku for line in order.lines] == ["MUG, BLUE", "TOTE"]
    assert order.lines[0].collections == frozenset({"merch", "gifts"})
    assert order.lines[1].discount == Money("5.00", "USD")
    (refund,) = history.refunds
    assert (refund.refund_id, refund.order_id, refund.amount) == ("R-1", "A1", Money("25.00", "USD"))


def test_strict_stops_at_the_first_bad_row(generic_file: Path) -> None:
    with pytest.raises(InvalidInput, match=r"history\.csv:7: price '12,50'"):
        read_history(generic_file, strict=True)


def test_missing_columns_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("order_id,at\nA,2026-01-01T00:00:00Z\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="missing column.*kind"):
        read_history(path)
    with pytest.raises(InvalidInput, match="unknown order file format"):
        read_history(path, "magento")


# Shopify's export: one row per line item; order-level fields only on an order's first row.
SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Currency,Subtotal,Discount Amount,Created at,"
                  "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Cancelled at,"
                  "Refunded Amount,Id")
SHOPIFY = SHOPIFY_HEADER + '''
#1001,ada@example.com,paid,2026-01-05 10:00:05 -0500,USD,110.00,10.00,2026-01-05 10:00:00 -0500,1,"Mug, blue",60.00,MUG,0.00,,0.00,5001
#1001,,,,,,,,2,Tote,25.00,TOTE,5.00,,,
#1002,grace@example.com,partially_refunded,2026-01-06 09:00:00 +0000,CAD,40.00,0.00,2026-01-06 09:00:00 +0000,1,Kettle,40.00,KET,0.00,,15.00,5002
#1003,,paid,2026-01-06 10:00:00 +0000,USD,20.00,0.00,2026-01-06 10:00:00 +0000,1,Filters,20.00,FIL,0.00,,0.00,5003
#1004,alan@example.com,pending,,USD,20.00,0.00,2026-01-06 11:00:00 +0000,1,Filters,20.00,FIL,0.00,,0.00,5004
#1005,alan@example.com,voided,,USD,20.00,0.00,2026-01-06 12:00:00 +0000,1,Filters,20.00,FIL,0.00,,0.00,5005
#1006,alan@example.com,refunded,2026-01-07 12:00:00 +0000,USD,20.00,0.00,2026-01-07 12:00:00 +0000,1,Filters,20.00,FIL,0.00,2026-01-08 09:00:00 +0000,20.00,5006
#1007,edsger@example.com,paid,,USD,20.00,0.00,2026-01-07 12:00:00 +0000,one,Filters,20.00,FIL,0.00,,0.00,5007
#1007,,,,,,,,1,Mug,12.00,MUG,0.00,,,
#1008,,,,,,,,1,Mug,12.00,MUG,0.00,,,
'''


def test_shopify_export(tmp_path: Path) -> None:
    path = tmp_path / "orders_export_1.csv"
    path.write_text(SHOPIFY, encoding="utf-8")
    history = read_history(path, "shopify")
    orders = {order.order_id: order for order in history.orders}
    assert sorted(orders) == ["5001", "5002", "5006"]
    first = orders["5001"]
    assert first.member == MemberRef(email="ada@example.com")
    assert first.placed_at == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    assert [(line.title, line.quantity, line.unit_price.amount) for line in first.lines] == [
        ("Mug, blue", 1, Decimal("60.00")), ("Tote", 2, Decimal("25.00"))]
    # Discount Amount 10.00 includes the tote's own 5.00: 5.00 is left for the order.
    assert first.lines[1].discount == Money("5.00", "USD")
    assert first.order_discount == Money("5.00", "USD")
    assert orders["5002"].currency == "CAD"
    # The export dates no refund: it is taken back at the order's own time.
    (refund,) = history.refunds
    assert (refund.order_id, refund.amount, refund.refunded_at) == ("5002", Money("15.00", "CAD"),
                                                                     orders["5002"].placed_at)
    (cancellation,) = history.cancellations
    assert (cancellation.order_id, cancellation.cancelled_at) == ("5006", datetime(2026, 1, 8, 9, tzinfo=UTC))
    assert [(g.currency, g.net_minor) for g in history.guests] == [("USD", 2000)]  # #1003 has no email
    assert history.unpaid == 2
    file = str(path)
    assert history.bad_rows == [
        BadRow(file, 9, "order #1007: quantity 'one' is not a whole number"),
        BadRow(file, 11, "order #1008: its first row has no Created at (order-level fields come on an order's "
                         "first row)"),
    ]
