"""Finding, enrolling and reading members (every query scoped to one shop)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from psycopg import RawCursor
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection

from loyalty_sdk.core.errors import MemberExists, MemberNotFound
from loyalty_sdk.core.ledger import MEMBER_COLUMNS, MemberRow, Raw, emit, stored, utc
from loyalty_sdk.core.models import Member, MemberRef
from loyalty_sdk.core.storage import members


def to_member(row: Any) -> Member:
    return Member(
        id=row.id,
        shop_id=row.shop_id,
        customer_id=row.customer_id,
        email=row.email,
        tier=row.tier,
        enrolled_at=stored(row.enrolled_at),
        available=row.available,
        pending=row.pending,
        lifetime_points=row.lifetime_points,
        birthday=date.fromisoformat(row.birthday) if isinstance(row.birthday, str) else row.birthday,
        name=row.name,
        last_activity_at=stored(row.last_activity_at),
        tier_since=stored(row.tier_since),
    )


_COLUMNS = ", ".join(MEMBER_COLUMNS)


def _from_raw(row: tuple[Any, ...]) -> Member:
    return to_member(MemberRow(*row))


def _select_in(raw: Raw, column: str, shop_id: str, values: list[str], order: str = "") -> list[tuple[Any, ...]]:
    """Member rows whose ``column`` is one of ``values``. PostgreSQL takes the list as one array
    parameter (one prepared statement for any count); SQLite gets chunks of placeholders."""
    if not values:
        return []
    if raw.postgres:
        # One member (every webhook) is a plain equality, whose prepared plan PostgreSQL reuses;
        # with an array it plans each call afresh, sized to the array.
        single = len(values) == 1
        cursor = RawCursor(raw.connection)
        cursor.execute(
            f"SELECT {_COLUMNS} FROM members WHERE shop_id = $1 AND {column} = {'$2' if single else 'ANY($2)'}{order}",
            (shop_id, values[0] if single else values), prepare=True,
        )
        return cursor.fetchall()
    cursor = raw.cursor()
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        cursor.execute(
            f"SELECT {_COLUMNS} FROM members WHERE shop_id = ? AND {column} IN ({', '.join('?' * len(chunk))}){order}",
            (shop_id, *chunk),
        )
        rows.extend(cursor.fetchall())
    return rows


def lookup(raw: Raw, shop_id: str, refs: Iterable[MemberRef]) -> dict[MemberRef, Member]:
    """Members for many references in few queries (the order hot path); raises MemberNotFound
    naming the first reference that has no member."""
    wanted = list(dict.fromkeys(refs))
    customer_ids = [r.customer_id for r in wanted if r.customer_id]
    by_customer = {row[2]: _from_raw(row) for row in _select_in(raw, "customer_id", shop_id, customer_ids)}
    emails = [r.email for r in wanted if r.email and r.customer_id not in by_customer]
    by_email: dict[str, Member] = {}
    for row in _select_in(raw, "email", shop_id, emails, " ORDER BY id DESC"):
        by_email[row[3]] = _from_raw(row)  # lowest id wins: rows come highest first
    found: dict[MemberRef, Member] = {}
    for ref in wanted:
        member = by_customer.get(ref.customer_id) if ref.customer_id else None
        if member is None and ref.email:
            member = by_email.get(ref.email)
        if member is None:
            raise MemberNotFound(f"no member {ref} in shop {shop_id!r}", field="member", value=str(ref))
        found[ref] = member
    return found


def get(conn: Connection, shop_id: str, ref: MemberRef | str | int) -> Member:
    """The member named by ``ref`` (a MemberRef, a customer id or email, or an internal id)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        row = conn.execute(select(members).where(members.c.shop_id == shop_id, members.c.id == ref)).first()
        if row is None:
            raise MemberNotFound(f"no member {ref} in shop {shop_id!r}", field="member", value=str(ref))
        return to_member(row)
    ref = MemberRef.parse(ref)
    return lookup(Raw.of(conn), shop_id, [ref])[ref]


