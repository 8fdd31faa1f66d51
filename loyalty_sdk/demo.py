"""A deterministic synthetic store: a year of customers, orders, refunds and redemptions.

    loyalty = open_demo("sqlite:///demo.db")
    books = run_demo(loyalty, customers=1000, orders=10000, seed=42)

Everything is drawn from ``random.Random(seed)`` and replayed in time order on a simulated
clock through the :class:`~loyalty_sdk.facade.Loyalty` facade, one scheduled-jobs run per
simulated day, so the same seed on an empty shop always gives the same books.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from attrs import frozen

from loyalty_sdk.core.errors import InsufficientPoints, InvalidInput, RedemptionRefused
from loyalty_sdk.core.models import Activity, Cancellation, LineItem, MemberRef, Order, Refund, RefundLine, Reward
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Program
from loyalty_sdk.facade import Loyalty

DEMO_START = datetime(2025, 12, 1, tzinfo=UTC)
DEMO_DAYS = 365
DEMO_SHOP = "demo"

Progress = Callable[[int, int], None]
"""Called as ``progress(orders_done, orders_total)`` while orders are replayed."""


class DemoClock:
    """The simulated clock the demo moves forward; the ledger records its times."""

    def __init__(self, now: datetime = DEMO_START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- the store -------------------------------------------------------------------------------


@frozen
class Product:
    product_id: str
    title: str
    price: str
    collections: frozenset[str] = frozenset()
    weight: int = 1


PRODUCTS: tuple[Product, ...] = (
    Product("house-blend", "House blend 500g", "14.50", frozenset({"coffee"}), 10),
    Product("espresso-beans", "Espresso beans 1kg", "24.00", frozenset({"coffee"}), 8),
    Product("decaf", "Decaf 250g", "9.75", frozenset({"coffee"}), 3),
    Product("cold-brew", "Cold brew pack", "18.00", frozenset({"coffee"}), 4),
    Product("filters", "Paper filters x100", "6.25", frozenset(), 6),
    Product("mug", "Stoneware mug", "12.00", frozenset({"merch"}), 4),
    Product("tote", "Canvas tote", "15.00", frozenset({"merch"}), 2),
    Product("dripper", "Pour-over dripper", "27.50", frozenset({"equipment"}), 3),
    Product("kettle", "Gooseneck kettle", "59.90", frozenset({"equipment"}), 2),
    Product("grinder", "Burr grinder", "89.00", frozenset({"equipment"}), 1),
)
GIFT_CARD_PRICES = ("25.00", "50.00", "100.00")
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald", "Frances", "Dennis")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Knuth", "Allen")

# Shares of the synthetic traffic, tuned so a default run exercises every ledger path.
LINE_COUNTS, LINE_COUNT_WEIGHTS = (1, 2, 3, 4, 5), (40, 30, 15, 10, 5)
QUANTITIES, QUANTITY_WEIGHTS = (1, 2, 3, 4), (60, 25, 10, 5)
P_BIRTHDAY, P_REVIEWER = 0.7, 0.3
P_GIFT_CARD, P_LINE_DISCOUNT, P_ORDER_DISCOUNT = 0.03, 0.08, 0.12
P_REFUND, P_CANCEL = 0.06, 0.02
P_REDEEM, P_GOODWILL = 0.35, 0.005
PARETO_ALPHA, MAX_WEIGHT = 1.16, 60.0  # ~80/20 repeat buying, capped so no one customer is most orders
FREE_SHIPPING_FROM = Decimal("40")
CENT = Decimal("0.01")


@frozen
class Customer:
    customer_id: str
    email: str
    name: str
    enrolled_at: datetime
    birthday: date | None
    weight: float

    @property
    def ref(self) -> MemberRef:
        return MemberRef(customer_id=self.customer_id)


class Event(NamedTuple):
    """One thing that happens in the store. Sorted by (at, rank, seq): time order, with jobs
    first and an order's enrolment before its purchases at the same instant."""

    at: datetime
    rank: int
    seq: int
    kind: str
    data: Any


RANKS = {"jobs": 0, "enroll": 1, "activity": 2, "adjust": 3, "redeem": 4, "order": 5, "refund": 6, "cancel": 7}


