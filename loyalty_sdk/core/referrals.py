"""Referrals: each member's code, the friends who sign up with one, and what they earn.

A referral moves through these states (one row in ``referrals``)::

    invited ──first qualifying order──> qualified ──return window passed──> rewarded
       │                                    └──refunded or cancelled in the window──> void
       └──> refused (with its reason): at sign-up, at the order, or over the cap at reward time

The friend's points (activity ``referral_welcome``) are posted when their order qualifies; the
referrer's (activity ``referral``) by :func:`settle`, which ``run_jobs`` calls, once that order
has passed its return window. Both are activities, so they go through
``loyalty_activity_awards`` like any other earning, and their keys (``referral:<id>:...``)
make every step idempotent: a step interrupted by a crash is finished by the next run.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from attrs import asdict, frozen
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from loyalty_sdk.core import activities, ledger, members
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.errors import InvalidInput, MemberExists, MemberNotFound, ReferralCodeNotFound
from loyalty_sdk.core.models import Activity, Member, MemberRef, Order, ReferralCheck
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Referrals
from loyalty_sdk.core.storage import orders, payer_traits, referral_codes, referrals, transactions

# Codes are read aloud and typed on phones: no 0/O or 1/I to confuse.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
TAKE_BACKS = ("clawback", "cancel")
_SEPARATORS = re.compile(r"[\s\-_]+")


@frozen
class ReferralCode:
    """A member's code and, when the program has a ``link`` template, the link to share."""

    member_id: int
    code: str
    link: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@frozen
class ReferralView:
    """One referral as the API and the CLI show it. ``replayed``: the same friend and code
    were recorded before; nothing changed."""

    id: int
    code: str
    referrer_id: int
    referee_id: int
    status: str
    reason: str | None
    source: str
    referred_at: datetime
    order_id: str | None
    qualified_at: datetime | None
    due_at: datetime | None
    settled_at: datetime | None
    referee_points: int
    referrer_points: int
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in asdict(self).items()}


def section(books: Books) -> Referrals:
    """The program's ``[referrals]`` section; without one, referrals are refused as bad input."""
    found = books.program.referrals
    if found is None:
        raise InvalidInput("this program has no [referrals] section, so it takes no referrals", field="referrals")
    return found


def normalize_code(code: object) -> str:
    """``" ab-cd 2345 "`` -> ``"ABCD2345"``: codes are compared as typed, without separators."""
    if not isinstance(code, str) or not _SEPARATORS.sub("", code):
        raise InvalidInput(f"a referral code must be a non-empty string, got {code!r}", field="code", value=code)
    return _SEPARATORS.sub("", code).upper()


def _link(program: Referrals, code: str) -> str | None:
    return program.link.replace("{code}", code) if program.link else None


def code_for(books: Books, member_id: int) -> ReferralCode:
    """The member's referral code, made on first request and the same ever after."""
    program = section(books)
    shop_id = books.shop_id
    for _attempt in range(5):
        with books.read() as conn:
            found = conn.execute(select(referral_codes.c.code).where(
                referral_codes.c.shop_id == shop_id, referral_codes.c.member_id == member_id)).scalar()
        if found is not None:
            return ReferralCode(member_id, found, _link(program, found))
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with books.write() as conn:
                members.get(conn, shop_id, member_id)
                conn.execute(referral_codes.insert().values(shop_id=shop_id, member_id=member_id, code=code,
                                                            created_at=ledger.utc(books.now())))
        except IntegrityError:
            continue  # another request gave this member a code first, or (rarely) the code is taken
        return ReferralCode(member_id, code, _link(program, code))
    raise RuntimeError(f"could not make a unique referral code for member {member_id}")


# ---------------------------------------------------------------------------------------------
# A friend signs up with a code
# ---------------------------------------------------------------------------------------------


