"""Turning outbox events into member messages and sending them, at most once per message
and channel, from the server's scheduler (every shop, under its jobs lease).

``queue`` reads the shop's new outbox events and writes one ``member_messages`` row per
message and enabled channel (a unique key makes a second queueing of the same event change
nothing). ``send`` claims the rows that are due, renders each (templates per shop and locale)
and hands it to its channel: sent, skipped for good (no address, no marketing consent, the
channel gone) or tried again after an exponential, jittered backoff, until ``MAX_ATTEMPTS``
(then ``dead``). A message is marked sent right after its channel took it; only a process dying
between the two could send it twice.

A shop that turns messages on is sent those of the last day's events, not its whole history.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.core.ledger import dialect_insert, stored, utc
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.retry import backoff, claim_due
from loyalty_sdk.core.storage import member_messages, members, message_cursors, outbox, transactions
from loyalty_sdk.messages import kinds
from loyalty_sdk.messages.channels import Channel, Message, Undeliverable, channels
from loyalty_sdk.messages.templates import DEFAULT_LOCALE, render

if TYPE_CHECKING:
    from loyalty_sdk.server.runtime import Runtime

log = logging.getLogger("loyalty_sdk.messages")
LOOKBACK = timedelta(days=1)
SETTLE = timedelta(minutes=1)
"""Events younger than this are read again next time: a transaction still open when the queue
was read may commit an event below the newest id seen."""
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
BACKOFF_BASE = 60.0
BACKOFF_CAP = 6 * 3600.0


@frozen
class ShopContext:
    """What rendering a shop's messages needs."""

    shop_id: str
    program: Program
    settings: Mapping[str, Any]
    templates: Path | None = None
    """The override directory (``LOYALTY_MESSAGE_TEMPLATES``)."""


def _write(db: Engine) -> Any:
    return db.execution_options(loyalty_write=True).begin()


def queue(db: Engine, shop_id: str, program: Program, channel_names: Sequence[str], now: datetime,
          limit: int = 1000) -> None:
    """Queue the messages of the shop's outbox events since the last call, on each channel."""
    o = outbox.c
    with _write(db) as conn:
        cursor = conn.execute(select(message_cursors.c.last_outbox_id)
                              .where(message_cursors.c.shop_id == shop_id)).scalar()
        if cursor is None:
            cursor = conn.execute(select(func.coalesce(func.max(o.id), 0)).where(
                o.shop_id == shop_id, o.created_at <= utc(now - LOOKBACK))).scalar_one()
            conn.execute(dialect_insert(conn, message_cursors).values(
                shop_id=shop_id, last_outbox_id=cursor, updated_at=utc(now)).on_conflict_do_nothing())
        events = conn.execute(select(o.id, o.kind, o.member_id, o.dedup_key, o.payload, o.created_at)
                              .where(o.shop_id == shop_id, o.id > cursor).order_by(o.id).limit(limit)).all()
        activity = _activities(conn, shop_id, events)
        rows: list[dict[str, Any]] = []
        settled, young = cursor, False
        for event in events:
            made = None
            if event.kind in kinds.SOURCES and event.member_id is not None:
                made = kinds.message_kind(event.kind, event.payload, program,
                                          activity.get(event.payload.get("transaction_id")))
            if made is not None:
                key = kinds.message_key(event.kind, event.dedup_key, event.member_id,
                                        stored(event.created_at).isoformat())
                rows += [{"shop_id": shop_id, "channel": name, "message_key": key, "kind": made,
                          "member_id": event.member_id, "outbox_id": event.id, "status": "pending", "attempts": 0,
                          "next_attempt_at": utc(now)} for name in channel_names]
            if young or stored(event.created_at) > now - SETTLE:
                young = True  # the cursor stops before the first young event
            else:
                settled = event.id
        if rows:
            conn.execute(dialect_insert(conn, member_messages).on_conflict_do_nothing(
                index_elements=["shop_id", "channel", "message_key"]), rows)
        if settled > cursor:
            conn.execute(update(message_cursors).where(message_cursors.c.shop_id == shop_id)
                         .values(last_outbox_id=settled, updated_at=utc(now)))


def _activities(conn: Connection, shop_id: str, events: Sequence[Any]) -> dict[int, str]:
    """The activity kind (``birthday``...) of the activity transactions these events posted."""
    ids = [e.payload.get("transaction_id") for e in events
           if e.kind == "points_posted" and e.payload.get("kind") == "activity"]
    if not ids:
        return {}
    t = transactions.c
    return dict(conn.execute(select(t.id, t.activity).where(t.shop_id == shop_id, t.id.in_(ids))).all())


