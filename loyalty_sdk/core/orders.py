"""Orders in, points out: earning on paid orders, clawback on refunds and cancellations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import select
from sqlalchemy.engine import Connection

from loyalty_sdk.core import clawback, collector, ledger, members, tiering
from loyalty_sdk.core import credits as credits_module
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.engine import Evaluation, payload_hash
from loyalty_sdk.core.errors import InvalidInput, OrderNotFound
from loyalty_sdk.core.models import Award, Cancellation, Member, Order, Refund
from loyalty_sdk.core.storage import lots, orders, transactions

TAKE_BACK_KINDS = ("clawback", "cancel")


@frozen
class OrderResult:
    """What recording an order did. ``replayed``: it was recorded before; nothing changed."""

    order_id: str
    member_id: int
    points: int
    pending: bool
    awards: tuple[Award, ...]
    transaction_id: int
    replayed: bool = False


@frozen
class ClawbackResult:
    """Points taken back by a refund or cancellation, and what could not be."""

    order_id: str
    member_id: int
    points: int
    written_off: int
    transaction_id: int | None
    replayed: bool = False


def _check(order: object) -> Order:
    if not isinstance(order, Order):
        raise InvalidInput(f"expected an Order, got {type(order).__name__}", field="order", value=order)
    return order


def record_order(books: Books, order: Order) -> OrderResult:
    """Evaluate the order through the hooks, then post its credit in one transaction."""
    return record_orders(books, [order])[0]


def record_orders(books: Books, batch: Sequence[Order]) -> list[OrderResult]:
    """Record orders with one commit (one order, or an import batch). Members are looked up
    and rules evaluated before the write transaction opens."""
    for order in batch:
        _check(order)
    with books.raw() as raw, _batch(batch):
        found = members.lookup(raw, books.shop_id, (order.member for order in batch))
        evaluated = [(found[order.member], books.rules.evaluate_order(order, found[order.member])) for order in batch]
        return record_evaluated(books, evaluated, raw)


def _batch(items: Sequence[Any]) -> AbstractContextManager[None]:
    """Many orders at once hold the cyclic garbage collector off (see ``collector``); one
    order allocates too little for it to matter."""
    return collector.paused() if len(items) > 1 else nullcontext()


def record_evaluated(books: Books, evaluated: Sequence[tuple[Member, Evaluation]],
                     raw: ledger.Raw | None = None) -> list[OrderResult]:
    """Post already-evaluated orders: the locked section only validates and writes."""
    if raw is None:
        with books.raw() as own:
            return record_evaluated(books, evaluated, own)
    now = books.now()
    with _batch(evaluated):
        credits = [books.rules.order_credit(evaluation, member, books.shop_id, now)
                   for member, evaluation in evaluated]
        with raw.transaction(statements=len(credits)):
            posted = credits_module.credit_many(raw, credits)
    if books.program.referrals is not None:
        # Replays too: a referral step a crash interrupted after the order committed is finished.
        from loyalty_sdk.core import referrals  # referrals takes points back through this module

        referrals.after_orders(books, [(member, evaluation.order) for member, evaluation in evaluated])
    qualifying = [c for c, p in zip(credits, posted, strict=True) if not p.replayed and not c.pending and c.points > 0]
    if qualifying and books.program.tiers.levels:
        # Points available at once count toward tiers at once: upgrade now.
        with books.write() as conn:
            for credit in qualifying:
                tiering.reevaluate(books, conn, credit.member_id, credit.event_at)
    return [
        OrderResult(
            order_id=evaluation.order.order_id,
            member_id=member.id,
            points=post.points,
            pending=credit.pending,
            awards=evaluation.awards,
            transaction_id=post.transaction_id,
            replayed=post.replayed,
        )
        for (member, evaluation), credit, post in zip(evaluated, credits, posted, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Taking points back
# ---------------------------------------------------------------------------------------------


def _earned(conn: Connection, shop_id: str, order_id: str) -> Any:
    row = conn.execute(
        select(orders.c.member_id, orders.c.points, orders.c.currency, orders.c.transaction_id,
               orders.c.eligible_minor, transactions.c.detail)
        .join(transactions, transactions.c.id == orders.c.transaction_id)
        .where(orders.c.shop_id == shop_id, orders.c.order_id == order_id)
    ).first()
    if row is None:
        raise OrderNotFound(f"order {order_id!r} was never recorded in shop {shop_id!r}", field="order_id",
                            value=order_id)
    return row


def _lock_then_replay(books: Books, conn: Connection, member_id: int, key: str, payload: str) -> ledger.Posted | None:
    """Lock the member before reading what earlier take-backs of the order did: on PostgreSQL two
    refunds of one order would otherwise both see none and both take everything back. Under the
    lock a concurrent delivery of this same event, committed meanwhile, is a replay."""
    ledger.lock_member(conn, books.shop_id, member_id)
    return ledger.replay_or_conflict(conn, books.shop_id, key, payload)


def settled(previous: Iterable[Any]) -> int:
    """Points of the order already dealt with: taken back, or written off (forgiven for good)."""
    return sum(-p.points + int((p.detail or {}).get("written_off", 0)) for p in previous)


def _previous(conn: Connection, shop_id: str, earn_txn: int) -> list[Any]:
    """The order's earlier refunds and cancellation: the take-backs that refer to its earn."""
    return list(conn.execute(
        select(transactions.c.kind, transactions.c.points, transactions.c.detail,
               transactions.c.tier_spend_minor).where(
            transactions.c.refers_to == earn_txn, transactions.c.shop_id == shop_id,
            transactions.c.kind.in_(TAKE_BACK_KINDS),
        )
    ))