def enroll(
    conn: Connection,
    shop_id: str,
    ref: MemberRef,
    *,
    at: datetime,
    name: str | None = None,
    birthday: date | None = None,
) -> Member:
    if conn.dialect.name == "postgresql":
        # Two processes enrolling one customer would both find nobody (and emails have no unique
        # index): serialize enrolments per identity, in a fixed order, until commit.
        for identity in sorted(f"{shop_id}|{kind}|{value}" for kind, value in
                               (("customer", ref.customer_id), ("email", ref.email)) if value):
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:identity, 0))"),
                         {"identity": identity})
    try:
        lookup(Raw.of(conn), shop_id, [ref])
    except MemberNotFound:
        pass
    else:
        raise MemberExists(f"member {ref} is already enrolled in shop {shop_id!r}", field="member", value=str(ref))
    member_id = conn.execute(
        insert(members).returning(members.c.id),
        {
            "shop_id": shop_id, "customer_id": ref.customer_id, "email": ref.email, "name": name,
            "birthday": birthday, "enrolled_at": utc(at), "available": 0, "pending": 0, "lifetime_points": 0,
            "last_activity_at": utc(at),
        },
    ).scalar_one()
    return get(conn, shop_id, member_id)


def set_tier(conn: Connection, shop_id: str, member_id: int, tier: str | None, since: datetime) -> None:
    conn.execute(
        update(members).where(members.c.shop_id == shop_id, members.c.id == member_id).values(tier=tier, tier_since=utc(since))
    )


def redact(conn: Connection, shop_id: str, member_id: int, at: datetime, reason: str) -> bool:
    """Erase the member's personal data (customer id, email, name, birthday) and say so in
    the outbox; balances, lots and the ledger stay, so the books still add up. False when the
    member was already redacted (nothing changes twice)."""
    row = conn.execute(select(members.c.customer_id, members.c.email, members.c.name, members.c.birthday).where(
        members.c.shop_id == shop_id, members.c.id == member_id).with_for_update()).first()
    if row is None:
        raise MemberNotFound(f"no member {member_id} in shop {shop_id!r}", field="member", value=str(member_id))
    if not any(row):
        return False
    conn.execute(update(members).where(members.c.shop_id == shop_id, members.c.id == member_id)
                 .values(customer_id=None, email=None, name=None, birthday=None))
    emit(conn, shop_id, "member_redacted", member_id, f"redact:{member_id}",
         {"member_id": member_id, "customer_id": row.customer_id, "reason": reason}, at)
    return True


def update_profile(conn: Connection, shop_id: str, member_id: int, *, customer_id: str | None = None,
                   email: str | None = None, name: str | None = None, birthday: date | None = None,
                   marketing_consent: str | None = None) -> bool:
    """Bring a member's contact details up to date with what the store says (only the fields
    given; a customer id only where the member had none: a guest who opened an account);
    False when nothing changed. A redacted member is never filled in again."""
    row = conn.execute(select(members.c.customer_id, members.c.email, members.c.name, members.c.birthday,
                              members.c.marketing_consent).where(
        members.c.shop_id == shop_id, members.c.id == member_id)).first()
    if row is None:
        raise MemberNotFound(f"no member {member_id} in shop {shop_id!r}", field="member", value=str(member_id))
    if not any((row.customer_id, row.email, row.name, row.birthday)):
        return False  # erased on request: stays erased
    wanted = {key: value for key, value in (("email", email.strip().lower() if email else None), ("name", name),
                                            ("birthday", birthday), ("marketing_consent", marketing_consent))
              if value is not None and value != row._mapping[key]}
    if customer_id and row.customer_id is None:
        wanted["customer_id"] = customer_id
    if not wanted:
        return False
    conn.execute(update(members).where(members.c.shop_id == shop_id, members.c.id == member_id).values(**wanted))
    return True