def _seconds(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end), to the second."""
    span = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(span))


# -- planning: every event except the members' choices, decided up front -------------------------


class Planner:
    """Draws the year's events from one random stream, in a fixed order."""

    def __init__(self, rng: random.Random, zone: ZoneInfo, currency: str, end: datetime) -> None:
        self.rng = rng
        self.zone = zone
        self.currency = currency
        self.end = end
        self.events: list[Event] = []

    def add(self, at: datetime, kind: str, data: Any) -> None:
        if at < self.end:
            self.events.append(Event(at, RANKS[kind], len(self.events), kind, data))

    def customers(self, count: int) -> list[Customer]:
        rng, people = self.rng, []
        # Most members join early so a year of history piles up behind them.
        join_by = DEMO_START + timedelta(days=int(DEMO_DAYS * 0.8))
        for index in range(1, count + 1):
            enrolled = min(_seconds(rng, DEMO_START, join_by), _seconds(rng, DEMO_START, join_by))
            birthday = None
            if rng.random() < P_BIRTHDAY:
                birthday = date(rng.randint(1960, 2005), rng.randint(1, 12), rng.randint(1, 28))
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            weight = min(rng.paretovariate(PARETO_ALPHA), MAX_WEIGHT)
            customer_id, email = f"demo-{index:05d}", f"customer{index}@example.com"
            people.append(Customer(customer_id, email, name, enrolled, birthday, weight))
        return people

    def members(self, people: Sequence[Customer]) -> None:
        for person in people:
            self.add(person.enrolled_at, "enroll", person)
            self.add(person.enrolled_at, "activity", Activity(
                "signup", person.ref, person.enrolled_at, activity_id=f"signup:{person.customer_id}"))
            self._birthdays(person)
            if self.rng.random() < P_REVIEWER:
                for number in range(self.rng.randint(1, 4)):
                    at = _seconds(self.rng, person.enrolled_at, self.end)
                    self.add(at, "activity", Activity(
                        "review", person.ref, at, activity_id=f"review:{person.customer_id}:{number}",
                        payload={"rating": self.rng.randint(3, 5)}))

    def _birthdays(self, person: Customer) -> None:
        if person.birthday is None:
            return
        for year in (DEMO_START.year, DEMO_START.year + 1):
            # Birthdays are local dates: greet at 9:00 on the day, on the shop's clock.
            local = datetime.combine(person.birthday.replace(year=year), time(9), tzinfo=self.zone)
            at = local.astimezone(UTC)
            if person.enrolled_at <= at:
                self.add(at, "activity", Activity("birthday", person.ref, at))

    def orders(self, people: Sequence[Customer], count: int) -> None:
        rng = self.rng
        buyers = rng.choices(people, weights=[p.weight for p in people], k=count) if people else []
        for number, person in enumerate(buyers, start=1):
            placed = _seconds(rng, person.enrolled_at + timedelta(minutes=5), self.end)
            order = self.order(f"D{number:06d}", person, placed)
            if rng.random() < P_REDEEM:
                self.add(placed - timedelta(minutes=2), "redeem", (person, number))
            self.add(placed, "order", order)
            self._aftermath(order, person)

    def _aftermath(self, order: Order, person: Customer) -> None:
        rng, roll = self.rng, self.rng.random()
        if roll < P_CANCEL:
            at = order.placed_at + timedelta(hours=rng.randint(1, 72))
            self.add(at, "cancel", Cancellation(order.order_id, at, reason="cancelled by customer"))
        elif roll < P_CANCEL + P_REFUND:
            at = order.placed_at + timedelta(days=rng.randint(2, 45), seconds=rng.randrange(86_400))
            self.add(at, "refund", self.refund(order, at))
        if rng.random() < P_GOODWILL:
            at = order.placed_at + timedelta(days=rng.randint(1, 5))
            points = rng.choice((50, 100, 200))
            self.add(at, "adjust", (person, points, f"goodwill: order {order.order_id} arrived late"))

    def order(self, order_id: str, person: Customer, placed: datetime) -> Order:
        rng = self.rng
        count = rng.choices(LINE_COUNTS, weights=LINE_COUNT_WEIGHTS)[0]
        products = _distinct(rng, count)
        lines = [self._line(str(index), product) for index, product in enumerate(products, start=1)]
        if rng.random() < P_GIFT_CARD:
            lines.append(LineItem("gift", 1, Money(rng.choice(GIFT_CARD_PRICES), self.currency), product_id="gift-card",
                                  title="Gift card", collections=frozenset({"gift-cards"}), gift_card=True))
        subtotal = sum((line.gross - (line.discount.amount if line.discount else 0) for line in lines), Decimal(0))
        discount = None
        if rng.random() < P_ORDER_DISCOUNT and subtotal > 30:
            off = Decimal(rng.choice(("5.00", "10.00"))) if rng.random() < 0.5 else (subtotal / 10).quantize(CENT)
            discount = Money(off, self.currency)
        shipping = Money("4.99", self.currency) if subtotal < FREE_SHIPPING_FROM else None
        return Order(order_id, person.ref, placed, self.currency, lines, order_discount=discount, shipping=shipping,
                     source="demo")

    def _line(self, line_id: str, product: Product) -> LineItem:
        rng = self.rng
        quantity = rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS)[0]
        price = Money(product.price, self.currency)
        discount = None
        if rng.random() < P_LINE_DISCOUNT:
            percent = rng.choice((10, 15, 20))
            discount = Money((price.amount * quantity * percent / 100).quantize(CENT), self.currency)
        return LineItem(line_id, quantity, price, discount=discount, product_id=product.product_id,
                        sku=product.product_id.upper(), title=product.title, collections=product.collections)

    def refund(self, order: Order, at: datetime) -> Refund:
        """A return of some units of one merchandise line."""
        rng = self.rng
        line = rng.choice([line for line in order.lines if not line.gift_card])
        quantity = rng.randint(1, line.quantity)
        return Refund(f"R-{order.order_id}", order.order_id, at, lines=[RefundLine(line.line_id, quantity)])

    def jobs(self) -> None:
        """The nightly run at each midnight (UTC), the last one at the very end of the year."""
        for day in range(1, DEMO_DAYS + 1):
            at = DEMO_START + timedelta(days=day)
            self.events.append(Event(at, RANKS["jobs"], len(self.events), "jobs", None))


