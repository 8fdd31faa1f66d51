"""``loyalty import orders``: a platform's historical orders into the books.

The file is read by the same readers as ``loyalty simulate`` (:mod:`loyalty_sdk.simulate.sources`),
so each order carries the id, and the fingerprint where the platform plugin sets one, that the
plugin's webhook gives it:

- with ``earn``, members are enrolled at their first order and every order earns under the
  current program, one commit per batch; refunds and cancellations then take back. The first
  report of an order earns and any later one is a replay by the ledger's key: an order already
  recorded (by a webhook or an earlier import) is counted as such and left alone, and a webhook
  arriving after the import replays when the plugin fingerprints its orders (WooCommerce,
  Stripe; see docs/import.md for Shopify);
- without it, orders are recorded for analytics only, through ``record_non_member_order``:
  orders a member placed after enrolling cannot be recorded without earning, and are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from attrs import define, evolve, field, fields
from sqlalchemy import select

from loyalty_sdk.core.errors import IdempotencyConflict, InvalidInput, MemberExists, MemberNotFound, OrderNotFound
from loyalty_sdk.core.members import lookup
from loyalty_sdk.core.models import MemberRef, Order
from loyalty_sdk.core.orders import cancellation_key, refund_key
from loyalty_sdk.core.storage import transactions
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.imports.audit import record_run
from loyalty_sdk.simulate.sources import BadRow, History, read_history

PLATFORMS = ("shopify", "woocommerce", "stripe", "generic")
BATCH = 500

Progress = Callable[[int, int], None]


@define
class OrdersImported:
    """What an import of orders did (or, for the orders already recorded, did not need to)."""

    file: str
    platform: str
    earn: bool
    rows: int = 0
    orders: int = 0
    earned: int = 0
    points: int = 0
    already_recorded: int = 0
    members_enrolled: int = 0
    refunds: int = 0
    points_taken_back: int = 0
    cancellations: int = 0
    guest_refunds: int = 0
    """Refunds and cancellations of orders with no customer: nothing was earned to take back."""
    analytics_only: int = 0
    member_orders_not_recorded: int = 0
    guest_orders: int = 0
    unpaid_orders: int = 0
    bad_rows: list[BadRow] = field(factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(OrdersImported) if f.name != "bad_rows"}
        data["bad_rows"] = [{"file": b.file, "line": b.line, "reason": b.reason} for b in self.bad_rows]
        return data


def import_orders(loyalty: Loyalty, path: str | Path, platform: str, *, earn: bool = False, strict: bool = False,
                  actor: str = "cli", progress: Progress | None = None) -> OrdersImported:
    """Read ``path`` (a ``platform`` export) and record its orders; see the module's docstring.

    With ``strict`` the first bad row raises before anything is written."""
    if platform not in PLATFORMS:
        raise InvalidInput(f"unknown platform {platform!r}; choose one of {', '.join(PLATFORMS)}",
                           field="platform", value=platform)
    history = read_history(path, platform, strict=strict)
    result = OrdersImported(str(path), platform, earn, rows=history.rows, orders=len(history.orders),
                            guest_orders=len(history.guests), unpaid_orders=history.unpaid,
                            bad_rows=list(history.bad_rows))
    # Oldest first, so tiers and balances build up as they did; the source names the import.
    ordered = sorted((evolve(order, source=f"import:{platform}") for order in history.orders),
                     key=lambda order: (order.placed_at, order.order_id))
    if earn:
        _earn(loyalty, ordered, result, progress)
        _take_back(loyalty, history, result)
    else:
        _analytics_only(loyalty, ordered, result, progress)
    record_run(loyalty, actor, "import_orders", {"file": Path(path).name, "platform": platform, "earn": earn,
                                                  "orders": result.orders, "earned": result.earned,
                                                  "bad_rows": len(result.bad_rows)})
    return result


def _recorded(loyalty: Loyalty, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys the shop's ledger already holds."""
    t = transactions.c
    with loyalty.books.read() as conn:
        return {row[0] for row in conn.execute(select(t.idempotency_key).where(
            t.shop_id == loyalty.shop_id, t.idempotency_key.in_(list(keys))))}


