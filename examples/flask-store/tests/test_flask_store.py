"""A shopper's trip through the Flask store, through Flask's test client: what they see on the
pages after signing up, buying, waiting, redeeming and being refunded."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest


class Browser:
    """A test client that submits forms the way a browser does, with the page's CSRF token."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', self.page("/")).group(1)

    def post(self, url: str, **data: object):
        return self.client.post(url, data={**data, "csrf_token": self.token})

    def page(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, response.text
        return response.text

    def cart_id(self) -> str:
        return re.search(r'name="cart" value="([0-9a-f]+)"', self.page("/cart")).group(1)

    def buy(self, *lines: tuple[str, int]) -> str:
        """Add the lines, check out, and return the order page's URL."""
        for sku, quantity in lines:
            assert self.post("/cart/add", sku=sku, quantity=quantity).status_code == 302
        response = self.post("/checkout", cart=self.cart_id())
        assert response.status_code == 302, response.text
        return response.location


def figure(page: str, name: str) -> str:
    return re.search(rf'id="{name}"[^>]*>([^<]*)<', page).group(1)


def history(page: str) -> list[tuple[str, int, str]]:
    """The account page's history: (kind, points, reason), newest first."""
    return [(kind, int(points), html.unescape(reason)) for kind, points, reason in re.findall(
        r'class="history" data-kind="(\w+)"><td>[^<]*</td><td class="amount">(-?\d+)</td><td class="reason">([^<]*)<',
        page)]


def error_of(response) -> str:
    return html.unescape(re.search(r'<p id="error" data-code="\w+">([^<]*)</p>', response.text).group(1))


def signed_up(app, email: str, name: str) -> Browser:
    browser = Browser(app)
    assert browser.post("/signup", email=email, name=name, password="long enough secret").status_code == 302
    return browser


@pytest.fixture
def shopper(store_app) -> Browser:
    return signed_up(store_app, "Ada@Example.com", "Ada")


@pytest.fixture
def staff(store_app) -> Browser:
    return signed_up(store_app, "grace@example.com", "Grace")


def test_signing_up_makes_a_member_with_the_welcome_points(shopper) -> None:
    page = shopper.page("/account")
    assert (figure(page, "available"), figure(page, "pending"), figure(page, "tier")) == ("100", "0", "member")
    assert history(page) == [("activity", 100, "100 points for signing up")]
    assert "$5 off your order: 100 points (yours to use at checkout)" in page
    assert "$15 off your order: 250 points</li>" in page  # not enough points yet


def test_points_are_pending_until_the_return_window_passes(shopper, store_app) -> None:
    order_url = shopper.buy(("beans-house", 2), ("mug", 1))  # 36.00 + 12.00
    number = order_url.strip("/").rsplit("/", 1)[1]
    assert f'<span class="amount">48</span> order {number}: 48 points on spend' in shopper.page(order_url)
    page = shopper.page("/account")
    assert (figure(page, "available"), figure(page, "pending")) == ("100", "48")
    assert re.search(r'<li class="pending-lot">48 points on \d{4}-\d\d-\d\d</li>', page)

    store_app.extensions["loyalty"].run_jobs(as_of=datetime.now(UTC) + timedelta(days=15))
    page = shopper.page("/account")
    assert (figure(page, "available"), figure(page, "pending")) == ("148", "0")
    assert history(page)[0] == ("release", 48, f"return window passed for order {number}")
    assert "pending-lot" not in page


def test_a_double_submitted_reward_is_spent_once(shopper) -> None:
    shopper.post("/cart/add", sku="beans-single", quantity=2)  # 49.00
    cart = shopper.cart_id()
    first = shopper.post("/cart/reward", cart=cart, reward="5-off")
    second = shopper.post("/cart/reward", cart=cart, reward="5-off")
    assert first.status_code == second.status_code == 302

    page = shopper.page("/account")
    assert figure(page, "available") == "0"
    assert [line for line in history(page) if line[0] == "redeem"] == [("redeem", -100, "redeemed $5 off your order")]
    page = shopper.page("/cart")
    assert (figure(page, "discount"), figure(page, "total")) == ("5.00", "44.00")


def test_the_rewards_discount_lowers_the_total_and_the_points_earned(shopper) -> None:
    shopper.post("/cart/add", sku="beans-single", quantity=2)
    shopper.post("/cart/reward", cart=shopper.cart_id(), reward="5-off")
    order_page = shopper.page(shopper.buy())
    assert (figure(order_page, "discount"), figure(order_page, "total")) == ("5.00", "44.00")
    assert figure(shopper.page("/account"), "pending") == "44"
    assert "Your cart is empty." in shopper.page("/cart")


def test_a_double_submitted_checkout_places_one_order(shopper, store_app) -> None:
    shopper.post("/cart/add", sku="mug", quantity=1)
    cart = shopper.cart_id()
    first = shopper.post("/checkout", cart=cart)
    second = shopper.post("/checkout", cart=cart)
    assert first.location == second.location
    assert len(store_app.extensions["store"].orders) == 1
    assert figure(shopper.page("/account"), "pending") == "12"


def test_a_refund_takes_back_the_points_of_the_units_returned(shopper, staff) -> None:
    order_url = shopper.buy(("beans-house", 2), ("mug", 1))
    number = order_url.rstrip("/").rsplit("/", 1)[1]
    assert staff.post(f"{order_url}/refunds", sku="mug", quantity=1).status_code == 302

    page = shopper.page("/account")
    assert figure(page, "pending") == "36"
    assert history(page)[0] == ("clawback", -12, f"refund {number}-refund-1 of order {number}")
    assert "1 refunded" in shopper.page(order_url)


def test_only_staff_refund(shopper) -> None:
    order_url = shopper.buy(("mug", 1))
    assert shopper.post(f"{order_url}/refunds", sku="mug", quantity=1).status_code == 403
    assert figure(shopper.page("/account"), "pending") == "12"


@pytest.mark.parametrize(("sku", "quantity", "message"), [
    ("mug", "-2", "quantity must not be negative, got -2"),
    ("mug", "two", "quantity must be a whole number, got 'two'"),
    ("mug", "0", "quantity must be at least 1, got 0"),
    ("espresso-machine", "1", "sku 'espresso-machine' is not a product of this store"),
])
def test_a_bad_line_is_refused_and_the_cart_is_unchanged(shopper, sku, quantity, message) -> None:
    shopper.post("/cart/add", sku="beans-house", quantity=1)
    response = shopper.post("/cart/add", sku=sku, quantity=quantity)
    assert response.status_code == 422
    assert error_of(response) == message
    page = shopper.page("/cart")
    assert re.findall(r'class="quantity">(\d+)<', page) == ["1"] and figure(page, "subtotal") == "18.00"


@pytest.mark.parametrize(("reward", "status", "message"), [
    ("free-car", 404, "reward 'free-car' is not available to member 1 (no such reward)"),
    ("15-off", 409, "reward 15-off needs 250 points but member 1 has 100 available"),
])
def test_a_reward_that_cannot_be_had_spends_nothing(shopper, reward, status, message) -> None:
    shopper.post("/cart/add", sku="beans-single", quantity=1)
    response = shopper.post("/cart/reward", cart=shopper.cart_id(), reward=reward)
    assert response.status_code == status
    assert error_of(response) == message
    assert figure(shopper.page("/account"), "available") == "100"
    assert 'id="discount"' not in shopper.page("/cart")


@pytest.mark.parametrize(("sku", "quantity", "message"), [
    ("mug", "2", "quantity must be between 1 and 1 (the units not yet refunded), got 2"),
    ("mug", "-1", "quantity must not be negative, got -1"),
    ("beans-house", "1", "has no line 'beans-house'"),
])
def test_a_bad_refund_is_refused_and_nothing_is_refunded(shopper, staff, sku, quantity, message) -> None:
    order_url = shopper.buy(("mug", 1))
    response = staff.post(f"{order_url}/refunds", sku=sku, quantity=quantity)
    assert response.status_code == 422
    assert message in error_of(response)
    assert "refunded" not in shopper.page(order_url)
    page = shopper.page("/account")
    assert figure(page, "pending") == "12" and [line[0] for line in history(page)] == ["earn", "activity"]


def test_a_form_without_the_csrf_token_is_refused(shopper) -> None:
    response = shopper.client.post("/cart/add", data={"sku": "mug", "quantity": 1})
    assert response.status_code == 403
    assert "Your cart is empty." in shopper.page("/cart")


def test_signing_up_twice_with_one_email_is_refused(shopper, store_app) -> None:
    other = Browser(store_app)
    response = other.post("/signup", email="ada@example.com", name="Ada again", password="another secret")
    assert response.status_code == 422
    assert error_of(response) == "an account with this email exists: sign in instead"
    assert len(store_app.extensions["store"].accounts) == 1


def test_a_signed_out_shopper_signs_back_in_to_their_points(shopper, store_app) -> None:
    shopper.post("/logout")
    assert shopper.client.get("/account").status_code == 302
    returning = Browser(store_app)
    assert returning.post("/login", email="ada@example.com", password="wrong password").status_code == 400
    assert returning.post("/login", email="ada@example.com", password="long enough secret",
                          next="/account").location == "/account"
    assert figure(returning.page("/account"), "available") == "100"
