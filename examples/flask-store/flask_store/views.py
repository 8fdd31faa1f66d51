"""The store's pages. Each calls the app's one ``Loyalty``; its typed errors become error pages
(``create_app`` registers the handler). A view changes the store's records and the session only
after the ledger call they belong to succeeded, so a refusal leaves neither behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from flask_store.cart import Cart, parse_quantity
from flask_store.catalog import PRODUCTS
from flask_store.loyalty import get_loyalty, member_ref
from flask_store.store import OrderLine, Store, StoreOrder
from loyalty_sdk import Activity, RefundLine
from loyalty_sdk import Refund as LoyaltyRefund
from loyalty_sdk.core.errors import InvalidInput

store_pages = Blueprint("store", __name__)


def store() -> Store:
    return current_app.extensions["store"]


def currency() -> str:
    return get_loyalty().program.program.currency


@store_pages.before_app_request
def load_account() -> None:
    g.account = store().accounts.get(session.get("account", ""))
    g.staff = g.account is not None and g.account.email in current_app.config["STAFF_EMAILS"]


def sign_in_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.account is None:
            return redirect(url_for("store.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


@store_pages.get("/")
def home():
    return render_template("home.html", products=PRODUCTS.values(), currency=currency())


@store_pages.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "GET":
        return render_template("signup.html")
    email = request.form.get("email", "").strip().lower()
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    if "@" not in email:
        raise InvalidInput(f"email must be an email address, got {email!r}", field="email", value=email)
    if not name:
        raise InvalidInput("name must not be empty", field="name", value=name)
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", field="password", value=None)
    with store().lock:
        if store().account_by_email(email) is not None:
            raise InvalidInput("an account with this email exists: sign in instead", field="email", value=email)
        account = Store.new_account(email, name, password)
        loyalty = get_loyalty()
        loyalty.enroll(account.id, email=email, name=name)
        # The activity id makes a retried sign-up earn its welcome points once.
        loyalty.record_activity(Activity("signup", member_ref(account.id), datetime.now(UTC),
                                         activity_id=f"signup-{account.id}"))
        store().add_account(account)
    session["account"] = account.id
    return redirect(url_for("store.account"))


@store_pages.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    account = store().account_by_email(request.form.get("email", "").strip().lower())
    if account is None or not account.check_password(request.form.get("password", "")):
        return render_template("login.html", next=request.form.get("next", ""),
                               failed="That email and password do not match an account."), 400
    session["account"] = account.id
    target = request.form.get("next", "")
    # Only paths on this site: an open redirect would send a signed-in shopper anywhere.
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("store.account"))


@store_pages.post("/logout")
def logout():
    session.pop("account", None)
    return redirect(url_for("store.home"))


@store_pages.post("/cart/add")
def add_to_cart():
    Cart.current().adding(request.form.get("sku", ""), request.form.get("quantity", "1"), currency()).save()
    return redirect(url_for("store.cart"))


@store_pages.get("/cart")
def cart():
    rewards = get_loyalty().rewards(member_ref(g.account.id)) if g.account else []
    return render_template("cart.html", cart=Cart.current(), rewards=rewards, currency=currency())


@store_pages.post("/cart/reward")
@sign_in_required
def apply_reward():
    cart = Cart.current()
    cart.check_token(request.form.get("cart", ""))
    reward_id = request.form.get("reward", "")
    if cart.reward and cart.reward["id"] != reward_id:
        raise InvalidInput(f"this order already uses {cart.reward['name']!r}: one reward per order",
                           field="reward", value=reward_id)
    loyalty = get_loyalty()
    ref = member_ref(g.account.id)
    offer = next((reward for reward in loyalty.rewards(ref) if reward.id == reward_id), None)
    if offer is not None and offer.kind != "fixed_amount":
        raise InvalidInput(f"reward {reward_id!r} is not an amount off, the only kind this checkout takes",
                           field="reward", value=reward_id)
    # Keyed by the cart: a double-submitted form replays the first redemption instead of
    # spending again, even when both requests arrive before either has saved the session.
    redemption = loyalty.redeem(ref, reward_id, idempotency_key=f"cart-{cart.id}-{reward_id}")
    applied = {"id": redemption.reward_id, "name": offer.name if offer else reward_id, "code": redemption.code or "",
               "amount": str(redemption.value.amount if redemption.value else 0)}
    Cart(cart.id, cart.lines, applied).save()
    return redirect(url_for("store.cart"))


@store_pages.post("/checkout")
@sign_in_required
def checkout():
    token = request.form.get("cart", "")
    with store().lock:
        placed = store().orders.get(token)
        if placed is not None and placed.account_id == g.account.id:
            # The same checkout form submitted again: the first placed the order.
            return redirect(url_for("store.order", number=placed.number))
        cart = Cart.current()
        cart.check_token(token)
        order = StoreOrder(
            number=cart.id, account_id=g.account.id, placed_at=datetime.now(UTC), currency=currency(),
            lines=[OrderLine(item.sku, item.title, quantity, item.price) for item, quantity, _ in cart.items],
            discount=cart.discount, reward_code=cart.reward["code"] if cart.reward else "",
        )
        get_loyalty().record_order(order.loyalty_order())
        store().orders[order.number] = order  # kept only once the ledger has it
    Cart().save()
    return redirect(url_for("store.order", number=order.number))


def visible_order(number: str) -> StoreOrder:
    order = store().orders.get(number)
    if order is None or (order.account_id != g.account.id and not g.staff):
        abort(404)
    return order


@store_pages.get("/orders/<number>")
@sign_in_required
def order(number: str):
    order = visible_order(number)
    points = [line for line in get_loyalty().history(member_ref(order.account_id)) if line.order_id == number]
    return render_template("order.html", order=order, points=points)


@store_pages.post("/orders/<number>/refunds")
@sign_in_required
def refund(number: str):
    """Staff give back some of an order's units; the ledger takes back the points they earned."""
    if not g.staff:
        abort(403, "only staff can refund orders")
    order = visible_order(number)
    sku = request.form.get("sku", "")
    quantity = parse_quantity(request.form.get("quantity"))
    returned = RefundLine(line_id=sku, quantity=quantity)  # the SDK refuses a negative quantity
    with store().lock:
        line = order.line(sku)
        if line is None:
            raise InvalidInput(f"order {number} has no line {sku!r}", field="sku", value=sku)
        if not 0 < quantity <= line.quantity - line.refunded:
            raise InvalidInput(f"quantity must be between 1 and {line.quantity - line.refunded} (the units not "
                               f"yet refunded), got {quantity}", field="quantity", value=quantity)
        refund_id = f"{number}-refund-{len(order.refunds) + 1}"
        get_loyalty().record_refund(LoyaltyRefund(refund_id=refund_id, order_id=number, refunded_at=datetime.now(UTC),
                                                  lines=[returned]))
        line.refunded += quantity
        order.refunds.append(refund_id)
    return redirect(url_for("store.order", number=number))


@store_pages.get("/account")
@sign_in_required
def account():
    loyalty = get_loyalty()
    ref = member_ref(g.account.id)
    return render_template(
        "account.html", balance=loyalty.balance(ref), progress=loyalty.tier_progress(ref),
        history=loyalty.history(ref, limit=50), lots=loyalty.lots(ref), rewards=loyalty.rewards(ref), orders=store().orders_of(g.account.id),
    )

