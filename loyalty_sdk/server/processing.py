"""Core events into the books: what a worker does with each parsed delivery.

Every effect is idempotent on the platform's own ids (the ledger's keys: an order's earn, a
refund's clawback, an activity's id), so applying a delivery again, after a crash or from a
duplicate the dedup key did not catch, changes nothing.

Customers are enrolled on first sight: an order or an activity from a customer the shop has
not seen yet makes them a member first, as hosted loyalty apps do for store accounts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from loyalty_sdk.core import members, redemptions, tenancy
from loyalty_sdk.core.errors import MemberExists, MemberNotFound
from loyalty_sdk.core.ledger import Raw
from loyalty_sdk.core.models import Activity, Cancellation, MemberRef, Order, Refund
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.server import inbox
from loyalty_sdk.server.platforms import (
    CodesUsed,
    CoreEvent,
    Customer,
    DataRequest,
    DisputeClosed,
    OrderDisputed,
    Redaction,
    ShopErased,
    ShopUninstalled,
)

log = logging.getLogger("loyalty_sdk.worker")


def ensure_member(loyalty: Loyalty, ref: MemberRef, *, name: str | None = None, birthday: Any = None) -> bool:
    """Enroll ``ref`` unless already a member; True when this call enrolled them."""
    try:
        loyalty.member(ref)
        return False
    except MemberNotFound:
        pass
    try:
        loyalty.enroll(ref.customer_id, email=ref.email, name=name, birthday=birthday)
        return True
    except MemberExists:  # another worker enrolled them meanwhile
        return False


VoidCodes = Callable[[list[str]], int]
"""The platform's way to switch off reward codes a redaction voided; how many it did."""


def apply(loyalty: Loyalty, events: Sequence[CoreEvent], delivery_id: int | None = None,
          void_codes: VoidCodes | None = None) -> list[dict[str, Any]]:
    """Apply events in order; returns what each did, for the inbox's record. ``delivery_id``:
    the delivery they came in (a redaction scrubs that one too)."""
    return [_apply_one(loyalty, event, delivery_id, void_codes) for event in events]


def _apply_one(loyalty: Loyalty, event: CoreEvent, delivery_id: int | None,
               void_codes: VoidCodes | None) -> dict[str, Any]:
    if isinstance(event, Order):
        enrolled = False
        try:  # most orders come from members: look them up once, in record_order
            result = loyalty.record_order(event)
        except MemberNotFound:
            enrolled = ensure_member(loyalty, event.member)
            result = loyalty.record_order(event)
        return {"event": "order", "order_id": event.order_id, "member_id": result.member_id,
                "points": result.points, "pending": result.pending, "replayed": result.replayed,
                "enrolled": enrolled}
    if isinstance(event, Refund):
        taken = loyalty.record_refund(event)
        return {"event": "refund", "refund_id": event.refund_id, "order_id": event.order_id,
                "taken_back": taken.points, "written_off": taken.written_off, "replayed": taken.replayed}
    if isinstance(event, Cancellation):
        taken = loyalty.record_cancellation(event)
        return {"event": "cancellation", "order_id": event.order_id, "taken_back": taken.points,
                "written_off": taken.written_off, "replayed": taken.replayed}
    if isinstance(event, Activity):
        enrolled = ensure_member(loyalty, event.member)
        posted = loyalty.record_activity(event)
        return {"event": "activity", "kind": event.kind, "points": posted.points if posted else 0,
                "replayed": bool(posted and posted.replayed), "enrolled": enrolled}
    if isinstance(event, Customer):
        enrolled = ensure_member(loyalty, event.ref, name=event.name, birthday=event.birthday)
        with loyalty.books.write() as conn:  # the store's newer details win (consent even for a new member)
            member = members.lookup(Raw.of(conn), loyalty.shop_id, [event.ref])[event.ref]
            updated = members.update_profile(
                conn, loyalty.shop_id, member.id, customer_id=event.ref.customer_id, email=event.ref.email,
                name=event.name, birthday=event.birthday, marketing_consent=event.marketing_consent) and not enrolled
        return {"event": "customer", "customer": str(event.ref), "enrolled": enrolled, "updated": updated}
    return _apply_platform_event(loyalty, event, delivery_id, void_codes)


def _apply_platform_event(loyalty: Loyalty, event: CoreEvent, delivery_id: int | None,
                          void_codes: VoidCodes | None) -> dict[str, Any]:
    shop_id = loyalty.shop_id
    if isinstance(event, Redaction):
        try:
            member = loyalty.member(event.ref)
        except MemberNotFound:
            member = None
        voided: list[str] = []
        if member is not None:
            loyalty.redact(member.id, event.reason)
            with loyalty.books.write() as conn:
                voided = redemptions.void_unused(conn, shop_id, member.id, loyalty.books.now())
        deactivated = _deactivate(void_codes, shop_id, voided)
        needles = [value for value in (event.ref.customer_id, event.ref.email) if value]
        if member is not None:
            needles += [value for value in (member.customer_id, member.email) if value]
        scrubbed = inbox.scrub(loyalty.db, shop_id, sorted(set(needles)), also=delivery_id)
        return {"event": "redaction", "member_id": member.id if member else None, "deliveries_scrubbed": scrubbed,
                "codes_voided": len(voided), "codes_deactivated": deactivated}
    if isinstance(event, DataRequest):
        try:
            export = loyalty.export(event.ref)
        except MemberNotFound:
            export = None  # nothing held: the answer says so
        return {"event": "data_request", "request_id": event.request_id, "export": export}
    if isinstance(event, ShopUninstalled):
        with loyalty.books.write() as conn:
            tenancy.mark_uninstalled(conn, shop_id, event.at)
        return {"event": "uninstalled", "at": event.at.isoformat()}
    if isinstance(event, OrderDisputed):
        held = loyalty.program.earn.hold_disputed and loyalty.hold_order(event.order_id, event.reason, event.at)
        return {"event": "disputed", "order_id": event.order_id, "held": held}
    if isinstance(event, DisputeClosed):
        released = loyalty.release_hold(event.order_id)
        return {"event": "dispute_closed", "order_id": event.order_id, "won": event.won, "hold_released": released}
    if isinstance(event, CodesUsed):
        with loyalty.books.write() as conn:
            used = redemptions.mark_used(conn, shop_id, event.codes, event.order_id, event.at)
        return {"event": "codes_used", "order_id": event.order_id, "codes": used}
    if isinstance(event, ShopErased):
        with loyalty.books.write() as conn:
            deleted = tenancy.forget_shop(conn, shop_id)
        return {"event": "shop_erased", "deleted": deleted}
    raise TypeError(f"not a core event: {event!r}")


def _deactivate(void_codes: VoidCodes | None, shop_id: str, codes: list[str]) -> int:
    """Ask the platform to switch voided codes off; a platform that cannot, or is down, leaves
    them voided here (the redaction itself must not fail for it)."""
    if not codes or void_codes is None:
        return 0
    try:
        return int(void_codes(codes))
    except Exception as error:  # noqa: BLE001 - logged; the erasure goes on
        log.warning("could not deactivate %d voided codes in %s: %s", len(codes), shop_id, error)
        return 0


__all__ = ["apply", "ensure_member"]
