"""The store's own records (accounts, orders, refunds), kept in memory to stay small: a real
store keeps them in its database. The ledger, in LOYALTY_DATABASE_URL, is the durable part."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from werkzeug.security import check_password_hash, generate_password_hash

from flask_store.loyalty import member_ref
from loyalty_sdk import LineItem, Money
from loyalty_sdk import Order as LoyaltyOrder


@dataclass
class Account:
    id: str
    email: str
    name: str
    password_hash: str

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


@dataclass
class OrderLine:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    refunded: int = 0

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class StoreOrder:
    number: str
    account_id: str
    placed_at: datetime
    currency: str
    lines: list[OrderLine]
    discount: Decimal = Decimal(0)
    reward_code: str = ""
    refunds: list[str] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    def line(self, sku: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    def loyalty_order(self) -> LoyaltyOrder:
        """The order as the ledger records it: its lines, and the reward's discount, which earns nothing."""
        return LoyaltyOrder(
            order_id=self.number,
            member=member_ref(self.account_id),
            placed_at=self.placed_at,
            currency=self.currency,
            lines=[LineItem(line_id=line.sku, quantity=line.quantity, unit_price=Money(line.unit_price, self.currency),
                            product_id=line.sku, sku=line.sku, title=line.title) for line in self.lines],
            order_discount=Money(self.discount, self.currency) if self.discount else None,
            source="flask-store",
        )


class Store:
    def __init__(self) -> None:
        # One lock for every change: it also makes "is this order placed yet?" and placing it one step.
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.emails: dict[str, str] = {}
        self.orders: dict[str, StoreOrder] = {}

    @staticmethod
    def new_account(email: str, name: str, password: str) -> Account:
        return Account(f"acct-{uuid.uuid4().hex[:16]}", email, name, generate_password_hash(password))

    def add_account(self, account: Account) -> None:
        self.accounts[account.id] = account
        self.emails[account.email] = account.id

    def account_by_email(self, email: str) -> Account | None:
        return self.accounts.get(self.emails.get(email, ""))

    def orders_of(self, account_id: str) -> list[StoreOrder]:
        return sorted((o for o in self.orders.values() if o.account_id == account_id), key=lambda o: o.placed_at,
                      reverse=True)
