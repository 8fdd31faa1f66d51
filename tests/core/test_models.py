"""The frozen value objects refuse, at construction, what would corrupt the books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from loyalty_sdk.core.errors import CurrencyError, InvalidInput
from loyalty_sdk.core.models import (
    Activity,
    Award,
    Cancellation,
    LineItem,
    MemberRef,
    Order,
    Refund,
    RefundLine,
    points_value,
)
from loyalty_sdk.core.money import Money

from . import T0, line, order

NAIVE = datetime(2026, 3, 2, 15, 0)


def test_an_order_keeps_its_lines_and_gross():
    built = order("o1", [("a", "10.00", 3), ("b", "2.50", 2)])
    assert [item.line_id for item in built.lines] == ["a", "b"]
    assert built.lines[0].gross == Decimal("30.00")
    assert built.line("b").gross == Decimal("5.00")


def test_models_are_frozen():
    built = order("o1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.order_id = "o2"  # type: ignore[misc]


@pytest.mark.parametrize("quantity", [-1, -100])
def test_negative_quantity_is_refused(quantity):
    with pytest.raises(InvalidInput) as caught:
        LineItem(line_id="a", quantity=quantity, unit_price=Money("1.00", "USD"))
    assert caught.value.field == "quantity"
    assert str(quantity) in str(caught.value)


@pytest.mark.parametrize("quantity", [1.5, "2", True, None])
def test_quantity_must_be_an_integer(quantity):
    with pytest.raises(InvalidInput) as caught:
        LineItem(line_id="a", quantity=quantity, unit_price=Money("1.00", "USD"))
    assert caught.value.field == "quantity"


def test_mixed_currencies_in_an_order_are_refused_naming_the_line():
    with pytest.raises(CurrencyError) as caught:
        order("o1", [line("a", "10.00"), line("b", "5.00", currency="EUR")])
    assert caught.value.field == "lines[b].unit_price"
    assert "EUR" in str(caught.value) and "USD" in str(caught.value)


def test_discount_and_shipping_must_be_in_the_order_currency():
    with pytest.raises(CurrencyError) as caught:
        order("o1", order_discount=Money("1.00", "GBP"))
    assert caught.value.field == "order_discount"
    with pytest.raises(CurrencyError) as caught:
        order("o1", shipping=Money("1.00", "GBP"))
    assert caught.value.field == "shipping"


def test_money_fields_must_be_money():
    with pytest.raises(InvalidInput) as caught:
        order("o1", shipping=Decimal("4.99"))
    assert caught.value.field == "shipping"


@pytest.mark.parametrize("moment", [NAIVE, "2026-03-02T15:00:00Z", None])
def test_order_time_must_be_timezone_aware(moment):
    with pytest.raises(InvalidInput) as caught:
        Order("o1", MemberRef("c1"), moment, "USD", [line("a", "1.00")])  # type: ignore[arg-type]
    assert caught.value.field == "placed_at"
    assert "timezone-aware" in str(caught.value)


def test_any_offset_is_accepted():
    eastern = timezone(timedelta(hours=-5))
    assert order("o1", at=T0.astimezone(eastern)).placed_at == T0


def test_an_order_needs_lines_with_distinct_ids():
    with pytest.raises(InvalidInput) as caught:
        Order("o1", MemberRef("c1"), T0, "USD", [])
    assert caught.value.field == "lines"
    with pytest.raises(InvalidInput) as caught:
        order("o1", [("a", "1.00", 1), ("a", "2.00", 1)])
    assert caught.value.field == "line_id"
    assert "'a'" in str(caught.value)


def test_order_id_must_not_be_empty():
    with pytest.raises(InvalidInput) as caught:
        order("")
    assert caught.value.field == "order_id"


def test_member_ref_needs_an_id_or_email_and_normalizes_email():
    with pytest.raises(InvalidInput):
        MemberRef()
    assert MemberRef(email="  Ada@Example.COM ").email == "ada@example.com"
    assert MemberRef.parse("ada@example.com") == MemberRef(email="ada@example.com")
    assert MemberRef.parse("cust-1") == MemberRef(customer_id="cust-1")
    with pytest.raises(InvalidInput):
        MemberRef.parse("   ")


def test_refund_needs_lines_or_an_amount_and_no_negative_amounts():
    with pytest.raises(InvalidInput) as caught:
        Refund("r1", "o1", T0)
    assert caught.value.field == "lines"
    with pytest.raises(InvalidInput) as caught:
        Refund("r1", "o1", T0, amount=Money("-1.00", "USD"))
    assert caught.value.field == "amount"
    with pytest.raises(InvalidInput) as caught:
        RefundLine("a", -1)
    assert caught.value.field == "quantity"
    with pytest.raises(InvalidInput) as caught:
        Refund("r1", "o1", NAIVE, amount=Money("1.00", "USD"))
    assert caught.value.field == "refunded_at"


def test_cancellation_and_activity_times_must_be_aware():
    with pytest.raises(InvalidInput) as caught:
        Cancellation("o1", NAIVE)
    assert caught.value.field == "cancelled_at"
    with pytest.raises(InvalidInput) as caught:
        Activity("review", MemberRef("c1"), NAIVE)
    assert caught.value.field == "occurred_at"
    assert Activity("review", MemberRef("c1"), datetime(2026, 1, 1, tzinfo=UTC)).payload == {}


def test_awards_may_be_negative():
    # Caps and other reductions are negative awards.
    assert Award(-5, "capped", "cap.order", "a").points == -5


def test_points_value_accepts_only_integers():
    assert points_value(7) == 7
    with pytest.raises(InvalidInput):
        points_value(7.0)
    with pytest.raises(InvalidInput):
        points_value(False)