def refer(books: Books, code: str, friend: MemberRef, *, at: datetime | None = None, source: str = "api",
          name: str | None = None) -> ReferralView:
    """Record that ``friend`` signed up with ``code`` (enrolling them if they are not yet a
    member). The referral is ``invited``, or ``refused`` with its reason; the same friend and
    code again is a replay."""
    section(books)
    wanted = normalize_code(code)
    if not isinstance(friend, MemberRef):
        raise InvalidInput(f"the friend must be a MemberRef, got {type(friend).__name__}", field="friend",
                           value=friend)
    at = ledger.utc(at or books.now())
    for attempt in range(3):
        try:
            return _refer(books, wanted, code, friend, at, source, name)
        except (IntegrityError, MemberExists):
            # Another process enrolled this friend, or recorded their referral, between our read
            # and our write: read again and answer from what is there now.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _refer(books: Books, wanted: str, code: str, friend: MemberRef, at: datetime, source: str,
           name: str | None) -> ReferralView:
    shop_id = books.shop_id
    with books.write() as conn:
        owner = conn.execute(select(referral_codes.c.member_id).where(
            referral_codes.c.shop_id == shop_id, referral_codes.c.code == wanted)).scalar()
        if owner is None:
            raise ReferralCodeNotFound(f"no member has referral code {wanted!r} in shop {shop_id!r}", field="code",
                                       value=code)
        referrer = members.get(conn, shop_id, owner)
        try:
            referee = members.get(conn, shop_id, friend)
        except MemberNotFound:
            referee = members.enroll(conn, shop_id, friend, at=at, name=name)
        standing = conn.execute(select(referrals).where(
            referrals.c.shop_id == shop_id, referrals.c.referee_id == referee.id,
            referrals.c.status != "refused")).first()
        if standing is not None and standing.referrer_id == referrer.id:
            return _view(standing, replayed=True)
        if standing is not None:
            reason: str | None = "the friend was already referred by another member"
        else:
            check = ReferralCheck(
                stage="referral", code=wanted, referrer=referrer, referee=referee, referred_at=at,
                referee_orders=_orders_before(conn, shop_id, referee.id, at),
                rewarded=_rewarded(conn, books, referrer.id, at),
            )
            reason = books.host.refuse_referral(check, books.program)
        row_id = conn.execute(referrals.insert().values(
            shop_id=shop_id, code=wanted, referrer_id=referrer.id, referee_id=referee.id,
            status="invited" if reason is None else "refused", reason=reason, source=source, referred_at=at,
            referee_points=0, referrer_points=0,
        ).returning(referrals.c.id)).scalar_one()
        return _view(conn.execute(select(referrals).where(referrals.c.id == row_id)).one())


def _orders_before(conn: Connection, shop_id: str, member_id: int, at: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(orders).where(
        orders.c.shop_id == shop_id, orders.c.member_id == member_id, orders.c.placed_at < at)).scalar_one())


def _rewarded(conn: Connection, books: Books, referrer_id: int, at: datetime, *, exclude: int | None = None) -> int:
    """The referrer's referrals that count toward ``max_rewards``: rewarded, or qualified and
    on their way, within ``cap_days`` of ``at``."""
    r = referrals.c
    query = select(func.count()).where(r.shop_id == books.shop_id, r.referrer_id == referrer_id,
                                       r.status.in_(("qualified", "rewarded")))
    cap_days = section(books).cap_days
    if cap_days is not None:
        query = query.where(r.qualified_at > ledger.utc(at - timedelta(days=cap_days)))
    if exclude is not None:
        query = query.where(r.id != exclude)
    return int(conn.execute(query).scalar_one())


# ---------------------------------------------------------------------------------------------
# The friend's orders
# ---------------------------------------------------------------------------------------------


def trait_digests(shop_id: str, order: Order) -> list[str]:
    """Digests of the order's payment method and address: one-way, so the books never keep the
    card fingerprint or the address itself; the first letter says which it is."""
    found = []
    for kind, value in (("p", order.payer_fingerprint), ("a", order.address)):
        if value:
            plain = " ".join(value.lower().split()) if kind == "a" else value.strip()
            found.append(kind + hashlib.sha256(f"{shop_id}|{kind}|{plain}".encode()).hexdigest()[:40])
    return found


