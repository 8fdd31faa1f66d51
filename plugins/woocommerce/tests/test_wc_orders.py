"""Orders earn once they are paid, on the lines' totals after discounts and before tax;
refunds and reversals take back their share; and the books come out the same whatever order
the snapshots of an order arrive in."""

from __future__ import annotations

from itertools import permutations

import pytest
import wc_payloads as wc
from wc_harness import SHOP, balance

from loyalty_sdk.core.errors import MemberNotFound

CUSTOMER = str(wc.CUSTOMER_ID)


def test_paid_orders_earn_on_line_totals_not_tax_shipping_or_fees(deliver, process, runtime):
    deliver("order.created", wc.order(status="pending", paid=None, modified="2026-03-02T10:00:00"))
    deliver("order.updated", wc.order(status="on-hold", paid=None, modified="2026-03-02T10:01:00"))
    process()
    with pytest.raises(MemberNotFound):
        balance(runtime, CUSTOMER)  # nothing paid yet: not even enrolled
    deliver("order.updated", wc.order(status="processing"))
    process()
    # 36.00 + 18.00 after the coupon; 5.40 tax, 10.00 shipping (+1.00 tax) and a 5.00 fee earn nothing.
    assert balance(runtime, CUSTOMER) == 54
    deliver("order.updated", wc.order(status="completed", modified="2026-03-04T08:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 54  # completing a processing order earns nothing more
    [earn] = [line for line in runtime.loyalty(SHOP).history(CUSTOMER) if line.points]
    assert earn.points == 54 and "727" in earn.reason


def test_a_shop_may_earn_on_completed_only(deliver, process, runtime):
    from loyalty_woocommerce.connection import save_settings

    save_settings(runtime.db, SHOP, {"paid_statuses": ["completed"]})
    runtime.forget(SHOP)
    deliver("order.updated", wc.order(status="processing"))
    process()
    with pytest.raises(MemberNotFound):
        balance(runtime, CUSTOMER)
    deliver("order.updated", wc.order(status="completed", modified="2026-03-04T08:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 54


def test_odd_unit_prices_earn_exactly_the_line_total(deliver, process, runtime):
    lines = [wc.line(1, 5, 3, "10.00", "9.99"), wc.line(2, 6, 7, "1.00", "0.97", variation_id=61)]
    deliver("order.updated", wc.order(lines=lines, coupons=()))
    process()
    assert balance(runtime, CUSTOMER) == 10  # 10.96, floored


def test_a_partial_refund_takes_back_the_refunded_lines_share(deliver, process, runtime, store):
    deliver("order.updated", wc.order(status="completed"))
    process()
    store.put(wc.order(status="completed"), [wc.refund(901, [(316, 1, "18.00")])])
    deliver("order.updated", wc.order(status="completed", refunds=[(901, "-19.80")], modified="2026-03-05T09:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 36
    store.refunds[wc.ORDER_ID].append(wc.refund(902, [(315, 1, "18.00")], created="2026-03-06T09:00:00"))
    deliver("order.updated", wc.order(status="completed", refunds=[(901, "-19.80"), (902, "-19.80")],
                                      modified="2026-03-06T09:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 18
    reasons = [line.reason for line in runtime.loyalty(SHOP).history(CUSTOMER) if line.points < 0]
    assert any("refund 901" in reason for reason in reasons) and any("refund 902" in reason for reason in reasons)


def test_an_amount_only_refund_takes_back_its_merchandise_share(deliver, process, runtime, store):
    # 37.70 of a 75.40 order: half of everything, so half of the 54.00 of merchandise.
    store.put(wc.order(status="completed"), [wc.refund(903, [], amount="37.70")])
    deliver("order.updated", wc.order(status="completed", refunds=[(903, "-37.70")]))
    process()
    assert balance(runtime, CUSTOMER) == 27


def test_a_refund_of_shipping_alone_takes_nothing_back(deliver, process, runtime, store):
    store.put(wc.order(status="completed"), [wc.refund(904, [], shipping="10.00")])
    deliver("order.updated", wc.order(status="completed", refunds=[(904, "-10.00")]))
    process()
    assert balance(runtime, CUSTOMER) == 54


def test_a_full_refund_takes_everything_back(deliver, process, runtime, store):
    deliver("order.updated", wc.order(status="processing"))
    process()
    store.put(wc.order(status="refunded"), [wc.refund(905, [], amount="75.40")])
    deliver("order.updated", wc.order(status="refunded", refunds=[(905, "-75.40")], modified="2026-03-05T09:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 0
    assert runtime.loyalty(SHOP).doctor()["ok"]


@pytest.mark.parametrize("status", ["cancelled", "failed"])
def test_cancelled_or_failed_after_payment_reverses_the_earn(deliver, process, runtime, status):
    deliver("order.updated", wc.order(status="processing"))
    process()
    assert balance(runtime, CUSTOMER) == 54
    deliver("order.updated", wc.order(status=status, modified="2026-03-03T08:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 0


def test_cancelled_before_payment_never_earns(deliver, process, runtime):
    deliver("order.updated", wc.order(status="pending", paid=None, modified="2026-03-02T10:00:00"))
    deliver("order.updated", wc.order(status="cancelled", paid=None, modified="2026-03-03T10:00:00"))
    result = process()
    assert result.dead == 0 and result.done == 2
    with pytest.raises(MemberNotFound):
        balance(runtime, CUSTOMER)


def test_a_deleted_order_keeps_its_points_and_a_restored_one_is_read_again(deliver, process, runtime):
    deliver("order.updated", wc.order(status="processing"))
    deliver("order.deleted", {"id": wc.ORDER_ID})
    process()
    assert balance(runtime, CUSTOMER) == 54
    deliver("order.restored", wc.order(status="processing", modified="2026-03-04T08:00:00"))
    process()
    assert balance(runtime, CUSTOMER) == 54


PAID = "2026-03-02T10:01:00"
JOURNEYS = [
    # (status, paid, refunds listed), in the order they happened; the balance they leave.
    ([("on-hold", None, 0), ("processing", PAID, 0), ("completed", PAID, 1), ("completed", PAID, 2)], 18),
    ([("pending", None, 0), ("processing", PAID, 0), ("cancelled", PAID, 0)], 0),
    ([("failed", None, 0), ("processing", PAID, 0), ("completed", PAID, 0)], 54),
    ([("processing", PAID, 0), ("completed", PAID, 1), ("refunded", PAID, 2)], 0),
]


def _journeys():
    """Every arrival order of every journey, each as its own order and customer: (order id,
    snapshots in time order, the order they arrive in, refund ids, expected balance)."""
    found = []
    order_id = 1000
    for steps, expected in JOURNEYS:
        for arrival in permutations(range(len(steps))):
            order_id += 1
            refund_ids = (order_id * 10 + 1, order_id * 10 + 2)
            snapshots = [wc.order(order_id=order_id, customer_id=order_id, email=f"c{order_id}@example.com",
                                  status=status, paid=paid, refunds=[(r, "-19.80") for r in refund_ids[:listed]],
                                  modified=f"2026-03-0{n + 2}T10:00:00")
                         for n, (status, paid, listed) in enumerate(steps)]
            found.append((order_id, snapshots, arrival, refund_ids, expected))
    return found


def test_every_arrival_order_of_an_orders_snapshots_gives_the_same_books(deliver, process, runtime, store):
    journeys = _journeys()
    for order_id, snapshots, arrival, refund_ids, _ in journeys:
        store.put(snapshots[-1], [wc.refund(refund_ids[0], [(316, 1, "18.00")]),
                                  wc.refund(refund_ids[1], [(315, 1, "18.00")])])
        for index in arrival:
            deliver("order.updated", snapshots[index], delivery_id=f"{order_id}-{index}")
    assert process().dead == 0
    loyalty = runtime.loyalty(SHOP)
    balances = {(order_id, arrival): _balance_or_zero(loyalty, str(order_id))
                for order_id, _, arrival, _, _ in journeys}
    assert balances == {(order_id, arrival): expected for order_id, _, arrival, _, expected in journeys}
    assert loyalty.doctor()["ok"]


def _balance_or_zero(loyalty, ref):
    try:
        return loyalty.balance(ref).available
    except MemberNotFound:  # never earned: never enrolled
        return 0
