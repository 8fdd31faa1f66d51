"""The ledger's tables (SQLAlchemy 2 Core) and how to open a database.

Every row carries ``shop_id``. Entries are append-only; the only rows updated in place are
materialized state kept in the same transaction as the entries that explain it (member
balances, lot remainders, redemption status, outbox delivery). ``loyalty doctor`` re-derives
all of it from the entries.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    literal_column,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from loyalty_sdk.core.errors import InvalidInput

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Money is stored as integer minor units of its currency: exact on every engine, and sums
# aggregate exactly (SQLite has no decimal type).
Stamp = DateTime(timezone=True)

shops = Table(
    "shops",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("settings", JSON, nullable=False, default=dict),
)

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), ForeignKey("shops.id"), nullable=False),
    Column("customer_id", String(255)),
    Column("email", String(320)),
    Column("name", String(255)),
    Column("birthday", Date),
    Column("enrolled_at", Stamp, nullable=False),
    Column("available", BigInteger, nullable=False, default=0),
    Column("pending", BigInteger, nullable=False, default=0),
    Column("lifetime_points", BigInteger, nullable=False, default=0),
    Column("tier", String(64)),
    Column("tier_since", Stamp),
    Column("last_activity_at", Stamp),
    # What the store last said about marketing e-mail ("subscribed", "unsubscribed"...), as is.
    Column("marketing_consent", String(32)),
    UniqueConstraint("shop_id", "customer_id"),
    Index(None, "shop_id", "email"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("order_id", String(255)),
    Column("refers_to", Id, ForeignKey("transactions.id")),
    Column("reason", Text, nullable=False),
    Column("cause", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("event_at", Stamp, nullable=False),
    Column("recorded_at", Stamp, nullable=False),
    Column("program_version", String(32), nullable=False),
    # What the transaction contributes to tier qualification, and from when (pending points
    # qualify once released, so an earn's qualifying part is posted by its release).
    Column("tier_points", BigInteger, nullable=False, default=0),
    Column("tier_spend_minor", BigInteger, nullable=False, default=0),
    Column("tier_orders", Integer, nullable=False, default=0),
    # When those contributions count: the event itself, or for a clawback the moment the
    # order's own contribution counted, so a refund undoes exactly what the order qualified.
    Column("tier_at", Stamp, nullable=False),
    Column("activity", String(64)),
    UniqueConstraint("shop_id", "idempotency_key"),
    Index(None, "shop_id", "member_id", "id"),
    # Take-backs find what came before them through the earn they refer to. Partial, so the
    # earn itself (the hot path) adds nothing to this index.
    Index(None, "refers_to", sqlite_where=text("refers_to IS NOT NULL"),
          postgresql_where=text("refers_to IS NOT NULL")),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("transaction_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("account", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("lot_id", Id),
    Index(None, "transaction_id"),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("transaction_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending | available
    Column("earned_at", Stamp, nullable=False),
    Column("available_at", Stamp, nullable=False),
    Column("expires_at", Stamp),
    Index(None, "shop_id", "member_id", "status"),
)

# Lot statuses as SQL literals, not bound parameters: a partial index serves only the queries
# that spell its condition, so the indexes below and the jobs' queries share these.
LOT_PENDING = lots.c.status == literal_column("'pending'")
LOT_AVAILABLE = lots.c.status == literal_column("'available'")
_EXPIRING = and_(LOT_AVAILABLE, lots.c.expires_at.is_not(None))
# The release and expiry jobs' queues. Partial: a lot sits in at most one of them, so an earn
# writes one entry.
Index(None, lots.c.shop_id, lots.c.available_at, sqlite_where=LOT_PENDING, postgresql_where=LOT_PENDING)
Index(None, lots.c.shop_id, lots.c.expires_at, sqlite_where=_EXPIRING, postgresql_where=_EXPIRING)

# Which lots a debit (spend, expiry, clawback) drew from, and how much.
lot_draws = Table(
    "lot_draws",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("transaction_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Index(None, "lot_id"),
    Index(None, "transaction_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("placed_at", Stamp, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gross_minor", BigInteger, nullable=False),
    Column("eligible_minor", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("transaction_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("held_since", Stamp),  # a hold (a payment disputed, say) keeps its pending points pending
    Column("hold_reason", String(255)),
    UniqueConstraint("shop_id", "order_id"),
)
ORDER_HELD = orders.c.held_since.is_not(None)
# Open holds are few: the release job reads them all through this partial index.
Index("ix_orders_held", orders.c.shop_id, orders.c.transaction_id, sqlite_where=ORDER_HELD,
      postgresql_where=ORDER_HELD)

# Orders of customers who were not members when they placed them (the store reports them so
# analytics can compare members with everyone else); they earn nothing and touch no balance.
# ``customer``: the store's customer id, or the e-mail of a guest.
non_member_orders = Table(
    "non_member_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("customer", String(320), nullable=False),
    Column("placed_at", Stamp, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("gross_minor", BigInteger, nullable=False),
    Column("recorded_at", Stamp, nullable=False),
    UniqueConstraint("shop_id", "order_id"),
    Index(None, "shop_id", "placed_at"),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("transaction_id", Id, ForeignKey("transactions.id"), nullable=False),
    Column("reward_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("value_minor", BigInteger),
    Column("currency", String(3)),
    Column("code", String(64)),
    Column("status", String(16), nullable=False),  # pending | issued | used | void | failed | reversed
    Column("created_at", Stamp, nullable=False),
    Column("issued_at", Stamp),
    # When the code came back on an order (a platform reports it), and on which.
    Column("used_at", Stamp),
    Column("used_order_id", String(255)),
    Index(None, "shop_id", "member_id", "reward_id"),
    Index(None, "shop_id", "code"),
)

tier_changes = Table(
    "tier_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("from_tier", String(64)),
    Column("to_tier", String(64)),
    Column("reason", Text, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("as_of", Stamp, nullable=False),
    Column("recorded_at", Stamp, nullable=False),
    Column("program_version", String(32), nullable=False),
    Index(None, "shop_id", "member_id", "as_of"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("member_id", Id),
    Column("dedup_key", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("delivered_at", Stamp),
    Column("attempts", Integer, nullable=False, default=0),
    # When a notification hook that failed is tried again (NULL: at the next run).
    Column("next_attempt_at", Stamp),
    UniqueConstraint("shop_id", "dedup_key"),
    Index(None, "delivered_at", "id"),
)

# When each scheduled job last ran for a shop, and up to which moment it processed.
job_runs = Table(
    "job_runs",
    metadata,
    Column("shop_id", String(255), primary_key=True),
    Column("job", String(32), primary_key=True),
    Column("last_as_of", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

# The server's durable inbox: every delivery a platform sent and we accepted, stored before the
# 200 answer, until a worker has applied it (``done``) or given up on it (``dead``).
INBOX_READY = text("status = 'pending'")
inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("shop_id", String(255), nullable=False),
    Column("topic", String(128), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", Stamp, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Stamp, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", Stamp),
    Column("processed_at", Stamp),
    Column("last_error", Text),
    Column("outcome", JSON),
    UniqueConstraint("platform", "shop_id", "dedup_key"),
    Index("ix_inbox_ready", "next_attempt_at", sqlite_where=INBOX_READY, postgresql_where=INBOX_READY),
    Index(None, "shop_id", "status", "id"),
)

# Bearer keys for the REST API, stored as SHA-256 digests: a key is 256 random bits, so a
# fast hash is enough and the key itself is shown once, never stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), ForeignKey("shops.id"), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("label", String(255)),
    Column("created_at", Stamp, nullable=False),
    Column("revoked_at", Stamp),
)

# Outbound webhooks: endpoints a shop registered (CRMs, marketing tools), and each outbox
# event's delivery to each endpoint. An endpoint's signing secret is derived from the secret
# key and its id, never stored. ``last_outbox_id``: events up to it have been fanned out.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), ForeignKey("shops.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("last_outbox_id", BigInteger, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("disabled_at", Stamp),
    Index(None, "shop_id"),
)

WEBHOOK_DUE = text("status = 'pending'")
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Stamp, nullable=False),
    Column("claimed_until", Stamp),
    Column("delivered_at", Stamp),
    Column("last_error", Text),
    UniqueConstraint("endpoint_id", "outbox_id"),
    Index("ix_webhook_deliveries_due", "next_attempt_at", sqlite_where=WEBHOOK_DUE, postgresql_where=WEBHOOK_DUE),
)

# Member messages (e-mail, and whatever other channels plugins add): each message on each
# channel, sent at most once (the sent log). ``message_key`` is the outbox event's dedup key, or
# for expiry reminders the member and the job run that found their lots: one message a batch.
MESSAGE_DUE = text("status = 'pending'")
member_messages = Table(
    "member_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("message_key", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | skipped | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Stamp, nullable=False),
    Column("claimed_until", Stamp),
    Column("sent_at", Stamp),
    Column("last_error", Text),
    UniqueConstraint("shop_id", "channel", "message_key"),
    Index("ix_member_messages_due", "shop_id", "next_attempt_at", sqlite_where=MESSAGE_DUE,
          postgresql_where=MESSAGE_DUE),
)

# Up to which outbox event each shop's events have been turned into member messages.
message_cursors = Table(
    "message_cursors",
    metadata,
    Column("shop_id", String(255), primary_key=True),
    Column("last_outbox_id", BigInteger, nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

# Leases: which process may run a named piece of work (a scheduled job) until when.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Stamp, nullable=False),
)

# The admin pages: sessions (the cookie's digest only, as for API keys; ``shop_id`` is the shop
# the pages show, which only an admin-key session may switch), and every admin action, whose
# and in which shop (NULL: about none).
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("actor", String(255), nullable=False),
    Column("shop_id", String(255), nullable=False),
    Column("all_shops", Boolean, nullable=False),
    Column("scope", String(8), nullable=False),
    Column("key_id", Id, ForeignKey("api_keys.id")),
    Column("key_check", String(64)),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=False),
    Index(None, "expires_at"),
)

# Referrals (the built-in referrals plugin): each member's code, each friend who signed up with
# one and what became of it, and digests of the payment methods and addresses seen on orders
# (never the values), so a friend paying with the referrer's card is recognised.
referral_codes = Table(
    "referral_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("shop_id", "code"),
    UniqueConstraint("shop_id", "member_id"),
)

REFERRAL_OPEN = literal_column("status") != literal_column("'refused'")
REFERRAL_QUALIFIED = literal_column("status") == literal_column("'qualified'")
referrals = Table(
    "referrals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("code", String(32), nullable=False),
    Column("referrer_id", Id, ForeignKey("members.id"), nullable=False),
    Column("referee_id", Id, ForeignKey("members.id"), nullable=False),
    # invited -> qualified (first qualifying order) -> rewarded | void; or refused at any step.
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("source", String(64), nullable=False),
    Column("referred_at", Stamp, nullable=False),
    Column("order_id", String(255)),
    Column("qualified_at", Stamp),
    Column("due_at", Stamp),  # when the qualifying order's return window ends
    Column("settled_at", Stamp),
    Column("revenue_minor", BigInteger),
    Column("currency", String(3)),
    Column("referee_points", BigInteger, nullable=False, default=0),
    Column("referrer_points", BigInteger, nullable=False, default=0),
    Index(None, "shop_id", "referrer_id"),
)
# A friend is referred once: refused attempts may pile up, but one referral stands.
Index("uq_referrals_open_referee", referrals.c.shop_id, referrals.c.referee_id, unique=True,
      sqlite_where=REFERRAL_OPEN, postgresql_where=REFERRAL_OPEN)
# The settle job's queue.
Index("ix_referrals_due", referrals.c.shop_id, referrals.c.due_at, sqlite_where=REFERRAL_QUALIFIED,
      postgresql_where=REFERRAL_QUALIFIED)

payer_traits = Table(
    "payer_traits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("order_id", String(255), nullable=False),
    Column("digest", String(64), nullable=False),
    UniqueConstraint("shop_id", "order_id", "digest"),
    Index(None, "shop_id", "member_id"),
)

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("shop_id", String(255)),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("at", Stamp, nullable=False),
    Column("details", JSON, nullable=False),
    Index(None, "shop_id", "id"),
)

MEMBER_ACCOUNTS = ("available", "pending")
PROGRAM_ACCOUNTS = ("issued", "redeemed", "expired", "clawed_back", "adjusted")


def open_engine(url: str, *, synchronous: str | None = None, **kwargs: Any) -> Engine:
    """An Engine configured for the ledger: SQLite in WAL with write transactions that take the
    write lock at BEGIN (``BEGIN IMMEDIATE``, for connections with the ``loyalty_write``
    execution option), so check-then-post never races.

    SQLite runs WAL with ``synchronous=NORMAL`` unless ``synchronous`` (or the
    ``LOYALTY_SQLITE_SYNCHRONOUS`` variable) says otherwise: a commit survives the process
    crashing and the database never corrupts, but the last commits before a power cut may be
    lost. ``FULL`` adds an fsync to every commit (several times slower with the ledger's
    indexes). PostgreSQL, the production engine, is always fully durable."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        synchronous = (synchronous or os.environ.get("LOYALTY_SQLITE_SYNCHRONOUS") or "NORMAL").upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise InvalidInput(f"SQLite synchronous must be NORMAL, FULL, EXTRA or OFF, got {synchronous!r}",
                               field="synchronous", value=synchronous)
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if memory:  # one shared connection, or every checkout would see an empty database
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Writers take the lock at BEGIN so check-then-post cannot interleave; readers don't.
            immediate = connection.get_execution_options().get("loyalty_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, **kwargs)


__all__ = [
    "MEMBER_ACCOUNTS",
    "PROGRAM_ACCOUNTS",
    "admin_audit",
    "admin_sessions",
    "api_keys",
    "entries",
    "inbox",
    "job_runs",
    "leases",
    "lot_draws",
    "lots",
    "member_messages",
    "members",
    "message_cursors",
    "metadata",
    "non_member_orders",
    "open_engine",
    "orders",
    "outbox",
    "payer_traits",
    "redemptions",
    "referral_codes",
    "referrals",
    "shops",
    "tier_changes",
    "transactions",
    "webhook_deliveries",
    "webhook_endpoints",
]
