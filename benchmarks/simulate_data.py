"""A synthetic order history in the simulator's generic CSV: the demo's store, written out.

    python -m benchmarks.simulate_data orders.csv --lines 1000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from loyalty_sdk.core.models import Order, Refund
from loyalty_sdk.core.program import load_program
from loyalty_sdk.demo import plan
from loyalty_sdk.simulate import write_generic

LINES_PER_ORDER = 2.13  # the demo store's mean, gift cards included
CUSTOMERS_PER_ORDER = 0.1


def write_history(path: Path, lines: int, seed: int = 42) -> int:
    """About ``lines`` order lines (and the demo's refunds) over a year; returns the rows written."""
    orders = max(1, int(lines / LINES_PER_ORDER))
    events, _rng = plan(max(1, int(orders * CUSTOMERS_PER_ORDER)), orders, seed, load_program())
    placed: dict[str, Order] = {}
    rows = []
    for event in events:
        if event.kind == "order":
            order: Order = event.data
            placed[order.order_id] = order
            for line in order.lines:
                rows.append({
                    "kind": "order", "order_id": order.order_id, "at": order.placed_at.isoformat(),
                    "customer_id": order.member.customer_id, "currency": order.currency,
                    "price": str(line.unit_price.amount), "quantity": line.quantity,
                    "discount": str(line.discount.amount) if line.discount else "", "sku": line.sku or "",
                    "collections": ";".join(sorted(line.collections)),
                })
        elif event.kind == "refund":
            refund: Refund = event.data
            order = placed[refund.order_id]
            amount = sum(order.line(part.line_id).unit_price.amount * part.quantity for part in refund.lines)
            rows.append({"kind": "refund", "order_id": refund.order_id, "at": refund.refunded_at.isoformat(),
                         "currency": order.currency, "refund_id": refund.refund_id, "amount": str(amount)})
    write_generic(path, rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"wrote {write_history(args.path, args.lines):,} rows to {args.path}")


if __name__ == "__main__":
    main()