def _distinct(rng: random.Random, count: int) -> list[Product]:
    """``count`` different products, popular ones more often."""
    chosen: list[Product] = []
    pool = list(PRODUCTS)
    for _ in range(min(count, len(pool))):
        product = rng.choices(pool, weights=[p.weight for p in pool])[0]
        pool.remove(product)
        chosen.append(product)
    return chosen


def plan(customers: int, orders: int, seed: int, program: Program) -> tuple[list[Event], random.Random]:
    """The year's events in replay order, and the random stream the replay continues with."""
    rng = random.Random(seed)
    planner = Planner(rng, program.zone, program.program.currency, DEMO_START + timedelta(days=DEMO_DAYS))
    people = planner.customers(customers)
    planner.members(people)
    planner.orders(people, orders)
    planner.jobs()
    return sorted(planner.events), rng


# -- replay: through the facade, on the simulated clock ---------------------------------------------


class Replay:
    """Feeds events to a Loyalty in time order; members' choices are drawn as they happen."""

    def __init__(self, loyalty: Loyalty, clock: DemoClock, rng: random.Random, progress: Progress | None,
                 total_orders: int) -> None:
        self.loyalty = loyalty
        self.clock = clock
        self.rng = rng
        self.progress = progress
        self.total_orders = total_orders
        self.done_orders = 0
        self.counts: Counter[str] = Counter()

    def run(self, events: Sequence[Event]) -> None:
        for kind, batch in _batches(events):
            self.clock.now = batch[-1].at
            if kind == "order":
                self.orders(batch)
            else:
                getattr(self, kind)(batch[0])

    def orders(self, batch: Sequence[Event]) -> None:
        # Consecutive orders post with one commit. Each is evaluated on its member as the batch
        # began, which is what one-by-one gives while earned points are still pending.
        self.loyalty.record_orders([event.data for event in batch])
        self.counts["orders"] += len(batch)
        self.done_orders += len(batch)
        if self.progress is not None:
            self.progress(self.done_orders, self.total_orders)

    def enroll(self, event: Event) -> None:
        person: Customer = event.data
        self.loyalty.enroll(person.customer_id, email=person.email, name=person.name, birthday=person.birthday,
                            at=person.enrolled_at)
        self.counts["enrolled"] += 1

    def activity(self, event: Event) -> None:
        if self.loyalty.record_activity(event.data) is not None:
            self.counts[f"{event.data.kind}_awards"] += 1

    def adjust(self, event: Event) -> None:
        person, points, reason = event.data
        self.loyalty.adjust(person.ref, points, reason, actor="demo", idempotency_key=f"demo:{event.seq}")
        self.counts["adjustments"] += 1

    def redeem(self, event: Event) -> None:
        person, number = event.data
        available = self.loyalty.balance(person.ref).available
        if available <= 0:  # nothing is free: skip asking for the catalog
            return
        options = [reward for reward in self.loyalty.rewards(person.ref) if _cheapest(reward) <= available]
        if not options:
            return
        reward = self.rng.choice(options)
        points = _pay_with_points(self.rng, reward, available) if reward.kind == "points_as_money" else None
        try:
            self.loyalty.redeem(person.ref, reward.id, points=points, idempotency_key=f"demo:{number}")
        except (RedemptionRefused, InsufficientPoints):  # e.g. the once-per-member mug, already taken
            self.counts["redemptions_refused"] += 1
            return
        self.counts["redemptions"] += 1

    def refund(self, event: Event) -> None:
        self.loyalty.record_refund(event.data)
        self.counts["refunds"] += 1

    def cancel(self, event: Event) -> None:
        self.loyalty.record_cancellation(event.data)
        self.counts["cancellations"] += 1

    def jobs(self, event: Event) -> None:
        report = self.loyalty.run_jobs(as_of=event.at)
        self.counts["job_runs"] += 1
        for name, value in report.as_dict().items():
            self.counts[f"jobs_{name}"] += value


def _batches(events: Sequence[Event]) -> Iterator[tuple[str, list[Event]]]:
    """Runs of consecutive orders as one batch; every other event alone."""
    batch: list[Event] = []
    for event in events:
        if event.kind == "order":
            batch.append(event)
            continue
        if batch:
            yield "order", batch
            batch = []
        yield event.kind, [event]
    if batch:
        yield "order", batch


def _cheapest(reward: Reward) -> int:
    return reward.min_points if reward.kind == "points_as_money" and reward.min_points else reward.points


def _pay_with_points(rng: random.Random, reward: Reward, available: int) -> int:
    """A whole number of steps between the reward's minimum and what the member can spend."""
    step = reward.step
    low = -(-_cheapest(reward) // step) * step
    high = min(available, reward.max_points or available) // step * step
    return low + step * rng.randint(0, max(0, (high - low) // step))


# -- entry points ---------------------------------------------------------------------------------------


def open_demo(database_url: str, program: Program | str | Path | None = None, *, shop: str = DEMO_SHOP,
              fresh: bool = True, **options: Any) -> Loyalty:
    """A Loyalty on the demo's simulated clock, for :func:`run_demo`.

    With ``fresh`` (the default) a shop that already holds members is left alone and the next
    free id is used (``demo``, ``demo-2``, ...); read it back from ``loyalty.shop_id``. Extra
    ``options`` go to :class:`Loyalty`.
    """
    # A demo database is disposable: skip the per-commit fsync the real ledger insists on.
    options.setdefault("engine_options", {"synchronous": "NORMAL"})
    for candidate in _shop_ids(shop):
        loyalty = Loyalty(database_url, program, shop=candidate, clock=DemoClock(), **options)
        if not fresh or loyalty.summary()["members"] == 0:
            return loyalty
        loyalty.close()
    raise AssertionError("unreachable: shop ids are unbounded")


def _shop_ids(base: str) -> Iterator[str]:
    yield base
    number = 2
    while True:
        yield f"{base}-{number}"
        number += 1


def run_demo(loyalty: Loyalty, customers: int = 1000, orders: int = 10000, seed: int = 42,
             progress: Progress | None = None) -> dict[str, Any]:
    """Replay a synthetic year through ``loyalty`` (from :func:`open_demo`) and return its books.

    The result is a pure function of (program, customers, orders, seed) on an empty shop:
    ``members``, ``orders``, ``points`` (issued, redeemed, expired, clawed_back, adjusted,
    outstanding...), ``liability``, ``tiers``, ``doctor``, ``seed``, ``shop`` and ``replayed``
    (counts of what the replay did). No wall-clock time is in it.
    """
    clock = loyalty.books.clock
    if not isinstance(clock, DemoClock):
        raise InvalidInput("run_demo needs a Loyalty built by open_demo (on the demo's clock)", field="clock",
                           value=type(clock).__name__)
    for name, value in (("customers", customers), ("orders", orders)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a non-negative integer, got {value!r}", field=name, value=value)
    events, rng = plan(customers, orders, seed, loyalty.program)
    replay = Replay(loyalty, clock, rng, progress, orders)
    replay.run(events)
    return {
        **loyalty.summary(),
        "doctor": loyalty.doctor(),
        "seed": seed,
        "shop": loyalty.shop_id,
        "replayed": dict(sorted(replay.counts.items())),
    }


__all__ = ["DEMO_DAYS", "DEMO_SHOP", "DEMO_START", "DemoClock", "open_demo", "plan", "run_demo"]