def _order_lot(conn: Connection, shop_id: str, member_id: int, earn_txn: int) -> Any:
    # Through the member's lots (indexed), not a scan of every lot for the transaction id.
    return conn.execute(
        select(lots.c.id, lots.c.status, lots.c.earned_at, lots.c.available_at).where(
            lots.c.shop_id == shop_id, lots.c.member_id == member_id, lots.c.transaction_id == earn_txn)
    ).first()


def take_back(
    books: Books, conn: Connection, *, member_id: int, points: int, key: str, payload: str, kind: str,
    order_id: str, earn_txn: int, at: datetime, reason: str, detail: dict[str, Any], spend_minor: int,
    orders_delta: int,
) -> ClawbackResult:
    """Claw ``points`` back: pending points first (this order's lot, then others), then available
    points (this order's lot, then soonest expiry), then the program's policy for points already
    spent. The member row is locked for the whole computation."""
    shop_id = books.shop_id
    member = ledger.lock_member(conn, shop_id, member_id)
    own = _order_lot(conn, shop_id, member_id, earn_txn)
    own_id = own.id if own is not None else None
    # The refund undoes the order's own qualification: date it when that counted.
    tier_at = None
    if own is not None:
        tier_at = ledger.stored(own.available_at if own.status == "available" else own.earned_at)
    pending_draws, rest = ledger.plan_draws(ledger.open_lots(conn, shop_id, member_id, "pending"), points, own_id)
    available_draws, rest = ledger.plan_draws(ledger.open_lots(conn, shop_id, member_id, "available"), rest, own_id)
    from_pending = sum(d.points for d in pending_draws)
    from_available = sum(d.points for d in available_draws)
    policy = books.program.clawback
    negative = 0
    if rest and policy.spent_points == "negative":
        floor = -policy.max_negative
        room = max(0, (member.available - from_available) - floor)
        negative = min(rest, room)
    written_off = rest - negative
    taken = from_pending + from_available + negative
    detail = {**detail, "written_off": written_off, "negative": negative}
    post = ledger.move(conn, ledger.Movement(
        shop_id=shop_id, member_id=member_id, key=key, payload_hash=payload, kind=kind, reason=reason,
        event_at=at, recorded_at=books.now(), program_version=books.program.version,
        legs=(("pending", -from_pending), ("available", -(from_available + negative)), ("clawed_back", taken)),
        draws=tuple(pending_draws + available_draws), points=-taken,
        cause={"order_id": order_id, "policy": policy.spent_points}, detail=detail, order_id=order_id,
        refers_to=earn_txn, tier_points=-(from_available + negative), tier_spend_minor=-spend_minor,
        tier_orders=orders_delta, tier_at=tier_at, lifetime_delta=-(from_pending + from_available + negative),
    ))
    if taken or spend_minor or orders_delta:
        tiering.reevaluate(books, conn, member_id, at, clawback=True)
    return ClawbackResult(order_id, member_id, taken, written_off, post.transaction_id)


