"""Holds on orders (a payment disputed): the order's pending points stay pending past their
date until the hold ends; a hold moves no points; a second report of one order carrying the
platform's fingerprint is a replay whatever its lines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty_sdk.core.errors import IdempotencyConflict, OrderNotFound
from loyalty_sdk.core.models import Cancellation

from . import T0, assert_books_ok, order

DAY = timedelta(days=1)


def test_a_held_order_keeps_its_points_pending_until_the_hold_ends(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "70.00", 1)]))
    books.record_order(order("o2", [("a", "30.00", 1)]))
    assert books.hold_order("o1", "dispute dp_1 opened", T0 + DAY) is True
    assert books.hold_order("o1", "dispute dp_1 opened", T0 + DAY) is False  # already held
    assert books.run_jobs(T0 + 20 * DAY).released_points == 30  # o2 only
    assert (books.balance("c1").pending, books.balance("c1").available) == (70, 30)
    assert books.release_hold("o1") is True and books.release_hold("o1") is False
    assert books.run_jobs(T0 + 21 * DAY).released_points == 70
    assert (books.balance("c1").pending, books.balance("c1").available) == (0, 100)
    assert_books_ok(books)


def test_a_cancelled_held_order_has_nothing_left_to_release(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "70.00", 1)]))
    books.hold_order("o1", "dispute", T0 + DAY)
    books.record_cancellation(Cancellation("o1", T0 + 2 * DAY, "dispute lost"))
    books.release_hold("o1")
    assert books.run_jobs(T0 + 20 * DAY).released_points == 0
    assert (books.balance("c1").pending, books.balance("c1").available) == (0, 0)
    assert_books_ok(books)


def test_a_hold_on_an_unknown_order_is_refused(books):
    with pytest.raises(OrderNotFound, match="o9"):
        books.hold_order("o9", "dispute", T0)
    with pytest.raises(OrderNotFound):
        books.release_hold("o9")


def test_reports_of_one_payment_with_its_fingerprint_credit_once(books):
    books.enroll("c1")
    first = books.record_order(order("pi_1", [("payment", "25.00", 1)], fingerprint="pay:pi_1:2500"))
    again = books.record_order(order("pi_1", [("mug", "15.00", 1), ("tea", "10.00", 1)], fingerprint="pay:pi_1:2500"))
    assert (first.points, again.replayed, again.transaction_id) == (25, True, first.transaction_id)
    with pytest.raises(IdempotencyConflict):
        books.record_order(order("pi_1", [("payment", "25.00", 1)], fingerprint="pay:pi_1:9900"))
    assert books.balance("c1").pending == 25