def after_orders(books: Books, recorded: Sequence[tuple[Member, Order]]) -> None:
    """Keep the digests of the orders' payers, then qualify referrals of the members who
    ordered. Called after the orders committed; a crash between the two is finished by the
    next :func:`settle`."""
    shop_id = books.shop_id
    rows = [{"shop_id": shop_id, "member_id": member.id, "order_id": order.order_id, "digest": digest}
            for member, order in recorded for digest in trait_digests(shop_id, order)]
    if rows:
        with books.write() as conn:
            insert = ledger.dialect_insert(conn, payer_traits)
            conn.execute(insert.on_conflict_do_nothing(index_elements=["shop_id", "order_id", "digest"]), rows)
    qualify(books, {member.id for member, _ in recorded})


def qualify(books: Books, member_ids: Iterable[int] | None = None) -> int:
    """Look for the first qualifying order of each invited friend (of ``member_ids``, or all);
    returns how many referrals qualified or were refused."""
    r = referrals.c
    query = select(r.id).where(r.shop_id == books.shop_id, r.status == "invited")
    if member_ids is not None:
        wanted = sorted(member_ids)
        if not wanted:
            return 0
        query = query.where(r.referee_id.in_(wanted))
    else:  # the catch-up: only friends who have ordered at all
        query = query.where(select(orders.c.id).where(
            orders.c.shop_id == books.shop_id, orders.c.member_id == r.referee_id).exists())
    with books.read() as conn:
        waiting = list(conn.execute(query.order_by(r.id)).scalars())
    return sum(_qualify_one(books, referral_id) for referral_id in waiting)


def _qualify_one(books: Books, referral_id: int) -> int:
    program = section(books)
    shop_id = books.shop_id
    with books.write() as conn:
        row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).one()
        ledger.lock_member(conn, shop_id, row.referee_id)
        row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).one()
        if row.status != "invited":
            return 0  # another process got here first
        referred_at = ledger.stored(row.referred_at)
        found = _first_qualifying(conn, books, program, row.referee_id, referred_at)
        if found is None:
            return 0
        order, due_at = found
        placed_at = ledger.stored(order.placed_at)
        if program.window_days is not None and placed_at > referred_at + timedelta(days=program.window_days):
            _set(conn, referral_id, status="refused",
                 reason=f"no qualifying order within {program.window_days} days of the referral")
            return 1
        referrer = members.get(conn, shop_id, row.referrer_id)
        referee = members.get(conn, shop_id, row.referee_id)
        check = ReferralCheck(
            stage="order", code=row.code, referrer=referrer, referee=referee, referred_at=referred_at,
            referee_orders=_orders_before(conn, shop_id, referee.id, referred_at), order_id=order.order_id,
            order_value=Money.from_minor(order.eligible_minor, order.currency),
            referrer_traits=_traits(conn, shop_id, member_id=referrer.id),
            referee_traits=_traits(conn, shop_id, order_id=order.order_id),
            rewarded=_rewarded(conn, books, referrer.id, placed_at, exclude=referral_id),
        )
        reason = books.host.refuse_referral(check, books.program)
        if reason is not None:
            _set(conn, referral_id, status="refused", reason=reason, order_id=order.order_id)
            return 1
        _set(conn, referral_id, status="qualified", order_id=order.order_id, qualified_at=placed_at,
             due_at=ledger.utc(due_at), revenue_minor=order.eligible_minor, currency=order.currency)
    welcome = _post(books, "referral_welcome", referee, referral_id, "welcome", placed_at,
                    {"referral_id": referral_id, "order_id": order.order_id})
    if welcome:
        with books.write() as conn:
            _set(conn, referral_id, referee_points=welcome)
    return 1