def refund_key(refund_id: str) -> str:
    """The idempotency key a refund's clawback is posted under."""
    return f"refund:{refund_id}:clawback"


def cancellation_key(order_id: str) -> str:
    """The idempotency key an order's cancellation is posted under."""
    return f"order:{order_id}:cancel"


def record_refund(books: Books, refund: Refund) -> ClawbackResult:
    """Claw back in proportion to the refunded eligible merchandise, capped at what the order
    earned and has not yet had taken back."""
    if not isinstance(refund, Refund):
        raise InvalidInput(f"expected a Refund, got {type(refund).__name__}", field="refund", value=refund)
    key = refund_key(refund.refund_id)
    payload = payload_hash(refund)
    with books.write() as conn:
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return ClawbackResult(refund.order_id, replay.member_id, -replay.points, 0, replay.transaction_id, True)
        earned = _earned(conn, books.shop_id, refund.order_id)
        replay = _lock_then_replay(books, conn, earned.member_id, key, payload)
        if replay is not None:
            return ClawbackResult(refund.order_id, replay.member_id, -replay.points, 0, replay.transaction_id, True)
        previous = _previous(conn, books.shop_id, earned.transaction_id)
        already = settled(previous)
        if any(p.kind == "cancel" for p in previous):
            # Nothing left to take, but the refund is recorded so a redelivery says "replayed".
            return take_back(
                books, conn, member_id=earned.member_id, points=0, key=key, payload=payload, kind="clawback",
                order_id=refund.order_id, earn_txn=earned.transaction_id, at=refund.refunded_at,
                reason=f"refund {refund.refund_id} of cancelled order {refund.order_id}", detail={},
                spend_minor=0, orders_delta=0,
            )
        before = clawback.refunded_so_far(p.detail for p in previous)
        plan = clawback.plan_refund(earned.detail, before, already, earned.points, refund, earned.currency)
        spend = plan.spend_minor if earned.currency == books.program.program.currency else 0
        return take_back(
            books, conn, member_id=earned.member_id, points=plan.points, key=key, payload=payload, kind="clawback",
            order_id=refund.order_id, earn_txn=earned.transaction_id, at=refund.refunded_at,
            reason=f"refund {refund.refund_id} of order {refund.order_id}",
            detail=clawback.state_detail(plan.refunded, before), spend_minor=spend, orders_delta=0,
        )


def record_cancellation(books: Books, cancellation: Cancellation) -> ClawbackResult:
    """Reverse everything the order earned that refunds have not already taken back."""
    if not isinstance(cancellation, Cancellation):
        raise InvalidInput(f"expected a Cancellation, got {type(cancellation).__name__}", field="cancellation",
                           value=cancellation)
    key = cancellation_key(cancellation.order_id)
    payload = payload_hash(cancellation.order_id)
    with books.write() as conn:
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return ClawbackResult(cancellation.order_id, replay.member_id, -replay.points, 0, replay.transaction_id,
                                  True)
        earned = _earned(conn, books.shop_id, cancellation.order_id)
        replay = _lock_then_replay(books, conn, earned.member_id, key, payload)
        if replay is not None:
            return ClawbackResult(cancellation.order_id, replay.member_id, -replay.points, 0, replay.transaction_id,
                                  True)
        previous = _previous(conn, books.shop_id, earned.transaction_id)
        already = settled(previous)
        # What refunds already took off the spend that qualified for tiers.
        spend = earned.eligible_minor + sum(p.tier_spend_minor for p in previous)
        if earned.currency != books.program.program.currency:
            spend = 0
        return take_back(
            books, conn, member_id=earned.member_id, points=clawback.plan_cancel(earned.points, already), key=key,
            payload=payload, kind="cancel", order_id=cancellation.order_id, earn_txn=earned.transaction_id,
            at=cancellation.cancelled_at, reason=f"order {cancellation.order_id} {cancellation.reason}",
            detail={"reason": cancellation.reason}, spend_minor=spend, orders_delta=-1,
        )
