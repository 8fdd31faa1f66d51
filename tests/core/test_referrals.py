"""Referrals end to end through the facade, on SQLite and PostgreSQL.

The test program (tests/core/__init__.py) earns 1 point per dollar with a 14-day return window;
its ``[referrals]`` section gives the friend 200 points on a first order of at least $20 and
the referrer 500 once that order passed its window. Ada refers; her friends are Bob, Cy...
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty_sdk.core.errors import InvalidInput, ProgramError, ReferralCodeNotFound
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import load_program

from . import T0, assert_books_ok, base_program, refund

DAY = timedelta(days=1)
WINDOW = 14 * DAY
REFERRALS = {"referrer_points": 500, "referee_points": 200, "min_order": "20",
             "link": "https://shop.example/?ref={code}"}


@pytest.fixture
def program():
    return base_program(referrals=REFERRALS, activities=[])


@pytest.fixture
def shop(books):
    books.enroll("ada", email="ada@gmail.com")
    return books


def order(order_id, customer, amount, at, *, card=None, address=None, currency="USD"):
    return Order(order_id, MemberRef.parse(customer), at, currency, [LineItem("1", 1, Money(amount, currency))],
                 payer_fingerprint=card, address=address)


def code(shop):
    return shop.referral_code("ada").code


def statuses(shop):
    return [(r.status, r.reason) for r in reversed(shop.referrals())]


def test_a_member_gets_one_code_and_a_link_to_share(shop):
    first = shop.referral_code("ada")
    assert first == shop.referral_code("ada")
    assert len(first.code) == 8 and first.link == f"https://shop.example/?ref={first.code}"
    shop.enroll("bob")
    assert shop.referral_code("bob").code != first.code


def test_a_friends_first_qualifying_order_rewards_both_after_the_return_window(shop, clock):
    referral = shop.refer(code(shop), "bob@example.com", at=T0)
    assert (referral.status, referral.reason) == ("invited", None)
    shop.record_order(order("1", "bob@example.com", "50.00", T0 + DAY))
    # The friend's bonus waits out the order's window, beside the order's own 50 points.
    assert (shop.balance("bob@example.com").available, shop.balance("bob@example.com").pending) == (0, 250)
    [qualified] = shop.referrals(status="qualified")
    assert (qualified.order_id, qualified.referee_points, qualified.due_at) == ("1", 200, T0 + DAY + WINDOW)

    shop.run_jobs(T0 + WINDOW)  # a day before the window ends: nobody is rewarded yet
    assert shop.balance("ada").available == 0
    report = shop.run_jobs(T0 + DAY + WINDOW)
    assert report.referrals_rewarded == 1
    assert shop.balance("ada").available == 500
    assert shop.balance("bob@example.com").available == 250
    assert [(h.points, h.reason) for h in shop.history("ada")] == [(500, "500 points for referring a friend")]
    assert "joining through a friend" in " ".join(h.reason for h in shop.history("bob@example.com"))
    # Jobs run again change nothing.
    assert shop.run_jobs(T0 + 30 * DAY).referrals_rewarded == 0
    assert shop.balance("ada").available == 500
    assert statuses(shop) == [("rewarded", None)]
    assert_books_ok(shop)


def test_a_code_is_read_as_typed_and_an_unknown_code_is_refused(shop):
    typed = code(shop).lower()
    assert shop.refer(f" {typed[:4]}-{typed[4:]} ", "bob", at=T0).status == "invited"
    with pytest.raises(ReferralCodeNotFound, match="ZZZZ2222"):
        shop.refer("zzzz2222", "cy", at=T0)
    with pytest.raises(InvalidInput, match="code"):
        shop.refer("  ", "cy", at=T0)


def test_the_same_friend_and_code_again_is_a_replay(shop):
    first = shop.refer(code(shop), "bob", at=T0)
    again = shop.refer(code(shop), "bob", at=T0 + DAY)
    assert again.replayed and again.id == first.id
    assert len(shop.referrals()) == 1


def test_an_order_below_the_minimum_waits_for_one_that_qualifies(shop):
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "19.99", T0 + DAY))
    assert statuses(shop) == [("invited", None)]
    assert shop.balance("bob").pending == 19
    shop.record_order(order("2", "bob", "20.00", T0 + 2 * DAY))
    [referral] = shop.referrals()
    assert (referral.status, referral.order_id) == ("qualified", "2")


@pytest.mark.parametrize("how", ["refund", "cancel"])
def test_an_order_refunded_within_its_window_rewards_nobody(shop, how):
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))
    if how == "refund":
        shop.record_refund(refund("r1", "1", T0 + 3 * DAY, amount="50.00"))
    else:
        shop.record_cancellation(Cancellation("1", T0 + 3 * DAY))
    report = shop.run_jobs(T0 + DAY + WINDOW)
    assert (report.referrals_rewarded, report.referrals_voided) == (0, 1)
    assert shop.balance("ada").available == 0
    # The friend's pending bonus went back with the order's points.
    assert (shop.balance("bob").available, shop.balance("bob").pending) == (0, 0)
    [(status, reason)] = statuses(shop)
    assert status == "void" and ("refunded" if how == "refund" else "cancelled") in reason
    assert_books_ok(shop)


def test_a_partial_refund_that_leaves_the_minimum_still_rewards(shop):
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))
    shop.record_refund(refund("r1", "1", T0 + 3 * DAY, amount="25.00"))  # $25 left, over the $20 minimum
    assert shop.run_jobs(T0 + DAY + WINDOW).referrals_rewarded == 1
    shop.record_refund(refund("r2", "1", T0 + 20 * DAY, amount="25.00"))  # after the window: too late to undo
    assert shop.balance("ada").available == 500


def test_a_refund_after_the_window_takes_nothing_back_from_the_referral(shop):
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))
    shop.run_jobs(T0 + DAY + WINDOW)
    shop.record_refund(refund("r1", "1", T0 + 20 * DAY, amount="50.00"))
    shop.run_jobs(T0 + 21 * DAY)
    assert shop.balance("ada").available == 500
    assert statuses(shop) == [("rewarded", None)]


@pytest.mark.parametrize(("friend", "reason", "ada_points"), [
    ("ada", "a member cannot refer themselves", 50),
    ("ADA@gmail.com", "a member cannot refer themselves", 50),  # the same member, by email
    ("a.d.a+friends@googlemail.com", "the friend's email is the referrer's own", 0),
])
def test_self_referrals_are_refused_with_a_reason_and_earn_nothing(shop, friend, reason, ada_points):
    refused = shop.refer(code(shop), friend, at=T0)
    assert (refused.status, refused.reason) == ("refused", reason)
    shop.record_order(order("1", friend, "50.00", T0 + DAY))
    shop.run_jobs(T0 + 30 * DAY)
    # Ada has only what her own orders earned: no referral reward.
    assert shop.balance("ada").available == ada_points


def test_a_friend_who_already_bought_is_not_a_new_customer(shop):
    shop.enroll("bob")
    shop.record_order(order("0", "bob", "30.00", T0 - 10 * DAY))
    refused = shop.refer(code(shop), "bob", at=T0)
    assert (refused.status, refused.reason) == ("refused", "the friend had already ordered before the referral")


def test_a_friend_already_referred_by_someone_else_stays_theirs(shop):
    shop.enroll("cy")
    first = shop.refer(shop.referral_code("cy").code, "bob", at=T0)
    second = shop.refer(code(shop), "bob", at=T0 + DAY)
    assert first.status == "invited"
    assert (second.status, second.reason) == ("refused", "the friend was already referred by another member")
    shop.record_order(order("1", "bob", "50.00", T0 + 2 * DAY))
    shop.run_jobs(T0 + 2 * DAY + WINDOW)
    assert (shop.balance("cy").available, shop.balance("ada").available) == (500, 0)


@pytest.mark.parametrize(("payer", "reason"), [
    ({"card": "fp_visa_4242"}, "the friend paid with the referrer's payment method"),
    # Addresses are compared without case or repeated spaces.
    ({"address": "1 MAIN ST,  Springfield 12345"}, "the friend's order went to the referrer's address"),
])
def test_a_friend_paying_like_the_referrer_is_refused_at_the_order(shop, payer, reason):
    # Ada's own order shows her card and address; the books keep only digests of them.
    shop.record_order(order("a1", "ada", "10.00", T0 - DAY, card="fp_visa_4242", address="1 Main St, Springfield 12345"))
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY, **payer))
    assert statuses(shop) == [("refused", reason)]
    assert shop.balance("bob").pending == 50  # the order still earns its own points
    shop.run_jobs(T0 + 30 * DAY)
    assert shop.balance("ada").available == 10


def test_a_different_card_and_address_pass(shop):
    shop.record_order(order("a1", "ada", "10.00", T0 - DAY, card="fp_ada", address="1 Main St"))
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY, card="fp_bob", address="2 Elm St"))
    assert statuses(shop) == [("qualified", None)]


def test_the_cap_per_referrer_refuses_the_referrals_beyond_it(loyalty_at):
    shop = loyalty_at(program=base_program(referrals=dict(REFERRALS, max_rewards=2, cap_days=365), activities=[],
                                           expiry={"mode": "none"}))
    shop.enroll("ada")
    ada_code = shop.referral_code("ada").code
    for n, friend in enumerate(["bob", "cy", "di"]):
        shop.refer(ada_code, friend, at=T0)
        shop.record_order(order(str(n), friend, "30.00", T0 + DAY))
    assert statuses(shop) == [("qualified", None), ("qualified", None),
                              ("refused", "the referrer reached the cap of 2 rewarded referrals")]
    shop.run_jobs(T0 + DAY + WINDOW)
    assert shop.balance("ada").available == 1000
    # More than a year later the cap counts afresh.
    shop.refer(ada_code, "ed", at=T0 + 400 * DAY)
    shop.record_order(order("e", "ed", "30.00", T0 + 401 * DAY))
    shop.run_jobs(T0 + 401 * DAY + WINDOW)
    assert shop.balance("ada").available == 1500


def test_an_order_after_the_referral_window_does_not_qualify(loyalty_at):
    shop = loyalty_at(program=base_program(referrals=dict(REFERRALS, window_days=30), activities=[]))
    shop.enroll("ada")
    shop.refer(shop.referral_code("ada").code, "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + 31 * DAY))
    [(status, reason)] = statuses(shop)
    assert status == "refused" and "within 30 days" in reason


def test_a_disputed_order_waits_for_the_dispute(shop):
    shop.refer(code(shop), "bob", at=T0)
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))
    shop.hold_order("1", "payment disputed", at=T0 + 2 * DAY)
    shop.run_jobs(T0 + 20 * DAY)
    assert shop.balance("ada").available == 0
    shop.release_hold("1")
    assert shop.run_jobs(T0 + 21 * DAY).referrals_rewarded == 1
    assert shop.balance("ada").available == 500


def test_your_own_check_can_refuse_a_referral(shop):
    class SameDomain:
        @hookimpl
        def loyalty_refuse_referral(self, check, program):
            if check.stage == "referral" and check.referee.email and check.referrer.email \
                    and check.referee.email.split("@")[1] == check.referrer.email.split("@")[1]:
                return "the friend's email is on the referrer's domain"

    shop.books.host.register(SameDomain())
    assert shop.refer(code(shop), "someone@gmail.com", at=T0).reason == "the friend's email is on the referrer's domain"
    assert shop.refer(code(shop), "bob@example.com", at=T0).status == "invited"


def test_replayed_orders_and_a_crash_before_qualifying_are_finished_by_the_jobs(shop):
    shop.refer(code(shop), "bob", at=T0)
    # As if the process died between the order's commit and the referral step.
    books = shop.books
    saved, books.program = books.program, books.program.model_copy(update={"referrals": None})
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))
    books.program = saved
    assert statuses(shop) == [("invited", None)]
    shop.record_order(order("1", "bob", "50.00", T0 + DAY))  # the platform redelivers: a replay
    assert statuses(shop) == [("qualified", None)]
    assert shop.run_jobs(T0 + DAY + WINDOW).referrals_rewarded == 1
    assert shop.balance("bob").available == 250


def test_referrals_need_a_referrals_section(loyalty_at):
    plain = loyalty_at(program=base_program())
    plain.enroll("ada")
    with pytest.raises(InvalidInput, match=r"\[referrals\]"):
        plain.referral_code("ada")


def test_the_program_section_is_checked():
    with pytest.raises(ProgramError, match="link"):
        load_program(base_program(referrals={"link": "https://shop.example/"}))
    with pytest.raises(ProgramError, match="referral"):
        load_program(base_program(referrals=REFERRALS, activities=[{"kind": "referral", "points": 5}]))
    # A program without the section keeps the version hash it had before referrals existed (its
    # ledger's transactions record it): this is the test program's version from before.
    assert load_program(base_program()).version == "7bbd0adbebe1"
    assert load_program(base_program()).version != load_program(base_program(referrals=REFERRALS)).version


def test_referral_figures_count_friends_by_when_they_were_referred(shop):
    from loyalty_sdk.analytics import Period, referral_figures

    ada_code = code(shop)
    shop.refer(ada_code, "bob", at=T0)                       # buys $50, rewarded
    shop.refer(ada_code, "cy", at=T0 + DAY)                  # buys $30, refunds it in the window
    shop.refer(ada_code, "di", at=T0 + DAY)                  # never buys
    shop.refer(ada_code, "ada", at=T0 + DAY)                 # refused: herself
    shop.record_order(order("b1", "bob", "50.00", T0 + DAY))
    shop.record_order(order("b2", "bob", "10.00", T0 + 3 * DAY))
    shop.record_order(order("c1", "cy", "30.00", T0 + 2 * DAY))
    shop.record_refund(refund("r", "c1", T0 + 4 * DAY, amount="30.00"))
    shop.run_jobs(T0 + 30 * DAY)
    figures = referral_figures(shop, Period(T0, T0 + 10 * DAY))
    assert (figures.used, figures.converted, figures.rewarded, figures.void, figures.refused) == (3, 2, 1, 1, 1)
    assert str(figures.conversion_rate) == "0.6667"          # 2 of 3 codes used
    assert figures.refused_reasons == {"a member cannot refer themselves": 1}
    assert figures.points == 200 + 500                       # Cy's bonus was taken back
    assert figures.cost.amount == 7                          # 700 points at $0.01
    assert figures.first_orders_revenue.amount == 80         # $50 + $30 qualifying orders
    assert figures.friends_revenue.amount == 90              # everything Bob and Cy bought
    # A period before anyone was referred has nothing.
    assert referral_figures(shop, Period(T0 - 10 * DAY, T0)).used == 0


@pytest.mark.postgres
def test_two_members_referring_one_friend_at_once_leave_one_referral(postgres_url, loyalty_at):
    import threading

    shops = [loyalty_at(url=postgres_url) for _ in range(2)]
    shops[0].enroll("ada")
    shops[0].enroll("cy")
    codes = [shops[0].referral_code("ada").code, shops[0].referral_code("cy").code]
    start = threading.Barrier(2)
    answers = []

    def refer(shop, referral_code):
        start.wait()
        answers.append(shop.refer(referral_code, "bob@example.com", at=T0))

    threads = [threading.Thread(target=refer, args=pair) for pair in zip(shops, codes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status for a in answers) == ["invited", "refused"]
    assert len(shops[0].referrals(status="invited")) == 1
    assert shops[0].member("bob@example.com").id  # enrolled once
