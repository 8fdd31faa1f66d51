"""Applying tier decisions: gather a member's qualifying events, ask the tier hook, record a
change with its reason and inputs, and tell the outbox."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_, select
from sqlalchemy.engine import Connection

from loyalty_sdk.core import members
from loyalty_sdk.core.ledger import emit, stored, utc
from loyalty_sdk.core.models import Member, QualifyingEvent, TierStats
from loyalty_sdk.core.money import MINOR_UNITS
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import tier_changes, transactions

if TYPE_CHECKING:
    from loyalty_sdk.core.books import Books


def lookback(program: Program, as_of: datetime) -> datetime | None:
    """The earliest event any window could need at ``as_of`` (None: all of history)."""
    tiers = program.tiers
    if tiers.window == "lifetime":
        return None
    if tiers.window == "rolling":
        return as_of - timedelta(days=2 * tiers.window_days + tiers.grace_days + 1)
    local = as_of.astimezone(program.zone)
    return local.replace(year=local.year - 3, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _events_query(shop_id: str, since: datetime | None, as_of: datetime):
    c = transactions.c
    query = select(c.member_id, c.tier_at, c.tier_points, c.tier_spend_minor, c.tier_orders).where(
        c.shop_id == shop_id,
        c.tier_at <= utc(as_of),
        or_(c.tier_points != 0, c.tier_spend_minor != 0, c.tier_orders != 0),
    )
    if since is not None:
        query = query.where(c.tier_at > utc(since))
    return query.order_by(c.member_id, c.tier_at, c.id)


def _event(row: Any, exponent: int) -> QualifyingEvent:
    return QualifyingEvent(
        at=stored(row.tier_at),
        points=row.tier_points,
        spend=Decimal(row.tier_spend_minor).scaleb(-exponent),
        orders=row.tier_orders,
    )


def stats_for(conn: Connection, program: Program, member_id: int, shop_id: str, as_of: datetime,
              clawback: bool = False) -> TierStats:
    exponent = MINOR_UNITS[program.program.currency]
    query = _events_query(shop_id, lookback(program, as_of), as_of).where(transactions.c.member_id == member_id)
    events = tuple(_event(row, exponent) for row in conn.execute(query))
    return TierStats(as_of=as_of, events=events, clawback=clawback)


def stats_for_shop(conn: Connection, program: Program, shop_id: str, as_of: datetime,
                   member_ids: Iterable[int] | None = None) -> dict[int, TierStats]:
    """Stats of every member (or of ``member_ids``) in few queries (the re-tier job)."""
    exponent = MINOR_UNITS[program.program.currency]
    grouped: dict[int, list[QualifyingEvent]] = defaultdict(list)
    query = _events_query(shop_id, lookback(program, as_of), as_of)
    if member_ids is None:
        batches = [query]
    else:
        ids = sorted(member_ids)
        batches = [query.where(transactions.c.member_id.in_(ids[i:i + 500])) for i in range(0, len(ids), 500)]
    for batch in batches:
        for row in conn.execute(batch):
            grouped[row.member_id].append(_event(row, exponent))
    return {member_id: TierStats(as_of=as_of, events=tuple(events)) for member_id, events in grouped.items()}


def apply(conn: Connection, host: PluginHost, program: Program, member: Member, stats: TierStats,
          recorded_at: datetime) -> str | None:
    """Resolve the member's tier and record a change; returns the new tier when it changed."""
    if not program.tiers.levels:
        return None
    decision = host.resolve_tier(member, stats, program)
    if decision is None or decision.tier == member.tier:
        return None
    as_of = stats.as_of
    inputs = _jsonable(decision.inputs)
    conn.execute(
        insert(tier_changes),
        {
            "shop_id": member.shop_id, "member_id": member.id, "from_tier": member.tier, "to_tier": decision.tier,
            "reason": decision.reason, "inputs": inputs, "as_of": utc(as_of), "recorded_at": utc(recorded_at),
            "program_version": program.version,
        },
    )
    members.set_tier(conn, member.shop_id, member.id, decision.tier, as_of)
    emit(conn, member.shop_id, "tier_changed", member.id,
         f"tier:{member.id}:{utc(as_of).isoformat()}:{decision.tier}",
         {"member_id": member.id, "from": member.tier, "to": decision.tier, "reason": decision.reason,
          "as_of": utc(as_of).isoformat()}, recorded_at)
    return decision.tier


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def history(conn: Connection, shop_id: str, member_id: int) -> Iterable[Any]:
    return conn.execute(
        select(tier_changes).where(tier_changes.c.shop_id == shop_id, tier_changes.c.member_id == member_id)
        .order_by(tier_changes.c.as_of, tier_changes.c.id)
    )


def reevaluate(books: Books, conn: Connection, member_id: int, as_of: datetime, clawback: bool = False) -> str | None:
    """Re-resolve one member's tier after a change to their qualifying points."""
    if not books.program.tiers.levels:
        return None
    # The tier held now: an event dated in the past (a backfill, a late refund) changes today's
    # tier, it does not set the tier to what it was back then.
    as_of = max(as_of, books.now())
    member = members.get(conn, books.shop_id, member_id)
    stats = stats_for(conn, books.program, member_id, books.shop_id, as_of, clawback=clawback)
    return apply(conn, books.host, books.program, member, stats, books.now())


def progress(conn: Connection, books: Books, member: Member, as_of: datetime) -> dict[str, Any]:
    """Where the member stands: their tier, the next one up, and how far it is (in the tier
    metric: points, spend in minor units, or orders)."""
    program = books.program
    levels = program.tiers.levels
    if not levels:
        return {"tier": member.tier, "next_tier": None, "metric": None, "current": None, "needed": None}
    stats = stats_for(conn, program, member.id, books.shop_id, as_of)
    decision = books.host.resolve_tier(member, stats, program)
    inputs = decision.inputs if decision is not None else {}
    current = Decimal(str(inputs.get("current_value") or 0))
    held = decision.tier if decision is not None else member.tier
    ranks = [level.id for level in levels]
    above = ranks.index(held) + 1 if held in ranks else 0
    following = levels[above] if above < len(levels) else None
    needed = max(Decimal(str(following.threshold)) - current, Decimal(0)) if following is not None else None
    return {"tier": held, "next_tier": following.id if following else None, "metric": program.tiers.metric,
            "current": _number(current), "needed": None if needed is None else _number(needed)}


def _number(value: Decimal) -> int | str:
    """An integer as an integer (points, orders); anything else as its exact text."""
    return int(value) if value == value.to_integral_value() else str(value)
