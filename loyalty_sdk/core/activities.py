"""Recording non-order activities (signup, birthday, review, social follow, custom kinds)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from loyalty_sdk.core import credits, ledger, members, tiering
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Activity, ActivityHistory
from loyalty_sdk.core.storage import transactions


def history(conn: Connection, books: Books, member_id: int, kind: str, at: datetime) -> ActivityHistory:
    """How often the member earned for ``kind`` today and this year, on the program's clock."""
    zone = books.program.zone
    local = at.astimezone(zone)
    day_start = ledger.utc(datetime.combine(local.date(), time.min, tzinfo=zone))
    year_start = ledger.utc(datetime.combine(local.date().replace(month=1, day=1), time.min, tzinfo=zone))
    c = transactions.c
    in_day = and_(c.event_at >= day_start, c.event_at < day_start + timedelta(days=1))
    in_year = and_(c.event_at >= year_start, c.event_at < ledger.utc(
        datetime.combine(local.date().replace(year=local.year + 1, month=1, day=1), time.min, tzinfo=zone)))
    row = conn.execute(
        select(
            func.coalesce(func.sum(case((in_day, 1), else_=0)), 0),
            func.coalesce(func.sum(case((in_year, 1), else_=0)), 0),
            func.count(),
        ).where(c.shop_id == books.shop_id, c.member_id == member_id, c.kind == "activity", c.activity == kind)
    ).one()
    return ActivityHistory(today=int(row[0]), this_year=int(row[1]), lifetime=int(row[2]))


def record_activity(books: Books, activity: Activity) -> ledger.Posted | None:
    """Award the activity's points if the program has a rule for it and its limits allow;
    None when it earns nothing."""
    if not isinstance(activity, Activity):
        raise InvalidInput(f"expected an Activity, got {type(activity).__name__}", field="activity", value=activity)
    with books.read() as conn:
        member = members.get(conn, books.shop_id, activity.member)
        counts = history(conn, books, member.id, activity.kind, activity.occurred_at)
    credit = books.rules.activity_credit(activity, member, counts, books.shop_id, books.now())
    with books.write() as conn:
        # Limits are re-checked under the member's lock (on PostgreSQL a write transaction alone
        # locks nothing); a concurrent activity means re-evaluating.
        ledger.lock_member(conn, books.shop_id, member.id)
        # A redelivery of an activity already posted is a replay, whatever the limits say now.
        key, digest = books.rules.activity_identity(activity, member)
        seen = ledger.existing(conn, books.shop_id, key)
        if seen is not None and seen.payload_hash == digest:
            return seen
        fresh = history(conn, books, member.id, activity.kind, activity.occurred_at)
        if fresh != counts:
            credit = books.rules.activity_credit(activity, member, fresh, books.shop_id, books.now())
        if credit is None:
            return None
        posted = credits.credit(conn, credit)
        if not posted.replayed and not credit.pending:
            tiering.reevaluate(books, conn, member.id, activity.occurred_at)
        return posted
