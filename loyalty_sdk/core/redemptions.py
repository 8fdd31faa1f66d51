"""Spending points: redemptions of catalog rewards, and manual adjustments.

A redemption is checked and posted in one transaction under the member's lock, drawing on lots
soonest-expiry first, so concurrent redemptions never overdraw. The reward is issued after the
commit (platform I/O never runs inside a lock); if issuing fails, a compensating transaction
gives the points back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection

from loyalty_sdk.core import credits, ledger, members
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.errors import InvalidInput, RewardNotFound
from loyalty_sdk.core.models import MemberRef, Redemption, Reward, RewardUsage, points_value
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import lot_draws, lots, redemptions, shops
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.plugins.rewards import reward_value


@frozen
class RedemptionResult:
    id: int
    member_id: int
    reward_id: str
    points: int
    value: Money | None
    code: str | None
    status: str
    transaction_id: int
    replayed: bool = False


def usage(conn: Connection, shop_id: str, member_id: int, reward_id: str) -> RewardUsage:
    count = conn.execute(
        select(func.count()).select_from(redemptions).where(
            redemptions.c.shop_id == shop_id, redemptions.c.member_id == member_id,
            redemptions.c.reward_id == reward_id, redemptions.c.status.in_(("pending", "issued")),
        )
    ).scalar_one()
    return RewardUsage(redeemed=count)


def available_rewards(books: Books, ref: MemberRef | str | int) -> list[Reward]:
    with books.read() as conn:
        member = members.get(conn, books.shop_id, ref)
    return books.host.rewards(member, books.program)


def redeem(books: Books, ref: MemberRef | str | int, reward_id: str, *, points: int | None = None,
           idempotency_key: str | None = None) -> RedemptionResult:
    """Spend points on a reward and issue it (a discount code for custom stores)."""
    if points is not None and points_value(points) <= 0:
        raise InvalidInput(f"points must be a positive integer, got {points!r}", field="points", value=points)
    key = f"redeem:{idempotency_key or uuid.uuid4().hex}"
    program = books.program
    with books.write() as conn:
        member = members.get(conn, books.shop_id, ref)
        payload = payload_hash(member.id, reward_id, points)
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return _replayed(conn, books.shop_id, replay)
        locked = ledger.lock_member(conn, books.shop_id, member.id)
        # The same request may have been posted by another process while we waited for the lock.
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return _replayed(conn, books.shop_id, replay)
        member = members.to_member(locked)
        catalog = {reward.id: reward for reward in books.host.rewards(member, program)}
        reward = catalog.get(reward_id)
        if reward is None:
            known = program.reward(reward_id) is not None
            raise RewardNotFound(
                f"reward {reward_id!r} is not available to member {member.id}"
                + (" (tier not eligible)" if known else " (no such reward)"),
                field="reward_id", value=reward_id,
            )
        spend = points if points is not None else reward.points
        books.host.validate_redemption(member, reward, spend, usage(conn, books.shop_id, member.id, reward.id), program)
        ledger.require_available(locked, spend, f"reward {reward.id}")
        draws, _ = ledger.plan_draws(ledger.open_lots(conn, books.shop_id, member.id, "available"), spend)
        now = books.now()
        value = reward_value(reward, spend, program)
        post = ledger.move(conn, ledger.Movement(
            shop_id=books.shop_id, member_id=member.id, key=key, payload_hash=payload, kind="redeem",
            reason=f"redeemed {reward.name}", event_at=now, recorded_at=now, program_version=program.version,
            legs=(("available", -spend), ("redeemed", spend)), draws=tuple(draws), points=-spend,
            cause={"reward_id": reward.id}, detail={"reward": reward.id, "kind": reward.kind},
        ))
        # Spending is activity: an inactivity expiry policy counts from here too.
        conn.execute(update(members_table).where(
            members_table.c.id == member.id, members_table.c.shop_id == books.shop_id,
            or_(members_table.c.last_activity_at.is_(None), members_table.c.last_activity_at < ledger.utc(now)),
        ).values(last_activity_at=ledger.utc(now)))
        redemption_id = conn.execute(insert(redemptions).returning(redemptions.c.id), {
            "shop_id": books.shop_id, "member_id": member.id, "transaction_id": post.transaction_id,
            "reward_id": reward.id, "kind": reward.kind, "points": spend,
            "value_minor": value.to_minor() if value else None, "currency": value.currency if value else None,
            "status": "pending", "created_at": ledger.utc(now),
        }).scalar_one()
    return _issue(books, member, Redemption(redemption_id, member.id, reward, spend, value), post.transaction_id)


def _issue(books: Books, member: Any, redemption: Redemption, transaction_id: int) -> RedemptionResult:
    with books.read() as conn:
        shop = conn.execute(select(shops).where(shops.c.id == books.shop_id)).first()
    try:
        code = books.host.issue_reward(redemption, member, shop)
    except Exception as error:  # the platform refused: give the points back, keep the record
        _reverse(books, redemption, transaction_id, str(error))
        raise
    now = books.now()
    with books.write() as conn:
        conn.execute(update(redemptions).where(redemptions.c.id == redemption.id).values(
            status="issued", code=code, issued_at=ledger.utc(now)))
        ledger.emit(conn, books.shop_id, "reward_issued", member.id, f"redemption:{redemption.id}", {
            "member_id": member.id, "reward_id": redemption.reward.id, "code": code, "points": redemption.points,
            "redemption_id": redemption.id,
        }, now)
    return RedemptionResult(redemption.id or 0, member.id, redemption.reward.id, redemption.points, redemption.value,
                            code, "issued", transaction_id)


def _reverse(books: Books, redemption: Redemption, transaction_id: int, why: str) -> None:
    now = books.now()
    with books.write() as conn:
        # Each lot gets back what it gave, with its own expiry: a failed redemption must not turn
        # expiring points into points that never expire.
        drawn = conn.execute(
            select(lot_draws.c.lot_id, lot_draws.c.points, lots.c.expires_at)
            .join(lots, lots.c.id == lot_draws.c.lot_id)
            .where(lot_draws.c.shop_id == books.shop_id, lot_draws.c.transaction_id == transaction_id)
            .order_by(lot_draws.c.id)
        ).all()
        parts = [(row.points, ledger.stored(row.expires_at), f":{row.lot_id}") for row in drawn]
        for points, expires_at, suffix in parts or [(redemption.points, None, "")]:
            credits.credit(conn, ledger.Credit(
                shop_id=books.shop_id, member_id=redemption.member_id,
                key=f"redemption:{redemption.id}:reverse{suffix}", payload_hash=payload_hash(redemption.id, suffix),
                kind="reversal", points=points, pending=False, available_at=now, expires_at=expires_at, event_at=now,
                recorded_at=now, reason=f"reward {redemption.reward.id} could not be issued: {why}"[:500],
                program_version=books.program.version, program_account="redeemed", refers_to=transaction_id,
                cause={"redemption_id": redemption.id},
            ))
        conn.execute(update(redemptions).where(redemptions.c.id == redemption.id).values(status="failed"))


def mark_used(conn: Connection, shop_id: str, codes: Sequence[str], order_id: str, at: datetime) -> int:
    """Record issued reward codes as used on ``order_id`` (a platform saw them on an order);
    a code already recorded keeps its first use. Codes are matched without regard to case,
    as checkouts accept them."""
    wanted = sorted({code.strip().upper() for code in codes if code and code.strip()})
    if not wanted:
        return 0
    return conn.execute(update(redemptions).where(
        redemptions.c.shop_id == shop_id, func.upper(redemptions.c.code).in_(wanted),
        redemptions.c.status == "issued",
    ).values(status="used", used_at=ledger.utc(at), used_order_id=order_id)).rowcount


def void_unused(conn: Connection, shop_id: str, member_id: int, at: datetime) -> list[str]:
    """Void the member's issued, unused reward codes (their points stay spent: the member asked
    to be forgotten, not refunded); the codes, for the platform to deactivate."""
    found = conn.execute(select(redemptions.c.id, redemptions.c.code).where(
        redemptions.c.shop_id == shop_id, redemptions.c.member_id == member_id, redemptions.c.status == "issued",
        redemptions.c.code.is_not(None))).all()
    if found:
        conn.execute(update(redemptions).where(redemptions.c.id.in_([row.id for row in found]))
                     .values(status="void", used_at=ledger.utc(at)))
    return [row.code for row in found]


def _replayed(conn: Connection, shop_id: str, replay: ledger.Posted) -> RedemptionResult:
    row = conn.execute(select(redemptions).where(
        redemptions.c.shop_id == shop_id, redemptions.c.transaction_id == replay.transaction_id)).first()
    value = Money.from_minor(row.value_minor, row.currency) if row.value_minor is not None else None
    return RedemptionResult(row.id, row.member_id, row.reward_id, row.points, value, row.code, row.status,
                            replay.transaction_id, replayed=True)


def adjust(books: Books, ref: MemberRef | str | int, points: int, reason: str, *, actor: str = "admin",
           idempotency_key: str | None = None, at: datetime | None = None) -> ledger.Posted:
    """Add or remove points by hand. A reason is mandatory; removing more than is available is
    refused."""
    if points_value(points) == 0:
        raise InvalidInput(f"points must be a non-zero integer, got {points!r}", field="points", value=points)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("an adjustment needs a reason", field="reason", value=reason)
    key = f"adjust:{idempotency_key or uuid.uuid4().hex}"
    now = books.now()
    at = at or now
    with books.write() as conn:
        member = members.get(conn, books.shop_id, ref)
        payload = payload_hash(member.id, points, reason)
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return replay
        cause = {"actor": actor, "reason": reason}
        if points > 0:
            return credits.credit(conn, ledger.Credit(
                shop_id=books.shop_id, member_id=member.id, key=key, payload_hash=payload, kind="adjust",
                points=points, pending=False, available_at=at, expires_at=books.rules.expires_at(at), event_at=at,
                recorded_at=now, reason=reason, program_version=books.program.version, program_account="adjusted",
                cause=cause,
            ))
        locked = ledger.lock_member(conn, books.shop_id, member.id)
        replay = ledger.replay_or_conflict(conn, books.shop_id, key, payload)
        if replay is not None:
            return replay
        ledger.require_available(locked, -points, "adjustment")
        draws, _ = ledger.plan_draws(ledger.open_lots(conn, books.shop_id, member.id, "available"), -points)
        return ledger.move(conn, ledger.Movement(
            shop_id=books.shop_id, member_id=member.id, key=key, payload_hash=payload, kind="adjust", reason=reason,
            event_at=at, recorded_at=now, program_version=books.program.version,
            legs=(("available", points), ("adjusted", -points)), draws=tuple(draws), points=points, cause=cause,
        ))
