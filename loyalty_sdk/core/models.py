"""Core value objects: frozen, slotted attrs classes that rules receive and return.

Platform payloads are validated at the edge (pydantic, inside each platform plugin) and turned
into these; the hot path builds no pydantic objects. Construction checks what would corrupt the
books (float money, negative quantities, mixed currencies, naive datetimes) and raises a typed
error that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from attrs import field, frozen
from attrs.validators import optional

from loyalty_sdk.core.errors import CurrencyError, InvalidInput
from loyalty_sdk.core.money import Money


def _aware(name: str):
    def check(_inst: object, _attr: object, value: datetime) -> None:
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"{name} must be a timezone-aware datetime, got {value!r}", field=name, value=value)

    return check


def _points(name: str, *, signed: bool = False):
    def check(_inst: object, _attr: object, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{name} must be an integer number of points, got {value!r}", field=name, value=value)
        if not signed and value < 0:
            raise InvalidInput(f"{name} must not be negative, got {value}", field=name, value=value)

    return check


def _text(name: str):
    def check(_inst: object, _attr: object, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{name} must be a non-empty string, got {value!r}", field=name, value=value)

    return check


@frozen
class MemberRef:
    """How a store names a customer: its platform customer id, its email, or both."""

    customer_id: str | None = None
    email: str | None = field(default=None, converter=lambda e: e.strip().lower() if isinstance(e, str) else e)

    def __attrs_post_init__(self) -> None:
        if not self.customer_id and not self.email:
            raise InvalidInput("a member reference needs a customer_id or an email", field="member", value=None)

    @classmethod
    def parse(cls, ref: str | MemberRef) -> MemberRef:
        """``"ada@example.com"`` is an email, anything else a customer id."""
        if isinstance(ref, MemberRef):
            return ref
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInput(f"member reference must be a non-empty string, got {ref!r}", field="member", value=ref)
        return cls(email=ref) if "@" in ref else cls(customer_id=ref.strip())

    def __str__(self) -> str:
        return self.customer_id or self.email or ""


@frozen
class Member:
    """A member as rules see it: identity, tier and balances at the time of the event."""

    id: int
    shop_id: str
    customer_id: str | None
    email: str | None
    tier: str | None
    enrolled_at: datetime
    available: int = 0
    pending: int = 0
    lifetime_points: int = 0
    birthday: date | None = None
    name: str | None = None
    last_activity_at: datetime | None = None
    tier_since: datetime | None = None


@frozen
class LineItem:
    """One order line. ``discount`` is the line's own discount (total, not per unit).

    ``tax`` is the tax contained in the price when the order's prices include tax; it is ignored
    otherwise. Gift cards never earn (buying one is not spending).
    """

    line_id: str = field(validator=_text("line_id"))
    quantity: int = field(validator=_points("quantity"))
    unit_price: Money
    discount: Money | None = None
    tax: Money | None = None
    product_id: str | None = None
    sku: str | None = None
    title: str | None = None
    collections: frozenset[str] = field(default=frozenset(), converter=frozenset)
    gift_card: bool = False

    @property
    def gross(self) -> Decimal:
        return self.unit_price.amount * self.quantity


@frozen
class Order:
    """A paid order as the engine sees it. All money must be in ``currency``."""

    order_id: str = field(validator=_text("order_id"))
    member: MemberRef
    placed_at: datetime = field(validator=_aware("placed_at"))
    currency: str
    lines: tuple[LineItem, ...] = field(converter=tuple)
    order_discount: Money | None = None
    shipping: Money | None = None
    taxes_included: bool = False
    source: str = "custom"
    fingerprint: str | None = field(default=None, validator=optional(_text("fingerprint")))
    """What makes two reports of this order the same order, when a platform reports one payment
    in several shapes (Stripe: a payment intent, the checkout session or the invoice it paid).
    A second report with the same fingerprint is a replay, whatever its lines; unset, the
    order's own content decides (a different content under the same id is a conflict)."""
    # Out of the repr, which fingerprints an order: they identify the payer, they decide no points.
    payer_fingerprint: str | None = field(default=None, repr=False)
    """The platform's fingerprint of the card or account that paid (Stripe's card fingerprint),
    where it gives one: referrals refuse a friend who pays with the referrer's card."""
    address: str | None = field(default=None, repr=False)
    """The shipping (else billing) address as one line, where the platform gives one: referrals
    refuse a friend whose order goes to the referrer's address."""
    _nets: dict[str, int] | None = field(default=None, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.lines:
            raise InvalidInput(f"order {self.order_id} has no lines", field="lines", value=())
        seen: set[str] = set()
        for line in self.lines:
            if not isinstance(line, LineItem):
                raise InvalidInput(f"order lines must be LineItem, got {type(line).__name__}", field="lines", value=line)
            if line.line_id in seen:
                raise InvalidInput(f"line_id {line.line_id!r} appears twice", field="line_id", value=line.line_id)
            seen.add(line.line_id)
            for name in ("unit_price", "discount", "tax"):
                self._check_currency(f"lines[{line.line_id}].{name}", getattr(line, name))
        self._check_currency("order_discount", self.order_discount)
        self._check_currency("shipping", self.shipping)

    def _check_currency(self, name: str, money: Money | None) -> None:
        if money is None:
            return
        if not isinstance(money, Money):
            raise InvalidInput(f"{name} must be Money, got {type(money).__name__} {money!r}", field=name, value=money)
        if money.currency != self.currency:
            raise CurrencyError(
                f"{name} is in {money.currency} but order {self.order_id} is in {self.currency}",
                field=name,
                value=money.currency,
            )

    @property
    def line_nets(self) -> dict[str, int]:
        """Each line's merchandise value in minor units, after discounts and included tax
        (computed once per order; see :func:`loyalty_sdk.core.allocation.line_nets`)."""
        nets = self._nets
        if nets is None:
            # A plain slot, not functools.cached_property: on a slotted attrs class that one
            # finds its value through a failed attribute lookup, which costs more than the sum.
            from loyalty_sdk.core.allocation import line_nets

            nets = line_nets(self)
            object.__setattr__(self, "_nets", nets)
        return nets

    def line(self, line_id: str) -> LineItem:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise InvalidInput(f"order {self.order_id} has no line {line_id!r}", field="line_id", value=line_id)


@frozen
class RefundLine:
    """Part of a refund: ``quantity`` units of a line, or an explicit net ``amount`` of it."""

    line_id: str = field(validator=_text("line_id"))
    quantity: int = field(default=0, validator=_points("quantity"))
    amount: Money | None = None


@frozen
class Refund:
    """Money given back on an order: by line (preferred) or as a merchandise amount.

    ``to_date``: ``amount`` is everything refunded on the order so far (Stripe's cumulative
    ``amount_refunded``), not this refund alone: only the increase over what earlier refunds
    covered takes points back, and a stale report, delivered late, takes nothing."""

    refund_id: str = field(validator=_text("refund_id"))
    order_id: str = field(validator=_text("order_id"))
    refunded_at: datetime = field(validator=_aware("refunded_at"))
    lines: tuple[RefundLine, ...] = field(default=(), converter=tuple)
    amount: Money | None = None
    # Out of the repr, which fingerprints a refund for its idempotency key: refunds recorded
    # before this field existed must still match their replays.
    to_date: bool = field(default=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.lines and self.amount is None:
            raise InvalidInput(f"refund {self.refund_id} names no lines and no amount", field="lines", value=())
        if self.amount is not None and self.amount.amount < 0:
            raise InvalidInput(f"refund amount must not be negative, got {self.amount}", field="amount", value=self.amount)
        if self.to_date and (self.lines or self.amount is None):
            raise InvalidInput(f"refund {self.refund_id}: an amount refunded to date names no lines",
                               field="to_date", value=True)


@frozen
class Cancellation:
    order_id: str = field(validator=_text("order_id"))
    cancelled_at: datetime = field(validator=_aware("cancelled_at"))
    reason: str = "cancelled"


@frozen
class Activity:
    """A non-order action that may earn: signup, birthday, review, social_follow, referral, custom."""

    kind: str = field(validator=_text("kind"))
    member: MemberRef
    occurred_at: datetime = field(validator=_aware("occurred_at"))
    activity_id: str | None = None
    payload: Mapping[str, Any] = field(factory=dict)


@frozen
class ReferralCheck:
    """What a referral check sees: the referral at one of its stages, with who is involved.

    ``stage`` is ``"referral"`` (the friend signs up with a code: no order yet) or ``"order"``
    (the friend's first qualifying order arrived: ``order_id`` and ``order_value``, its
    merchandise after discounts, before tax and shipping). ``referrer_traits`` and
    ``referee_traits`` are digests of the payment methods and addresses seen on each one's
    orders (never the values themselves); a digest in both means the same card or address.
    ``rewarded`` counts the referrer's referrals rewarded, or qualified and on their way to it,
    within the program's cap period; ``referee_orders`` the friend's orders before the
    referral."""

    stage: str
    code: str
    referrer: Member
    referee: Member
    referred_at: datetime
    referee_orders: int = 0
    order_id: str | None = None
    order_value: Money | None = None
    referrer_traits: frozenset[str] = frozenset()
    referee_traits: frozenset[str] = frozenset()
    rewarded: int = 0


@frozen
class ActivityHistory:
    """How often the member already earned for this kind of activity (shop's local calendar)."""

    today: int = 0
    this_year: int = 0
    lifetime: int = 0


@frozen
class Award:
    """Points a rule grants. ``line_id`` ties spend awards to an order line for clawback.

    Built on every order by every rule, so it checks nothing itself: the plugin host checks
    each award a plugin returns."""

    points: int
    reason: str
    rule_id: str
    line_id: str | None = None


@frozen
class Reward:
    """An entry of the rewards catalog.

    ``kind`` is one of ``fixed_amount``, ``percent_off``, ``free_shipping``, ``free_product`` or
    ``points_as_money``. For ``points_as_money`` the member chooses ``points`` between
    ``min_points`` and ``max_points`` in steps of ``step``; the others cost ``points``.
    """

    id: str
    name: str
    kind: str
    points: int
    value: Decimal | None = None
    currency: str | None = None
    min_points: int | None = None
    max_points: int | None = None
    step: int = 1
    tiers: frozenset[str] = frozenset()
    limit_per_member: int | None = None
    product_id: str | None = None
    min_order: Decimal | None = None


@frozen
class RewardUsage:
    """How often a member has redeemed a reward so far."""

    redeemed: int = 0


@frozen
class Redemption:
    """A member's choice of a reward, priced in points, before or after it was issued."""

    id: int | None
    member_id: int
    reward: Reward
    points: int
    value: Money | None
    code: str | None = None
    status: str = "pending"


@frozen
class QualifyingEvent:
    """One ledger fact that counts toward tiers: released points, spend and orders."""

    at: datetime
    points: int = 0
    spend: Decimal = Decimal(0)
    orders: int = 0


@frozen
class TierStats:
    """The qualifying events of a member up to ``as_of`` that any tier window could need."""

    as_of: datetime
    events: tuple[QualifyingEvent, ...] = ()
    clawback: bool = False


@frozen
class TierDecision:
    """Which tier a member holds, why, and the figures the decision used."""

    tier: str | None
    reason: str
    inputs: Mapping[str, Any] = field(factory=dict)


def points_value(value: object, *, field: str = "points") -> int:
    """An integer number of points from user input; anything else (a float, a bool, a string)
    raises InvalidInput naming the field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer, got {value!r}", field=field, value=value)
    return value


__all__ = [
    "Activity",
    "ActivityHistory",
    "Award",
    "Cancellation",
    "LineItem",
    "Member",
    "MemberRef",
    "Money",
    "Order",
    "QualifyingEvent",
    "Redemption",
    "ReferralCheck",
    "Refund",
    "RefundLine",
    "Reward",
    "RewardUsage",
    "TierDecision",
    "TierStats",
]
