"""The platform adapter interface: how a store platform's webhooks enter the books.

A platform distribution (``loyalty-shopify``, ``loyalty-stripe``, ``loyalty-woocommerce``) or
a store's own code returns adapters from the ``loyalty_platforms`` hook. The server mounts each
adapter's webhook paths, and for every request:

1. ``verify(request, shops)`` checks the platform's signature on the raw body and names the
   shop, the topic and the delivery's dedup key; a forgery raises :class:`SignatureRejected`
   (401, nothing stored). ``None`` acknowledges a ping that carries nothing to process.
2. The delivery is stored in the inbox (unique on platform, shop and dedup key) and the
   platform gets its 200.
3. Later, a worker calls ``parse(delivery)`` and applies the core events it returns. Each
   effect is idempotent on the platform's own object ids (order, refund), so a delivery
   processed twice, or two deliveries of one event, change the books once.

Adapters are plain objects: no framework types cross this interface, so an adapter is tested
with values, not with a running server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from loyalty_sdk.core.models import Activity, Cancellation, MemberRef, Order, Refund


class SignatureRejected(Exception):
    """The request is not a genuine delivery of the platform: answered 401, nothing stored."""


@frozen
class WebhookRequest:
    """One HTTP request as an adapter sees it: header names are lower case."""

    method: str
    path: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@frozen
class Accepted:
    """A verified delivery: whose it is, what it is about, and its identity for dedup."""

    shop_id: str
    topic: str
    dedup_key: str


@frozen
class Delivery:
    """A delivery as the inbox stored it."""

    id: int
    platform: str
    shop_id: str
    topic: str
    dedup_key: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    attempts: int = 0


@frozen
class Customer:
    """A customer the platform created or updated: enrolled if not yet a member."""

    ref: MemberRef
    at: datetime
    name: str | None = None
    birthday: Any = None
    marketing_consent: str | None = None
    """What the platform says about marketing e-mail, as it says it."""


@frozen
class Redaction:
    """Erase a customer's personal data (the ledger stays, anonymous), and scrub it from the
    deliveries already processed."""

    ref: MemberRef
    reason: str = "the customer asked to be forgotten"


@frozen
class DataRequest:
    """A customer asked what is held about them: the export becomes the delivery's outcome."""

    ref: MemberRef
    request_id: str | None = None


@frozen
class ShopUninstalled:
    """The merchant removed the app: stop processing the shop; its data stays until erased."""

    at: datetime


@frozen
class ShopErased:
    """The platform says the shop is gone for good: every row of it is deleted."""


@frozen
class CodesUsed:
    """Reward codes the platform saw applied to an order: recorded as used."""

    order_id: str
    codes: tuple[str, ...]
    at: datetime


@frozen
class OrderDisputed:
    """The buyer disputed the order's payment: under the program's ``hold_disputed`` its pending
    points stay pending until :class:`DisputeClosed`."""

    order_id: str
    at: datetime
    reason: str


@frozen
class DisputeClosed:
    """The dispute ended: the hold ends. (A dispute lost comes with a Cancellation too.)"""

    order_id: str
    won: bool


PlatformEvent = Redaction | DataRequest | ShopUninstalled | ShopErased | CodesUsed | OrderDisputed | DisputeClosed
CoreEvent = Order | Refund | Cancellation | Activity | Customer | PlatformEvent


@frozen
class ShopRecord:
    """A registered shop (``loyalty shops add``), as adapters look it up."""

    id: str
    platform: str
    currency: str
    timezone: str
    settings: Mapping[str, Any] = field(factory=dict)


class ShopDirectory(Protocol):
    def __call__(self, shop_id: str) -> ShopRecord | None: ...


@runtime_checkable
class PlatformAdapter(Protocol):
    """What a platform contributes through ``loyalty_platforms``."""

    name: str
    """The platform's name, as in ``loyalty shops add NAME ...``: ``shopify``, ``custom``."""
    webhook_paths: Sequence[str]
    """Paths the server routes to this adapter (``POST``), with ``{shop}`` where the path names it."""

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted | None:
        """Check the signature on the raw body and identify the delivery; raise
        :class:`SignatureRejected` for anything not genuine; ``None`` for a ping."""
        ...

    def parse(self, delivery: Delivery, shop: ShopRecord) -> Sequence[CoreEvent]:
        """The core events a stored delivery stands for (none for a topic that earns nothing).
        Raise ``InvalidInput`` for a payload that can never be applied."""
        ...

    # Optional: ``router`` (a FastAPI APIRouter with the platform's other routes),
    # ``void_codes(shop: ShopRecord, codes) -> int`` (switch off reward codes a redaction voided),
    # ``commands`` (a Typer app, mounted as ``loyalty <name> ...``),
    # ``run_jobs(runtime, shop: ShopRecord, now)`` (the scheduler calls it for each shop of the
    # platform, after the shop's own jobs and under the same lease: a catch-up sync, say; an
    # exception is logged and the call comes again at the next run),
    # and ``admin_session(authorization) -> (shop_id, user) | None`` (who an embedded
    # admin's ``Authorization`` header speaks for, for the admin pages; raise SignatureRejected
    # for a token of the platform that is not genuine, None when the platform is not set up).


def address_line(street: str | None, *rest: str | None) -> str | None:
    """An address as the one line ``Order.address`` holds (``"1 Main St, Springfield, 12345,
    US"``), or None without a street: a city or a postcode alone is shared by too many people
    to tell a household."""
    if not street or not street.strip():
        return None
    return ", ".join(part.strip() for part in (street, *rest) if part and part.strip())


__all__ = [
    "Accepted",
    "address_line",
    "CodesUsed",
    "CoreEvent",
    "Customer",
    "DataRequest",
    "Delivery",
    "DisputeClosed",
    "OrderDisputed",
    "PlatformEvent",
    "Redaction",
    "ShopErased",
    "ShopUninstalled",
    "PlatformAdapter",
    "ShopDirectory",
    "ShopRecord",
    "SignatureRejected",
    "WebhookRequest",
]
