"""Builders for the member-message tests: members with an address and a marketing consent,
orders that earn at once (1 point per dollar), and the mail a local SMTP server received."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from loyalty_sdk.core import members
from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.facade import Loyalty

SHOP = "north.example"

PROGRAM: dict[str, Any] = {
    "program": {"name": "Northwind Rewards", "currency": "USD", "timezone": "UTC"},
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0},
    "tiers": {"metric": "points", "window": "calendar_year",
              "levels": [{"id": "bronze", "threshold": 0}, {"id": "silver", "name": "Silver", "threshold": 500,
                                                             "perks": ["free shipping"]}]},
    "expiry": {"mode": "lot", "days": 180, "reminder_days": [30]},
    "activities": [{"kind": "birthday", "points": 200, "per_year": 1}],
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"}],
}


def join(loyalty: Loyalty, customer: str, *, consent: str | None = "subscribed", name: str | None = None) -> None:
    """Enroll ``customer`` as ``<customer>@example.com`` with this marketing consent."""
    member = loyalty.enroll(customer, email=f"{customer}@example.com", name=name or customer.title())
    with loyalty.books.write() as conn:
        members.update_profile(conn, loyalty.shop_id, member.id, marketing_consent=consent)


def buy(loyalty: Loyalty, customer: str, dollars: int, order_id: str, days_ago: int = 0) -> None:
    from datetime import timedelta

    at = loyalty.books.now() - timedelta(days=days_ago)
    loyalty.record_order(Order(order_id=order_id, member=MemberRef(customer_id=customer), placed_at=at,
                               currency="USD", lines=(LineItem(line_id="l1", quantity=1,
                                                               unit_price=Money(f"{dollars}.00", "USD"),
                                                               product_id="p1"),)))


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def bodies(mail: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative mail."""
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    return (text.get_content() if text else ""), (html.get_content() if html else "")