def _first_qualifying(conn: Connection, books: Books, program: Referrals, member_id: int,
                      since: datetime) -> tuple[Any, datetime] | None:
    """The friend's first order placed since the referral that is worth ``min_order``, with
    the end of its return window (when its pending points become available)."""
    rows = conn.execute(
        select(orders.c.order_id, orders.c.placed_at, orders.c.currency, orders.c.eligible_minor)
        .where(orders.c.shop_id == books.shop_id, orders.c.member_id == member_id,
               orders.c.placed_at >= ledger.utc(since))
        .order_by(orders.c.placed_at, orders.c.id)
    ).all()
    currency = books.program.program.currency
    for order in rows:
        if program.min_order:
            if order.currency != currency:
                continue
            if Money.from_minor(order.eligible_minor, currency).amount < program.min_order:
                continue
        return order, ledger.stored(order.placed_at) + timedelta(days=books.program.earn.pending_days)
    return None


def _traits(conn: Connection, shop_id: str, *, member_id: int | None = None, order_id: str | None = None
            ) -> frozenset[str]:
    t = payer_traits.c
    where = t.member_id == member_id if member_id is not None else t.order_id == order_id
    return frozenset(conn.execute(select(t.digest).where(t.shop_id == shop_id, where)).scalars())


def _set(conn: Connection, referral_id: int, **values: Any) -> None:
    conn.execute(update(referrals).where(referrals.c.id == referral_id).values(**values))


def _post(books: Books, kind: str, member: Member, referral_id: int, step: str, at: datetime,
          payload: dict[str, Any]) -> int:
    """Post a referral reward as an activity; its points (0 when it earns nothing)."""
    if not member.customer_id and not member.email:
        return 0  # the member's data was erased: nobody left to reward
    activity = Activity(kind, MemberRef(member.customer_id, member.email), at,
                        activity_id=f"referral:{referral_id}:{step}", payload=payload)
    posted = activities.record_activity(books, activity)
    return posted.points if posted is not None else 0


# ---------------------------------------------------------------------------------------------
# The return window passed: reward the referrer, or void
# ---------------------------------------------------------------------------------------------


@frozen
class Settled:
    rewarded: int = 0
    voided: int = 0
    refused: int = 0
    points: int = 0


def settle(books: Books, as_of: datetime) -> Settled:
    """Reward the referrers of friends whose qualifying order passed its return window by
    ``as_of``, and void the referrals whose order was refunded or cancelled meanwhile (taking
    the friend's pending points back). An order on hold waits."""
    if books.program.referrals is None:
        return Settled()
    qualify(books)
    r = referrals.c
    with books.read() as conn:
        due = list(conn.execute(
            select(r.id).where(r.shop_id == books.shop_id, r.status == "qualified",
                               r.due_at <= ledger.utc(as_of)).order_by(r.due_at, r.id)).scalars())
    rewarded = voided = refused = points = 0
    for referral_id in due:
        outcome, gained = _settle_one(books, referral_id)
        rewarded += outcome == "rewarded"
        voided += outcome == "void"
        refused += outcome == "refused"
        points += gained
    return Settled(rewarded, voided, refused, points)


def _settle_one(books: Books, referral_id: int) -> tuple[str | None, int]:
    program = section(books)
    shop_id = books.shop_id
    with books.read() as conn:
        row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).one()
        if row.status != "qualified":
            return None, 0
        order = conn.execute(select(orders.c.transaction_id, orders.c.held_since, orders.c.eligible_minor,
                                    orders.c.currency)
                             .where(orders.c.shop_id == shop_id, orders.c.order_id == row.order_id)).one()
        if order.held_since is not None:
            return None, 0  # a disputed payment: decide once the dispute is over
        undone = _undone(conn, books, program, order)
        referrer = members.get(conn, shop_id, row.referrer_id)
    due_at = ledger.stored(row.due_at)
    if undone is not None:
        _void(books, row, undone, due_at)
        return "void", 0
    if program.max_rewards is not None:
        with books.read() as conn:
            counted = _rewarded(conn, books, referrer.id, due_at, exclude=referral_id)
        if counted >= program.max_rewards:
            with books.write() as conn:
                _set(conn, referral_id, status="refused", settled_at=ledger.utc(due_at),
                     reason=f"the referrer reached the cap of {program.max_rewards} rewarded referrals")
            return "refused", 0
    gained = _post(books, "referral", referrer, referral_id, "reward", due_at,
                   {"referral_id": referral_id, "order_id": row.order_id})
    with books.write() as conn:
        conn.execute(update(referrals).where(referrals.c.id == referral_id, referrals.c.status == "qualified")
                     .values(status="rewarded", settled_at=ledger.utc(due_at), referrer_points=gained))
    return "rewarded", gained


