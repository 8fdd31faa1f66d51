"""The rule engine: turns an order or an activity into awards through the hooks, then into
the ledger credit that records them. Pure: no database, no clock, no network.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from attrs import frozen

from loyalty_sdk.core.ledger import Credit, OrderRecord
from loyalty_sdk.core.models import Activity, ActivityHistory, Award, Member, Order
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program


def payload_hash(*parts: object) -> str:
    """A stable fingerprint of a request, to tell a replay from a reused key."""
    return hashlib.blake2b(orjson.dumps(parts, default=repr), digest_size=16).hexdigest()


def order_fingerprint(order: Order) -> str:
    """What decides the order's points: who, when, and each line's quantity, product and net
    value (after discounts and tax), so a replay with the same content matches cheaply; or the
    platform's own identity of the order when it gave one (``Order.fingerprint``)."""
    if order.fingerprint is not None:
        return payload_hash(order.order_id, order.fingerprint)
    nets = order.line_nets
    return payload_hash(
        order.order_id, order.member.customer_id, order.member.email, order.placed_at.timestamp(), order.currency,
        [
            (line.line_id, line.quantity, nets[line.line_id], line.product_id, line.sku, line.gift_card,
             sorted(line.collections) if line.collections else ())
            for line in order.lines
        ],
    )


def order_reason(order_id: str, awards: tuple[Award, ...]) -> str:
    """``order 1001: 60 points on spend, +20 3x Triple points on coffee``: one part per rule."""
    points: dict[str, int] = {}
    labels: dict[str, str] = {}
    for award in awards:
        rule = award.rule_id
        if rule in points:
            points[rule] += award.points
        else:
            points[rule] = award.points
            labels[rule] = "points on spend" if rule == "earn.spend" else award.reason
    if not points:
        return f"order {order_id}: no points"
    parts = [f"{p} {labels[r]}" if r == "earn.spend" else f"{p:+d} {labels[r]}" for r, p in points.items()]
    return f"order {order_id}: {', '.join(parts)}"


@frozen
class Evaluation:
    """What an order earns and why, line by line."""

    order: Order
    awards: tuple[Award, ...]
    points: int
    nets: dict[str, Any]


class Engine:
    """One program, one plugin host: evaluates events into credits."""

    def __init__(self, program: Program, host: PluginHost) -> None:
        self.program = program
        self.host = host

    def evaluate_order(self, order: Order, member: Member) -> Evaluation:
        awards = tuple(self.host.order_awards(order, member, self.program))
        points = sum([award.points for award in awards])
        return Evaluation(order, awards, points if points > 0 else 0, order.line_nets)

    def order_credit(self, evaluation: Evaluation, member: Member, shop_id: str, recorded_at: datetime) -> Credit:
        """The ledger credit for an evaluated order, with the line awards kept for clawback."""
        order = evaluation.order
        program = self.program
        pending_days = program.earn.pending_days
        per_line: dict[str, int] = {}
        unlined = 0
        for award in evaluation.awards:
            line_id = award.line_id
            if line_id is None:
                unlined += award.points
            else:
                per_line[line_id] = per_line.get(line_id, 0) + award.points
        currency = order.currency
        nets = evaluation.nets
        lines: dict[str, tuple[int, int, int]] = {}
        gross_minor = eligible_minor = all_minor = 0
        for line in order.lines:
            line_id = line.line_id
            net = nets[line_id]
            points = per_line.get(line_id, 0)
            lines[line_id] = (line.quantity, net, points)
            gross_minor += line.unit_price.minor * line.quantity
            all_minor += net
            if points > 0:
                eligible_minor += net
        # Only the lines that earned are "eligible": refunds of other lines take nothing back.
        if not per_line:
            eligible_minor = all_minor
        placed = order.placed_at
        points = evaluation.points
        # Tuples, not lists: the batch path holds a thousand of these, and tuples of plain
        # values are left alone by the garbage collector.
        awards = [(a.points, a.rule_id, a.reason, a.line_id) for a in evaluation.awards]
        return Credit(
            shop_id=shop_id,
            member_id=member.id,
            key=f"order:{order.order_id}:earn",
            payload_hash=order_fingerprint(order),
            kind="earn",
            points=points,
            pending=pending_days > 0 and points > 0,
            available_at=placed + timedelta(days=pending_days) if pending_days else placed,
            expires_at=self.expires_at(placed),
            event_at=placed,
            recorded_at=recorded_at,
            reason=order_reason(order.order_id, evaluation.awards),
            program_version=program.version,
            cause={"source": order.source, "rules": sorted({award[1] for award in awards})},
            detail={
                "awards": awards,
                "lines": lines,
                "unlined": unlined,
                "eligible_minor": eligible_minor,
                "currency": currency,
            },
            tier_spend_minor=eligible_minor if currency == program.program.currency else 0,
            tier_orders=1,
            order=OrderRecord(order.order_id, placed, currency, gross_minor, eligible_minor, order.source),
            order_id=order.order_id,
        )

    def activity_credit(
        self, activity: Activity, member: Member, history: ActivityHistory, shop_id: str, recorded_at: datetime
    ) -> Credit | None:
        awards = self.host.activity_awards(activity, member, self.program, history)
        points = sum(a.points for a in awards)
        if points <= 0:
            return None
        pending = self.program.activity_pending(activity.kind)
        at = activity.occurred_at
        key, digest = self.activity_identity(activity, member)
        return Credit(
            shop_id=shop_id,
            member_id=member.id,
            key=key,
            payload_hash=digest,
            kind="activity",
            points=points,
            pending=pending,
            available_at=at + timedelta(days=self.program.earn.pending_days if pending else 0),
            expires_at=self.expires_at(at),
            event_at=at,
            recorded_at=recorded_at,
            reason="; ".join(a.reason for a in awards),
            program_version=self.program.version,
            cause={"activity": activity.kind, "rules": sorted({a.rule_id for a in awards})},
            detail={"awards": [(a.points, a.rule_id, a.reason, a.line_id) for a in awards],
                    "payload": dict(activity.payload)},
            activity=activity.kind,
        )

    def activity_identity(self, activity: Activity, member: Member) -> tuple[str, str]:
        """The idempotency key and payload hash an activity's credit is posted under."""
        key = activity.activity_id or self._activity_key(activity, member)
        return f"activity:{key}", payload_hash(activity.kind, member.id, activity.occurred_at, dict(activity.payload))

    def _activity_key(self, activity: Activity, member: Member) -> str:
        local = activity.occurred_at.astimezone(self.program.zone)
        if activity.kind == "birthday":
            # Once a year however often the store reports it.
            return f"{member.id}:birthday:{local.year}"
        return f"{member.id}:{activity.kind}:{activity.occurred_at.isoformat()}"

    def expires_at(self, earned_at: datetime) -> datetime | None:
        expiry = self.program.expiry
        if expiry.mode != "lot":
            return None
        return earned_at + timedelta(days=expiry.days)
