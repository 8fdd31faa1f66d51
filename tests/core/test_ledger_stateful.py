"""The ledger as a state machine: random sequences of enrolments, orders, refunds,
cancellations, redemptions, adjustments and jobs (moving the clock) against a model, on every
engine. After every step the books reconcile (``doctor``) and agree with the model.

The program holds points pending 14 days and expires lots after 30, so releases and expiry
happen within a run; tier multipliers and a per-order cap make the awards uneven across lines.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty_sdk.core.errors import IdempotencyConflict, InsufficientPoints, MemberExists
from loyalty_sdk.core.models import Activity, MemberRef
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.testing import Clock

from . import T0, base_program, cancellation, order, refund

CUSTOMERS = ("c1", "c2", "c3")
MAX_NEGATIVE = 150
REWARDS = {"coffee": 100, "ship": 50, "5-off": 500}


def program(policy: str) -> dict[str, Any]:
    return base_program(
        earn={"pending_days": 14, "max_points_per_order": 400},
        expiry={"mode": "lot", "days": 30, "reminder_days": [7]},
        clawback={"spent_points": policy, "max_negative": MAX_NEGATIVE},
        tiers={"levels": [{"id": "bronze", "threshold": 0}, {"id": "silver", "threshold": 300, "multiplier": "1.5"},
                          {"id": "gold", "threshold": 900, "multiplier": "2"}]},
        rewards=[
            {"id": "coffee", "name": "Coffee", "kind": "free_product", "points": 100, "product_id": "coffee",
             "value": "3.00"},
            {"id": "ship", "name": "Shipping", "kind": "free_shipping", "points": 50},
            {"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"},
            {"id": "pay", "name": "Pay with points", "kind": "points_as_money", "min_points": 10, "step": 10},
        ],
    )


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("250.00"), places=2).map(str)
order_lines = st.lists(st.tuples(prices, st.integers(1, 4)), min_size=1, max_size=3)


class OrderModel:
    def __init__(self, customer: str, quantities: dict[str, int], points: int, payload: Any) -> None:
        self.customer = customer
        self.quantities = quantities
        self.refunded = dict.fromkeys(quantities, 0)
        self.points = points
        self.taken = 0
        self.written_off = 0
        self.cancelled = False
        self.payload = payload

    @property
    def settled(self) -> bool:
        """Everything the order earned must have been dealt with (taken back or written off)."""
        return self.cancelled or all(self.refunded[k] >= q for k, q in self.quantities.items())


class LedgerMachine(RuleBasedStateMachine):
    new_database: Callable[[], str]

    def __init__(self) -> None:
        super().__init__()
        self.loyalty: Loyalty | None = None
        self.clock = Clock(T0)
        self.members: list[str] = []
        self.orders: dict[str, OrderModel] = {}
        self.totals = {"issued": 0, "redeemed": 0, "expired": 0, "clawed_back": 0, "adjusted": 0}
        self.refunds: list[tuple[Any, Any]] = []
        self.activities: list[tuple[Any, Any]] = []
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    @initialize(policy=st.sampled_from(["negative", "write_off"]))
    def open_books(self, policy: str) -> None:
        self.policy = policy
        self.loyalty = Loyalty(self.new_database(), program(policy), clock=self.clock, entry_points=False)

    def teardown(self) -> None:
        if self.loyalty is not None:
            self.loyalty.close()

    def state(self) -> dict[str, Any]:
        assert self.loyalty is not None
        return {"summary": self.loyalty.summary(),
                "balances": {c: self.loyalty.balance(c) for c in self.members}}

    # -- rules ---------------------------------------------------------------------------------

    @rule(customer=st.sampled_from(CUSTOMERS))
    def enroll(self, customer: str) -> None:
        if customer in self.members:
            before = self.state()
            with pytest.raises(MemberExists):
                self.loyalty.enroll(customer)
            assert self.state() == before
            return
        self.loyalty.enroll(customer)
        self.members.append(customer)

    @precondition(lambda self: self.members)
    @rule(data=st.data(), lines=order_lines)
    def record_order(self, data: st.DataObject, lines: list[tuple[str, int]]) -> None:
        customer = data.draw(st.sampled_from(self.members))
        order_id = self.next_id("o")
        built = order(order_id, [(f"l{i}", price, qty) for i, (price, qty) in enumerate(lines)], customer=customer,
                      at=self.clock.now)
        result = self.loyalty.record_order(built)
        assert not result.replayed and 0 <= result.points <= 400
        assert result.pending == (result.points > 0)
        self.orders[order_id] = OrderModel(customer, {f"l{i}": q for i, (_, q) in enumerate(lines)}, result.points,
                                           built)
        self.totals["issued"] += result.points

    @precondition(lambda self: self.members)
    @rule(data=st.data(), batch=st.lists(order_lines, min_size=2, max_size=4))
    def record_batch(self, data: st.DataObject, batch: list[list[tuple[str, int]]]) -> None:
        built = []
        for lines in batch:
            customer = data.draw(st.sampled_from(self.members))
            built.append(order(self.next_id("o"), [(f"l{i}", price, qty) for i, (price, qty) in enumerate(lines)],
                               customer=customer, at=self.clock.now))
        results = self.loyalty.record_orders(built)
        for event, result in zip(built, results, strict=True):
            assert not result.replayed and 0 <= result.points <= 400
            self.orders[event.order_id] = OrderModel(str(event.member), {line.line_id: line.quantity
                                                                         for line in event.lines},
                                                     result.points, event)
            self.totals["issued"] += result.points

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def replay_order(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        model = self.orders[order_id]
        before = self.state()
        result = self.loyalty.record_order(model.payload)
        assert result.replayed and result.points == model.points
        assert self.state() == before

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def conflicting_order(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        model = self.orders[order_id]
        before = self.state()
        with pytest.raises(IdempotencyConflict):
            self.loyalty.record_order(order(order_id, [("l0", "999.99", 1)], customer=model.customer,
                                            at=model.payload.placed_at))
        assert self.state() == before

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def refund_units(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        model = self.orders[order_id]
        line_id = data.draw(st.sampled_from(sorted(model.quantities)))
        # Up to one unit more than is left, to try the cap.
        left = model.quantities[line_id] - model.refunded[line_id]
        quantity = data.draw(st.integers(1, max(1, left + 1)))
        self._refund(order_id, refund(self.next_id("r"), order_id, self.clock.now, {line_id: quantity}))
        model.refunded[line_id] += quantity

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300.00"), places=2))
    def refund_amount(self, data: st.DataObject, amount: Decimal) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        self._refund(order_id, refund(self.next_id("r"), order_id, self.clock.now, amount=str(amount)))

    def _refund(self, order_id: str, event: Any) -> None:
        model = self.orders[order_id]
        result = self.loyalty.record_refund(event)
        assert not result.replayed and result.points >= 0 and result.written_off >= 0
        if model.cancelled:
            assert (result.points, result.written_off) == (0, 0)
        model.taken += result.points
        model.written_off += result.written_off
        self.totals["clawed_back"] += result.points
        self.refunds.append((event, result))

    @precondition(lambda self: self.refunds)
    @rule(data=st.data())
    def replay_refund(self, data: st.DataObject) -> None:
        event, first = data.draw(st.sampled_from(self.refunds))
        before = self.state()
        again = self.loyalty.record_refund(event)
        assert again.replayed and again.points == first.points
        assert self.state() == before

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.orders)))
        model = self.orders[order_id]
        result = self.loyalty.record_cancellation(cancellation(order_id, self.clock.now))
        if model.cancelled:
            assert result.replayed
            return
        assert not result.replayed
        model.cancelled = True
        model.taken += result.points
        model.written_off += result.written_off
        self.totals["clawed_back"] += result.points

    @precondition(lambda self: self.members)
    @rule(data=st.data(), reward=st.sampled_from(sorted(REWARDS)))
    def redeem(self, data: st.DataObject, reward: str) -> None:
        customer = data.draw(st.sampled_from(self.members))
        available = self.loyalty.balance(customer).available
        cost = REWARDS[reward]
        if available < cost:
            before = self.state()
            with pytest.raises(InsufficientPoints):
                self.loyalty.redeem(customer, reward)
            assert self.state() == before
            return
        assert self.loyalty.redeem(customer, reward).points == cost
        self.totals["redeemed"] += cost

    @precondition(lambda self: self.members)
    @rule(data=st.data())
    def pay_with_all_points(self, data: st.DataObject) -> None:
        customer = data.draw(st.sampled_from(self.members))
        spend = self.loyalty.balance(customer).available // 10 * 10
        if spend >= 10:
            self.loyalty.redeem(customer, "pay", points=spend)
            self.totals["redeemed"] += spend
            assert self.loyalty.balance(customer).available < 10

    @precondition(lambda self: self.members)
    @rule(data=st.data(), points=st.integers(-300, 300).filter(bool))
    def adjust(self, data: st.DataObject, points: int) -> None:
        customer = data.draw(st.sampled_from(self.members))
        available = self.loyalty.balance(customer).available
        if points < 0 and available < -points:
            before = self.state()
            with pytest.raises(InsufficientPoints):
                self.loyalty.adjust(customer, points, "stateful test")
            assert self.state() == before
            return
        assert self.loyalty.adjust(customer, points, "stateful test").points == points
        self.totals["adjusted"] += points

    @precondition(lambda self: self.members)
    @rule(data=st.data(), kind=st.sampled_from(["review", "signup", "unknown-kind"]))
    def activity(self, data: st.DataObject, kind: str) -> None:
        customer = data.draw(st.sampled_from(self.members))
        event = Activity(kind, MemberRef.parse(customer), self.clock.now, activity_id=self.next_id("a"))
        posted = self.loyalty.record_activity(event)
        if posted is not None:
            assert not posted.replayed
            self.totals["issued"] += posted.points
            self.activities.append((event, posted))

    @precondition(lambda self: self.activities)
    @rule(data=st.data())
    def replay_activity(self, data: st.DataObject) -> None:
        event, first = data.draw(st.sampled_from(self.activities))
        before = self.state()
        again = self.loyalty.record_activity(event)
        assert again is not None and again.replayed and again.transaction_id == first.transaction_id
        assert self.state() == before

    @rule(days=st.integers(1, 20))
    def run_jobs(self, days: int) -> None:
        self.clock.advance(days=days)
        report = self.loyalty.run_jobs(self.clock.now)
        assert report.released_points >= 0 and report.expired_points >= 0
        self.totals["expired"] += report.expired_points

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def books_reconcile(self) -> None:
        if self.loyalty is None:
            return
        report = self.loyalty.doctor()
        problems = {name: check["problems"] for name, check in report["checks"].items() if not check["ok"]}
        assert report["ok"] is True, problems

    @invariant()
    def totals_match_the_model(self) -> None:
        if self.loyalty is None:
            return
        points = self.loyalty.summary()["points"]
        for account, total in self.totals.items():
            assert points[account] == total, (account, points)
        t = self.totals
        outstanding = t["issued"] + t["adjusted"] - t["redeemed"] - t["expired"] - t["clawed_back"]
        assert points["outstanding"] == outstanding
        balances = [self.loyalty.balance(c) for c in self.members]
        assert sum(b.available + b.pending for b in balances) == outstanding

    @invariant()
    def members_stay_in_bounds_and_their_history_explains_their_balance(self) -> None:
        if self.loyalty is None:
            return
        for customer in self.members:
            balance = self.loyalty.balance(customer)
            assert balance.pending >= 0
            assert balance.available >= (-MAX_NEGATIVE if self.policy == "negative" else 0)
            history = self.loyalty.history(customer, limit=100_000)
            # Releases move points from pending to available; everything else changes the total.
            assert sum(h.points for h in history if h.kind != "release") == balance.available + balance.pending

    @invariant()
    def orders_never_give_back_more_than_they_earned(self) -> None:
        for order_id, model in self.orders.items():
            assert 0 <= model.taken <= model.points, order_id
            assert model.taken + model.written_off <= model.points, order_id
            if model.settled:
                # Refunded in full or cancelled: every point the order earned was taken back or
                # written off, exactly.
                assert model.taken + model.written_off == model.points, order_id


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_the_ledger_reconciles_after_any_sequence_of_operations(make_database_url):
    class Machine(LedgerMachine):
        new_database = staticmethod(make_database_url)

    run_state_machine_as_test(
        Machine,
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
