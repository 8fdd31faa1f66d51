"""``Loyalty``: the small, typed facade a store's backend calls.

    loyalty = Loyalty(database_url="sqlite:///loyalty.db", program="loyalty.toml")
    loyalty.enroll("cust-1", email="ada@example.com")
    loyalty.record_order(order)
    loyalty.balance("cust-1")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from attrs import frozen
from sqlalchemy import select

from loyalty_sdk.core import (
    activities,
    doctor,
    holds,
    jobs,
    ledger,
    members,
    migrate,
    non_members,
    orders,
    redemptions,
    referrals,
    report,
    tenancy,
    tiering,
)
from loyalty_sdk.core.books import Books, system_clock
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Activity, Cancellation, Member, MemberRef, Order, Refund, Reward
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program, load_program
from loyalty_sdk.core.storage import lots, open_engine, transactions

DEFAULT_DATABASE_URL = "sqlite:///./loyalty.db"


@frozen
class Balance:
    available: int
    pending: int
    lifetime_points: int
    tier: str | None


@frozen
class HistoryLine:
    """One transaction as a member would read it: when, how many points, and why."""

    id: int
    at: datetime
    kind: str
    points: int
    reason: str
    order_id: str | None
    rules: tuple[str, ...]
    cause: dict[str, Any]


@frozen
class LotView:
    id: int
    points: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None


Ref = MemberRef | str | int


class Loyalty:
    """A loyalty program over a ledger database, for one shop (tenant)."""

    def __init__(
        self,
        database_url: str = DEFAULT_DATABASE_URL,
        program: Program | str | Path | dict[str, Any] | None = None,
        *,
        shop: str = "default",
        plugins: Iterable[object] = (),
        clock: Callable[[], datetime] = system_clock,
        migrate_schema: bool = True,
        entry_points: bool = True,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.program = load_program(program)
        self.db = open_engine(database_url, **(engine_options or {}))
        if migrate_schema:
            migrate.upgrade(self.db)
        self.host = PluginHost(plugins, entry_points=entry_points)
        self.books = Books(self.db, shop, self.program, self.host, clock)
        self._owns_db = True
        self.books.ensure_shop()

    def for_shop(self, shop_id: str) -> Loyalty:
        """The same database, program and plugins, for another shop (tenant) of the database.

        Cheap (no new engine, no new connections): a server keeps one per shop it serves.
        The shop is not created; ``ensure_shop`` or ``loyalty shops add`` does that.
        Closing it is a no-op; closing this instance closes the database for both."""
        other = object.__new__(Loyalty)
        other.program = self.program
        other.db = self.db
        other.host = self.host
        other.books = Books(self.db, shop_id, self.program, self.host, self.books.clock, hot=self.books.hot)
        other._owns_db = False
        return other

    @property
    def shop_id(self) -> str:
        return self.books.shop_id

    def close(self) -> None:
        if self._owns_db:
            self.books.close()
            self.db.dispose()

    def __enter__(self) -> Loyalty:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- members ----------------------------------------------------------------------------

    def enroll(self, customer_id: str | None = None, *, email: str | None = None, name: str | None = None,
               birthday: date | None = None, at: datetime | None = None) -> Member:
        """Make a customer a member; they start in the entry tier, if the program has one."""
        ref = MemberRef(customer_id=customer_id, email=email)
        at = at or self.books.now()
        with self.books.write() as conn:
            member = members.enroll(conn, self.shop_id, ref, at=at, name=name, birthday=birthday)
            stats = tiering.TierStats(as_of=at)
            if tiering.apply(conn, self.host, self.program, member, stats, self.books.now()):
                member = members.get(conn, self.shop_id, member.id)
        return member

    def redact(self, ref: Ref, reason: str = "customer asked to be forgotten") -> bool:
        """Erase a member's personal data (GDPR / platform redaction requests). The ledger
        keeps their anonymous transactions, so balances and reports still reconcile; a
        ``member_redacted`` event tells notification hooks and outbound webhooks. False when
        there was nothing left to erase."""
        with self.books.write() as conn:
            member = members.get(conn, self.shop_id, ref)
            return members.redact(conn, self.shop_id, member.id, self.books.now(), reason)

    def export(self, ref: Ref) -> dict[str, Any]:
        """Everything held about a member (profile, every transaction and why, lots,
        redemptions, tier changes), as plain JSON-ready data: the answer to a data request."""
        with self.books.read() as conn:
            member = members.get(conn, self.shop_id, ref)
            return tenancy.member_export(conn, self.shop_id, member.id)

    def member(self, ref: Ref) -> Member:
        if isinstance(ref, int) and not isinstance(ref, bool):
            with self.books.read() as conn:
                return members.get(conn, self.shop_id, ref)
        ref = MemberRef.parse(ref)
        with self.books.raw() as raw:  # the balance-read hot path
            return members.lookup(raw, self.shop_id, [ref])[ref]

    def balance(self, ref: Ref) -> Balance:
        member = self.member(ref)
        return Balance(member.available, member.pending, member.lifetime_points, member.tier)

    def history(self, ref: Ref, limit: int = 100) -> list[HistoryLine]:
        """The member's transactions, newest first, each with its reason and the rules behind it."""
        t = transactions.c
        with self.books.read() as conn:
            member = members.get(conn, self.shop_id, ref)
            rows = conn.execute(
                select(t.id, t.event_at, t.kind, t.points, t.reason, t.order_id, t.cause)
                .where(t.shop_id == self.shop_id, t.member_id == member.id)
                .order_by(t.event_at.desc(), t.id.desc()).limit(limit)
            ).all()
        return [
            HistoryLine(r.id, ledger.stored(r.event_at), r.kind, r.points, r.reason, r.order_id,
                        tuple(r.cause.get("rules", ())), dict(r.cause))
            for r in rows
        ]

    def lots(self, ref: Ref) -> list[LotView]:
        """The member's earnings with what is left of each and when it expires."""
        with self.books.read() as conn:
            member = members.get(conn, self.shop_id, ref)
            rows = conn.execute(
                select(lots).where(lots.c.shop_id == self.shop_id, lots.c.member_id == member.id).order_by(lots.c.id)
            ).all()
        return [LotView(r.id, r.points, r.remaining, r.status, ledger.stored(r.earned_at),
                        ledger.stored(r.available_at), ledger.stored(r.expires_at)) for r in rows]

    def tier(self, ref: Ref) -> str | None:
        return self.member(ref).tier

    def tier_progress(self, ref: Ref) -> dict[str, Any]:
        """``{"tier", "next_tier", "metric", "current", "needed"}``: how far the next tier is."""
        with self.books.read() as conn:
            member = members.get(conn, self.shop_id, ref)
            return tiering.progress(conn, self.books, member, self.books.now())

    def tier_history(self, ref: Ref) -> list[dict[str, Any]]:
        with self.books.read() as conn:
            member = members.get(conn, self.shop_id, ref)
            return [dict(row._mapping) for row in tiering.history(conn, self.shop_id, member.id)]

    # -- earning and taking back ---------------------------------------------------------------

    def record_order(self, order: Order) -> orders.OrderResult:
        return orders.record_order(self.books, order)

    def record_orders(self, batch: Sequence[Order]) -> list[orders.OrderResult]:
        """Many orders, one commit: for imports and backfills."""
        return orders.record_orders(self.books, batch)

    def record_non_member_order(self, order: Order) -> bool:
        """Record an order of a customer who was not a member when placing it, for analytics
        (members against everyone else); it earns nothing. False when recorded before."""
        return non_members.record_non_member_order(self.books, order)

    def record_refund(self, refund: Refund) -> orders.ClawbackResult:
        return orders.record_refund(self.books, refund)

    def record_cancellation(self, cancellation: Cancellation) -> orders.ClawbackResult:
        return orders.record_cancellation(self.books, cancellation)

    def hold_order(self, order_id: str, reason: str, at: datetime | None = None) -> bool:
        """Keep the order's pending points pending (a disputed payment) until ``release_hold``;
        False when it was already held."""
        return holds.hold_order(self.books, order_id, reason, at or self.books.now())

    def release_hold(self, order_id: str) -> bool:
        """End an order's hold: its pending points are released on their date, or at the next
        run of the jobs when that date has passed. False when it had none."""
        return holds.release_hold(self.books, order_id)

    def record_activity(self, activity: Activity) -> ledger.Posted | None:
        return activities.record_activity(self.books, activity)

    # -- referrals (programs with a [referrals] section) -----------------------------------------

    def referral_code(self, ref: Ref) -> referrals.ReferralCode:
        """The member's code (made on first request, the same ever after) and link to share."""
        return referrals.code_for(self.books, self.member(ref).id)

    def refer(self, code: str, friend: MemberRef | str, *, at: datetime | None = None, name: str | None = None,
              source: str = "api") -> referrals.ReferralView:
        """Record that ``friend`` (a customer id, an email or a MemberRef) signed up with a
        member's ``code``, enrolling them if needed. The answer's ``status`` is ``invited``, or
        ``refused`` with its ``reason``; the friend's first qualifying order does the rest."""
        if at is not None and at.tzinfo is None:
            raise InvalidInput(f"at must be timezone-aware, got {at!r}", field="at", value=at)
        return referrals.refer(self.books, code, MemberRef.parse(friend), at=at, name=name, source=source)

    def referrals(self, ref: Ref | None = None, *, status: str | None = None,
                  limit: int = 100) -> list[referrals.ReferralView]:
        """Referrals newest first: all, or a member's (as referrer or as friend), by status."""
        member_id = None if ref is None else self.member(ref).id
        return referrals.listing(self.books, member_id=member_id, status=status, limit=limit)

    # -- spending --------------------------------------------------------------------------------

    def rewards(self, ref: Ref) -> list[Reward]:
        return redemptions.available_rewards(self.books, ref)

    def redeem(self, ref: Ref, reward_id: str, *, points: int | None = None,
               idempotency_key: str | None = None) -> redemptions.RedemptionResult:
        return redemptions.redeem(self.books, ref, reward_id, points=points, idempotency_key=idempotency_key)

    def adjust(self, ref: Ref, points: int, reason: str, *, actor: str = "admin",
               idempotency_key: str | None = None) -> ledger.Posted:
        return redemptions.adjust(self.books, ref, points, reason, actor=actor, idempotency_key=idempotency_key)

    # -- time and books ------------------------------------------------------------------------

    def run_jobs(self, as_of: datetime | None = None) -> jobs.JobReport:
        """Release pending points, expire, remind, re-tier and deliver events, as of a moment."""
        as_of = as_of or self.books.now()
        if as_of.tzinfo is None:
            raise InvalidInput(f"as_of must be timezone-aware, got {as_of!r}", field="as_of", value=as_of)
        return jobs.run_all(self.books, as_of)

    def doctor(self) -> dict[str, Any]:
        with self.books.read() as conn:
            return doctor.check(conn, self.shop_id, self.program)

    def summary(self) -> dict[str, Any]:
        with self.books.read() as conn:
            return report.summary(conn, self.shop_id, self.program)


__all__ = ["Balance", "HistoryLine", "Loyalty", "LotView"]