def _enroll_missing(loyalty: Loyalty, batch: Sequence[Order]) -> int:
    """Enroll the customers of ``batch`` who are not members yet, as of their first order here."""
    first: dict[MemberRef, datetime] = {}
    for order in batch:
        first.setdefault(order.member, order.placed_at)
    enrolled = 0
    for ref, at in first.items():
        with loyalty.books.raw() as raw:
            try:
                lookup(raw, loyalty.shop_id, [ref])
                continue
            except MemberNotFound:
                pass
        try:
            loyalty.enroll(ref.customer_id, email=ref.email, at=min(at, loyalty.books.now()))
            enrolled += 1
        except MemberExists:  # a webhook enrolled them meanwhile
            pass
    return enrolled


def _earn(loyalty: Loyalty, ordered: list[Order], result: OrdersImported, progress: Progress | None) -> None:
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start:start + BATCH]
        known = _recorded(loyalty, [f"order:{order.order_id}:earn" for order in batch])
        fresh = [order for order in batch if f"order:{order.order_id}:earn" not in known]
        result.already_recorded += len(batch) - len(fresh)
        result.members_enrolled += _enroll_missing(loyalty, fresh)
        try:
            posted = loyalty.record_orders(fresh) if fresh else []
        except IdempotencyConflict:
            # A webhook recorded one of them since the check: the batch rolled back whole, so
            # post one by one and count that order as recorded before.
            posted = []
            for order in fresh:
                try:
                    posted.append(loyalty.record_order(order))
                except IdempotencyConflict:
                    result.already_recorded += 1
        for outcome in posted:
            if outcome.replayed:
                result.already_recorded += 1
            else:
                result.earned += 1
                result.points += outcome.points
        if progress is not None:
            progress(min(start + BATCH, len(ordered)), len(ordered))


def _take_back(loyalty: Loyalty, history: History, result: OrdersImported) -> None:
    """Refunds (in time order), then cancellations, of the orders this file earned for. A take-back
    the ledger already holds is left alone, as orders are: the first report of it counts."""
    earning = {order.order_id for order in history.orders}
    steps: list[tuple[str, str, str, Callable[[Any], Any], Any, str]] = [
        (refund_key(r.refund_id), r.order_id, f"refund {r.refund_id}", loyalty.record_refund, r, "refunds")
        for r in sorted(history.refunds, key=lambda r: r.refunded_at)
    ] + [
        (cancellation_key(c.order_id), c.order_id, f"cancellation of {c.order_id}", loyalty.record_cancellation, c,
         "cancellations")
        for c in history.cancellations
    ]
    known = _recorded(loyalty, [step[0] for step in steps]) if steps else set()
    for key, order_id, what, record, event, counter in steps:
        if order_id not in earning:
            result.guest_refunds += 1
            continue
        if key in known:
            continue
        try:
            taken = record(event)
        except (OrderNotFound, IdempotencyConflict) as error:
            result.bad_rows.append(BadRow(result.file, 0, f"{what}: {error}"))
            continue
        setattr(result, counter, getattr(result, counter) + 1)
        result.points_taken_back += taken.points


def _analytics_only(loyalty: Loyalty, ordered: list[Order], result: OrdersImported,
                    progress: Progress | None) -> None:
    for done, order in enumerate(ordered, start=1):
        try:
            if loyalty.record_non_member_order(order):
                result.analytics_only += 1
            else:
                result.already_recorded += 1
        except InvalidInput:
            # A member's order placed after they enrolled: it can only be recorded by earning.
            result.member_orders_not_recorded += 1
        if progress is not None and (done % BATCH == 0 or done == len(ordered)):
            progress(done, len(ordered))


__all__ = ["PLATFORMS", "OrdersImported", "import_orders"]
