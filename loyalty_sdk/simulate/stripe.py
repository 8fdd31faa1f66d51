"""Stripe's payments export (Dashboard, Payments, Export: a CSV) read into a History.

One row per payment, amounts in major units with their ``Currency``, ``Created date (UTC)``
without an offset. Each paid row is read as the Stripe plugin reads ``payment_intent.succeeded``
(or ``charge.succeeded`` for a charge without an intent): an order of one line keyed on the
``PaymentIntent ID`` (else the charge ``id``) with the plugin's payment fingerprint (intent,
amount in Stripe's minor units, currency), so a later webhook of the same payment is a replay.
``Amount Refunded`` is the charge's refunds to date: one refund of that cumulative amount
(the export dates no refund, so it is dated at the payment).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.errors import LoyaltyError
from loyalty_sdk.core.models import LineItem, MemberRef, Order, Refund
from loyalty_sdk.core.money import Money
from loyalty_sdk.simulate.sources import GuestOrder, History, Reporter, Skip, currency_of

PLATFORM = "stripe"
REQUIRED = ("id", "Created date (UTC)", "Amount", "Currency", "Status")
PAID = frozenset({"paid", "succeeded", "refunded", "partially refunded"})
# Stripe's exponents where they differ from two (its list, not ISO 4217's: ISK is two-decimal there).
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def stripe_minor(amount: Decimal, currency: str) -> int:
    """A major-unit amount as Stripe's integer ``amount`` (Stripe's exponent for the currency)."""
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise Skip(f"amount {amount} has more decimals than Stripe keeps for {currency}")
    return int(minor)


def payment_fingerprint(payment_id: str, minor: int, currency: str) -> str:
    """The fingerprint the Stripe plugin gives every report of one payment."""
    return payload_hash("stripe-payment", payment_id, minor, currency.upper())


class StripePaymentsReader(Reporter):
    required = REQUIRED

    def read(self) -> History:
        seen: dict[str, int] = {}
        for line, row in self.rows():
            try:
                self._row(line, row, seen)
            except (Skip, LoyaltyError) as error:
                self.bad(line, f"payment {(row.get('id') or '').strip() or '?'}: {error}")
        return self.history

    def _row(self, line: int, row: dict[str, str], seen: dict[str, int]) -> None:
        charge = (row.get("id") or "").strip()
        if not charge:
            raise Skip("id is empty")
        status = (row.get("Status") or "").strip().lower()
        captured = (row.get("Captured") or "true").strip().lower()
        if status not in PAID or captured == "false":
            self.history.unpaid += 1  # failed, canceled, incomplete or never captured: nothing was paid
            return
        order_id = (row.get("PaymentIntent ID") or "").strip() or charge
        if order_id in seen:
            raise Skip(f"payment {order_id} already appears on line {seen[order_id]}")
        seen[order_id] = line
        currency = currency_of(row.get("Currency"))
        at = _created(row.get("Created date (UTC)") or "")
        amount = _major(row.get("Amount"), "Amount")
        if amount <= 0:
            raise Skip(f"Amount {amount} is not a payment")
        money = Money(amount, currency)
        customer = (row.get("Customer ID") or "").strip() or None
        email = (row.get("Customer Email") or "").strip() or None
        if customer is None and email is None:
            self.history.guests.append(GuestOrder(at, currency, money.minor))
            return
        order = Order(order_id, MemberRef(customer_id=customer, email=email), at, currency,
                      [LineItem(f"{order_id}:payment", 1, money, title="payment")], source=PLATFORM,
                      fingerprint=payment_fingerprint(order_id, stripe_minor(amount, currency), currency))
        refunded = _major(row.get("Amount Refunded"), "Amount Refunded", default="0")
        if refunded > amount:
            raise Skip(f"Amount Refunded {refunded} is more than the Amount {amount}")
        self.history.orders.append(order)
        if refunded > 0:
            # Keyed apart from the webhook's refund ids: a to-date refund takes back only what
            # the refunds already taken did not, so a later charge.refunded of this total takes nothing.
            self.history.refunds.append(Refund(f"import:{charge}@{stripe_minor(refunded, currency)}", order_id, at,
                                               amount=Money(refunded, currency), to_date=True))


def _major(text: str | None, name: str, default: str | None = None) -> Decimal:
    # The Dashboard writes "1,234.56" for large amounts; the comma only groups thousands.
    value = (text or "").strip().replace(",", "") or default
    if value is None:
        raise Skip(f"{name} is empty")
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise Skip(f"{name} {text!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise Skip(f"{name} {text!r} is not an amount")
    return amount


def _created(text: str) -> datetime:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Skip(f"Created date (UTC) {text!r} is not a date and time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


__all__ = ["StripePaymentsReader", "payment_fingerprint", "stripe_minor"]
