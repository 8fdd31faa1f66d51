"""The store's pages. Each calls the process's one ``Loyalty``; its typed errors become error
pages in :mod:`django_store.errors`, and store rows are written in the same database
transaction as the ledger call they belong to, so a refusal leaves neither behind."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from django_store.cart import Cart, parse_quantity
from django_store.catalog import PRODUCTS
from django_store.forms import SignupForm
from django_store.loyalty import get_loyalty, member_ref
from django_store.models import Order, OrderLine, Refund
from loyalty_sdk import Activity, RefundLine
from loyalty_sdk import Refund as LoyaltyRefund
from loyalty_sdk.core.errors import InvalidInput


def currency() -> str:
    return get_loyalty().program.program.currency


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "django_store/home.html", {"products": PRODUCTS.values(), "currency": currency()})


def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        loyalty = get_loyalty()
        with transaction.atomic():
            user = form.save()
            ref = member_ref(user)
            loyalty.enroll(ref.customer_id, email=user.email, name=user.first_name)
            # The activity id makes a retried sign-up earn its welcome points once.
            loyalty.record_activity(Activity("signup", ref, timezone.now(), activity_id=f"signup-{user.pk}"))
        login(request, user)
        return redirect("account")
    return render(request, "django_store/signup.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def add_to_cart(request: HttpRequest) -> HttpResponse:
    cart = Cart.of(request).adding(request.POST.get("sku", ""), request.POST.get("quantity", "1"), currency())
    cart.save(request)
    return redirect("cart")


def cart_page(request: HttpRequest) -> HttpResponse:
    cart = Cart.of(request)
    rewards = get_loyalty().rewards(member_ref(request.user)) if request.user.is_authenticated else []
    return render(request, "django_store/cart.html", {"cart": cart, "rewards": rewards, "currency": currency()})


@login_required
@require_POST
def apply_reward(request: HttpRequest) -> HttpResponse:
    cart = Cart.of(request)
    cart.check_token(request.POST.get("cart", ""))
    reward_id = request.POST.get("reward", "")
    if cart.reward and cart.reward["id"] != reward_id:
        raise InvalidInput(f"this order already uses {cart.reward['name']!r}: one reward per order",
                           field="reward", value=reward_id)
    loyalty = get_loyalty()
    ref = member_ref(request.user)
    offer = next((reward for reward in loyalty.rewards(ref) if reward.id == reward_id), None)
    if offer is not None and offer.kind != "fixed_amount":
        raise InvalidInput(f"reward {reward_id!r} is not an amount off, the only kind this checkout takes",
                           field="reward", value=reward_id)
    # Keyed by the cart: a double-submitted form replays the first redemption instead of
    # spending again, even when both requests arrive before either has saved the session.
    redemption = loyalty.redeem(ref, reward_id, idempotency_key=f"cart-{cart.id}-{reward_id}")
    applied = {"id": redemption.reward_id, "name": offer.name if offer else reward_id, "code": redemption.code or "",
               "amount": str(redemption.value.amount if redemption.value else 0)}
    Cart(cart.id, cart.lines, applied).save(request)
    return redirect("cart")


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("cart", "")
    placed = Order.objects.filter(number=token, customer=request.user).first()
    if placed is not None:  # the same checkout form submitted again: the first placed the order
        return redirect(placed)
    cart = Cart.of(request)
    cart.check_token(token)
    with transaction.atomic():
        order = Order.objects.create(number=cart.id, customer=request.user, placed_at=timezone.now(),
                                     currency=currency(), discount=cart.discount,
                                     reward_code=cart.reward["code"] if cart.reward else "")
        OrderLine.objects.bulk_create([
            OrderLine(order=order, sku=item.sku, title=item.title, quantity=quantity, unit_price=item.price)
            for item, quantity, _ in cart.items
        ])
        # Last in the transaction: if the ledger refuses the order, the store keeps no trace of it.
        get_loyalty().record_order(order.loyalty_order())
    Cart().save(request)
    return redirect(order)


def _visible_order(request: HttpRequest, number: str) -> Order:
    order = get_object_or_404(Order, number=number)
    if order.customer_id != request.user.pk and not request.user.is_staff:
        raise Http404("no such order")
    return order


@login_required
def order_page(request: HttpRequest, number: str) -> HttpResponse:
    order = _visible_order(request, number)
    points = [line for line in get_loyalty().history(member_ref(order.customer)) if line.order_id == order.number]
    return render(request, "django_store/order.html", {"order": order, "points": points})


@login_required
@require_POST
def refund(request: HttpRequest, number: str) -> HttpResponse:
    """Staff give back some of an order's units; the ledger takes back the points they earned."""
    if not request.user.is_staff:
        raise PermissionDenied("only staff can refund orders")
    order = get_object_or_404(Order, number=number)
    sku = request.POST.get("sku", "")
    quantity = parse_quantity(request.POST.get("quantity"))
    returned = RefundLine(line_id=sku, quantity=quantity)  # the SDK refuses a negative quantity
    with transaction.atomic():
        line = order.lines.select_for_update().filter(sku=sku).first()
        if line is None:
            raise InvalidInput(f"order {order.number} has no line {sku!r}", field="sku", value=sku)
        if not 0 < quantity <= line.quantity - line.refunded:
            raise InvalidInput(f"quantity must be between 1 and {line.quantity - line.refunded} (the units not "
                               f"yet refunded), got {quantity}", field="quantity", value=quantity)
        line.refunded += quantity
        line.save(update_fields=["refunded"])
        record = Refund.objects.create(order=order, sku=sku, quantity=quantity, created_at=timezone.now())
        get_loyalty().record_refund(LoyaltyRefund(refund_id=record.refund_id, order_id=order.number,
                                                  refunded_at=record.created_at, lines=[returned]))
    return redirect(order)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    loyalty = get_loyalty()
    ref = member_ref(request.user)
    return render(request, "django_store/account.html", {
        "balance": loyalty.balance(ref),
        "progress": loyalty.tier_progress(ref),
        "history": loyalty.history(ref, limit=50),
        "lots": loyalty.lots(ref),
        "rewards": loyalty.rewards(ref),
        "orders": request.user.orders.order_by("-placed_at"),
        "cart": Cart.of(request),
    })
