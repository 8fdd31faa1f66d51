"""The shopper's cart, kept in the session: an id, quantities by SKU, and at most one reward.

Views build a changed cart and save it only once everything it needs has succeeded, so a
refused request leaves the session's cart as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

from flask import session

from flask_store.catalog import Product, product
from loyalty_sdk import LineItem, Money
from loyalty_sdk.core.errors import InvalidInput

SESSION_KEY = "cart"


def parse_quantity(raw: object) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        raise InvalidInput(f"quantity must be a whole number, got {raw!r}", field="quantity", value=raw) from None


@dataclass(frozen=True)
class Cart:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    lines: dict[str, int] = field(default_factory=dict)
    reward: dict[str, str] | None = None
    """The reward redeemed for this cart: ``id``, ``name``, ``code`` and ``amount`` off."""

    @classmethod
    def current(cls) -> Cart:
        data = session.get(SESSION_KEY)
        return cls(**data) if data else cls()

    def save(self) -> None:
        session[SESSION_KEY] = asdict(self)

    def adding(self, sku: str, raw_quantity: object, currency: str) -> Cart:
        """This cart with ``quantity`` more of ``sku``; the SDK's own checks refuse a negative quantity."""
        quantity = parse_quantity(raw_quantity)
        LineItem(line_id=sku, quantity=quantity, unit_price=Money(product(sku).price, currency))
        if quantity == 0:
            raise InvalidInput("quantity must be at least 1, got 0", field="quantity", value=0)
        return replace(self, lines={**self.lines, sku: self.lines.get(sku, 0) + quantity})

    def check_token(self, token: str) -> None:
        """Refuse a form rendered for another cart (one already checked out, or another tab's)."""
        if token != self.id:
            raise InvalidInput("this form belongs to a cart that was checked out or replaced; reload your cart",
                               field="cart", value=token)
        if not self.lines:
            raise InvalidInput("your cart is empty", field="cart", value=token)

    @property
    def items(self) -> list[tuple[Product, int, Decimal]]:
        """``(product, quantity, amount)`` per line."""
        return [(product(sku), quantity, product(sku).price * quantity) for sku, quantity in self.lines.items()]

    @property
    def subtotal(self) -> Decimal:
        return sum((amount for _, _, amount in self.items), Decimal(0))

    @property
    def discount(self) -> Decimal:
        # Capped: a reward worth more than what is left in the cart cannot make a total negative.
        return min(Decimal(self.reward["amount"]), self.subtotal) if self.reward else Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount
