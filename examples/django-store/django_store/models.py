"""The store's own orders: what was bought, the discount a reward gave, and what was refunded."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse

from django_store.loyalty import member_ref
from loyalty_sdk import LineItem, Money
from loyalty_sdk import Order as LoyaltyOrder


class Order(models.Model):
    # The cart's id: a checkout form submitted twice finds the order the first one placed.
    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    reward_code = models.CharField(max_length=64, blank=True)

    def get_absolute_url(self) -> str:
        return reverse("order", args=[self.number])

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines.all()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    def loyalty_order(self) -> LoyaltyOrder:
        """The order as the ledger records it: its lines, and the reward's discount, which earns nothing."""
        return LoyaltyOrder(
            order_id=self.number,
            member=member_ref(self.customer),
            placed_at=self.placed_at,
            currency=self.currency,
            lines=[line.loyalty_line() for line in self.lines.all()],
            order_discount=Money(self.discount, self.currency) if self.discount else None,
            source="django-store",
        )


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    refunded = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "sku"], name="one_line_per_sku")]

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity

    def loyalty_line(self) -> LineItem:
        return LineItem(line_id=self.sku, quantity=self.quantity, unit_price=Money(self.unit_price, self.order.currency),
                        product_id=self.sku, sku=self.sku, title=self.title)


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    @property
    def refund_id(self) -> str:
        return f"{self.order.number}-refund-{self.pk}"