def _undone(conn: Connection, books: Books, program: Referrals, order: Any) -> str | None:
    """Why the qualifying order no longer qualifies: cancelled, or refunded below
    ``min_order`` (any refund at all when the order is in another currency than the
    program's and a minimum applies, since its spend cannot be compared); else None."""
    taken = conn.execute(select(transactions.c.kind, transactions.c.tier_spend_minor).where(
        transactions.c.shop_id == books.shop_id, transactions.c.refers_to == order.transaction_id,
        transactions.c.kind.in_(TAKE_BACKS))).all()
    if not taken:
        return None
    if any(t.kind == "cancel" for t in taken):
        return "cancelled"
    if order.currency != books.program.program.currency:
        return "refunded" if program.min_order else None
    left = order.eligible_minor + sum(t.tier_spend_minor for t in taken)
    if left <= 0 or Money.from_minor(left, order.currency).amount < program.min_order:
        return "refunded"
    return None


def _void(books: Books, row: Any, undone: str, at: datetime) -> None:
    from loyalty_sdk.core.orders import take_back  # orders calls into this module after posting

    reason = f"referral {row.id}: the friend's order {row.order_id} was {undone} within its return window"
    with books.write() as conn:
        welcome = ledger.existing(conn, books.shop_id, f"activity:referral:{row.id}:welcome")
        if welcome is not None and welcome.points > 0:
            take_back(books, conn, member_id=row.referee_id, points=welcome.points, key=f"referral:{row.id}:void",
                      payload=payload_hash(row.id, "void"), kind="clawback", order_id=row.order_id,
                      earn_txn=welcome.transaction_id, at=at, reason=reason, detail={"referral_id": row.id},
                      spend_minor=0, orders_delta=0)
        conn.execute(update(referrals).where(referrals.c.id == row.id, referrals.c.status == "qualified")
                     .values(status="void", reason=reason, settled_at=ledger.utc(at)))


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


STATUSES = ("invited", "qualified", "rewarded", "void", "refused")


def listing(books: Books, *, member_id: int | None = None, status: str | None = None, limit: int = 100
            ) -> list[ReferralView]:
    """Referrals, newest first: all, a member's (as referrer or as friend), or in one status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}", field="status",
                           value=status)
    r = referrals.c
    query = select(referrals).where(r.shop_id == books.shop_id)
    if member_id is not None:
        query = query.where(or_(r.referrer_id == member_id, r.referee_id == member_id))
    if status is not None:
        query = query.where(r.status == status)
    with books.read() as conn:
        return [_view(row) for row in conn.execute(query.order_by(r.id.desc()).limit(limit))]


def _view(row: Any, *, replayed: bool = False) -> ReferralView:
    return ReferralView(
        id=row.id, code=row.code, referrer_id=row.referrer_id, referee_id=row.referee_id, status=row.status,
        reason=row.reason, source=row.source, referred_at=ledger.stored(row.referred_at), order_id=row.order_id,
        qualified_at=ledger.stored(row.qualified_at), due_at=ledger.stored(row.due_at),
        settled_at=ledger.stored(row.settled_at), referee_points=row.referee_points,
        referrer_points=row.referrer_points, replayed=replayed,
    )


__all__ = [
    "CODE_ALPHABET",
    "STATUSES",
    "ReferralCode",
    "ReferralView",
    "Settled",
    "after_orders",
    "code_for",
    "listing",
    "normalize_code",
    "qualify",
    "refer",
    "settle",
    "trait_digests",
]