def send(db: Engine, shop: ShopContext, enabled: Mapping[str, Channel], now: datetime, *, limit: int = 100,
         rng: random.Random | None = None) -> dict[str, int]:
    """Send the shop's due messages through their channels, each outcome recorded at once;
    how many were sent, skipped, retried and given up (dead)."""
    m = member_messages.c
    now = utc(now)
    claimed = claim_due(db, member_messages, now, LEASE, limit,
                        (m.channel, m.kind, m.member_id, m.outbox_id, m.message_key, m.attempts),
                        where=(m.shop_id == shop.shop_id,))
    counts = {"sent": 0, "skipped": 0, "retried": 0, "dead": 0}
    try:
        for row in claimed:
            _send_one(db, shop, enabled, row, now, counts, rng)
    finally:
        # Channels that hold a connection for the batch (SMTP) may let it go now.
        for name, channel in enabled.items():
            close = getattr(channel, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the outcomes are recorded; a failed goodbye changes none
                    log.warning("closing the %s channel failed", name, exc_info=True)
    return counts


def _send_one(db: Engine, shop: ShopContext, enabled: Mapping[str, Channel], row: Any, now: datetime,
              counts: dict[str, int], rng: random.Random | None) -> None:
    """Send one claimed message and record its outcome (counted in ``counts``)."""
    m = member_messages.c
    values: dict[str, Any] = {"claimed_until": None}
    try:
        channel = enabled.get(row.channel)
        if channel is None:
            raise Undeliverable(f"channel {row.channel!r} is not enabled for this shop")
        with db.connect() as conn:
            message = compose(conn, shop, row)
        channel.send(message)
    except Undeliverable as why:
        values.update(status="skipped", last_error=str(why)[:2000])
        counts["skipped"] += 1
    except Exception as error:  # noqa: BLE001 - a channel failing is retried, whatever it raised
        failure = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            values.update(status="dead", last_error=failure)
            counts["dead"] += 1
            log.warning("message %s on %s dead after %d attempts: %s", row.message_key, row.channel,
                        row.attempts, failure)
        else:
            values.update(last_error=failure,
                          next_attempt_at=now + backoff(row.attempts, BACKOFF_BASE, BACKOFF_CAP, rng))
            counts["retried"] += 1
    else:
        values.update(status="sent", sent_at=now, last_error=None)
        counts["sent"] += 1
    with _write(db) as conn:
        conn.execute(update(member_messages).where(m.id == row.id).values(values))


def compose(conn: Connection, shop: ShopContext, row: Any) -> Message:
    """The rendered message of a queued row; Undeliverable when the member may not get it."""
    member = conn.execute(select(members).where(members.c.shop_id == shop.shop_id,
                                                members.c.id == row.member_id)).one()
    category = kinds.category(row.kind)
    if category == "marketing" and not kinds.may_market(member.marketing_consent, shop.settings):
        raise Undeliverable("the member has not consented to marketing messages")
    event = conn.execute(select(outbox).where(outbox.c.id == row.outbox_id)).one()
    program = shop.program
    level = program.tiers.level(member.tier)
    context = {
        "member": {"name": member.name, "email": member.email, "customer_id": member.customer_id,
                   "tier": member.tier, "tier_name": (level.name or level.id) if level else None,
                   "balance": member.available, "pending": member.pending},
        "program": {"name": program.program.name}, "shop": {"id": shop.shop_id},
        "event": dict(event.payload), **_values(conn, shop, row.kind, event),
    }
    locale = str(shop.settings.get("locale") or DEFAULT_LOCALE)
    subject, text, html = render(row.kind, shop.shop_id, locale, context, shop.templates)
    return Message(key=row.message_key, shop_id=shop.shop_id, kind=row.kind, category=category,
                   member_id=member.id, to=member.email, name=member.name, customer_id=member.customer_id,
                   locale=locale, subject=subject, text=text, html=html, sender=shop.settings.get("message_from"),
                   data=dict(event.payload))


def _values(conn: Connection, shop: ShopContext, kind: str, event: Any) -> dict[str, Any]:
    """What each kind's templates show beyond the member and the program."""
    payload = event.payload
    program = shop.program
    if kind in ("points_earned", "birthday_bonus"):
        return {"points": payload.get("points"), "pending": bool(payload.get("pending")),
                "order_id": payload.get("order_id"), "reason": payload.get("reason")}
    if kind in ("tier_up", "tier_down"):
        before, after = program.tiers.level(payload.get("from")), program.tiers.level(payload.get("to"))
        return {"from_name": (before.name or before.id) if before else None,
                "to_name": (after.name or after.id) if after else None, "perks": list(after.perks) if after else []}
    if kind == "reward_issued":
        rule = program.reward(payload.get("reward_id") or "")
        return {"reward_name": rule.name if rule else payload.get("reward_id"), "code": payload.get("code"),
                "points": payload.get("points")}
    # points_expiring: the whole batch the reminder run wrote for this member
    o = outbox.c
    batch = [row.payload for row in conn.execute(select(o.payload).where(
        o.shop_id == shop.shop_id, o.kind == "points_expiring", o.member_id == event.member_id,
        o.created_at == event.created_at))]
    first = min(datetime.fromisoformat(p["expires_at"]) for p in batch)
    return {"points": sum(int(p["points"]) for p in batch), "lots": len(batch),
            "expires_on": first.astimezone(program.zone).date().isoformat(),
            "days_left": min(int(p["days_left"]) for p in batch)}


def run(runtime: Runtime, shop_id: str) -> dict[str, int]:
    """Queue and send one shop's member messages (the scheduler calls it for every shop)."""
    loyalty = runtime.loyalty(shop_id)
    record = runtime.shop(shop_id)
    found = channels(loyalty.host, runtime.settings, runtime.db, runtime.now)
    enabled = {name: channel for name, channel in found.items() if channel.enabled(shop_id)}
    now = runtime.now()
    if enabled:
        queue(runtime.db, shop_id, loyalty.program, sorted(enabled), now)
    shop = ShopContext(shop_id, loyalty.program, dict(record.settings) if record else {},
                       runtime.settings.message_templates)
    return send(runtime.db, shop, enabled, now)


__all__ = ["ShopContext", "compose", "queue", "run", "send"]
