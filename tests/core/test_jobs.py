"""The scheduled jobs: release, expiry (per lot and for inactivity), reminders, re-tiering and
event delivery, each run with an explicit ``as_of``.

1 point per whole dollar; the program's clock is UTC; lots expire 180 days after they were
earned; tiers: bronze 0, silver 500, gold 1500 points per calendar year, held through the next
year plus 30 days of grace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty_sdk import hookimpl
from loyalty_sdk.core.jobs import JobReport

from . import T0, assert_books_ok, base_program, order, refund, spent_member

DAY = timedelta(days=1)



class Inbox:
    """A notification plugin that keeps what it was told."""

    def __init__(self) -> None:
        self.expiring: list[dict] = []
        self.posted: list[dict] = []
        self.tiers: list[dict] = []

    @hookimpl
    def loyalty_points_expiring(self, event, program):
        self.expiring.append(event)

    @hookimpl
    def loyalty_points_posted(self, event, program):
        self.posted.append(event)

    @hookimpl
    def loyalty_tier_changed(self, event, program):
        self.tiers.append(event)


# -- release -----------------------------------------------------------------------------------


def test_release_happens_once_however_often_the_jobs_run(loyalty_at, database_url):
    shop = loyalty_at()
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "70.00", 1)]))
    other = loyalty_at(database_url)  # a second worker on the same books
    assert shop.run_jobs(T0 + 14 * DAY).released_points == 70
    assert other.run_jobs(T0 + 14 * DAY).released_points == 0
    assert shop.run_jobs(T0 + 15 * DAY).released_points == 0
    assert shop.balance("c1").available == 70
    release = shop.history("c1")[0]
    assert (release.kind, release.points, release.at) == ("release", 70, T0 + 14 * DAY)
    assert "return window" in release.reason and "o1" in release.reason
    assert_books_ok(shop)


def test_the_report_counts_what_each_job_did(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "70.00", 1)]))
    books.record_order(order("o2", [("a", "30.00", 1)], at=T0 + DAY))
    report = books.run_jobs(T0 + 15 * DAY)
    assert isinstance(report, JobReport)
    assert (report.released, report.released_points, report.expired) == (2, 100, 0)
    assert report.as_dict()["released_points"] == 100


# -- expiry by lot -----------------------------------------------------------------------------


def test_expiry_posts_only_what_is_left_of_a_lot_and_only_once(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "300.00", 1)]))  # 300 points, expire T0 + 180 days
    shop.redeem("c1", "pay", points=200)  # 100 left in the lot
    assert shop.run_jobs(T0 + 179 * DAY).expired == 0
    assert shop.balance("c1").available == 100

    report = shop.run_jobs(T0 + 180 * DAY)
    assert (report.expired, report.expired_points) == (1, 100)
    assert shop.balance("c1").available == 0
    assert shop.run_jobs(T0 + 200 * DAY).expired_points == 0
    points = shop.summary()["points"]
    assert (points["issued"], points["redeemed"], points["expired"], points["outstanding"]) == (300, 200, 100, 0)
    line = shop.history("c1")[0]
    assert (line.kind, line.points, line.at) == ("expire", -100, T0 + 180 * DAY)
    assert "expired" in line.reason
    assert_books_ok(shop)


def test_lots_expire_one_by_one(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "40.00", 1)]))
    shop.record_order(order("o2", [("a", "60.00", 1)], at=T0 + 30 * DAY))
    # At T0 + 200 days only o1's lot (expired at +180) is gone; o2's expires at +210.
    assert shop.run_jobs(T0 + 200 * DAY).expired_points == 40
    assert shop.balance("c1").available == 60
    assert shop.run_jobs(T0 + 210 * DAY).expired_points == 60
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)


def test_a_lot_spent_in_full_expires_nothing(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    spent_member(shop)
    report = shop.run_jobs(T0 + 365 * DAY)
    assert (report.expired, report.expired_points) == (0, 0)
    assert [line.kind for line in shop.history("c1")] == ["redeem", "earn"]
    assert_books_ok(shop)


def test_expiry_never_takes_points_a_negative_balance_already_owes(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    spent_member(shop)
    shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))  # -100
    shop.record_order(order("o2", [("a", "30.00", 1)], at=T0 + 2 * DAY))  # pays 30 of the debt: -70
    assert shop.run_jobs(T0 + 400 * DAY).expired_points == 0
    assert shop.balance("c1").available == -70
    assert_books_ok(shop)


# -- expiry for inactivity ---------------------------------------------------------------------


@pytest.fixture
def idle_program():
    return base_program(earn={"pending_days": 0}, expiry={"mode": "inactivity", "days": 90})


def test_all_points_expire_after_the_inactivity_period(loyalty_at, idle_program):
    shop = loyalty_at(program=idle_program)
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.record_order(order("o2", [("a", "20.00", 1)], at=T0 + 10 * DAY))
    # The last activity was at T0 + 10 days: points expire 90 days later, all at once.
    assert shop.run_jobs(T0 + 99 * DAY).expired_points == 0
    report = shop.run_jobs(T0 + 100 * DAY)
    assert (report.expired, report.expired_points) == (2, 120)
    assert shop.balance("c1").available == 0
    assert shop.run_jobs(T0 + 300 * DAY).expired_points == 0
    assert "inactivity" in shop.history("c1")[0].reason
    assert_books_ok(shop)


def test_earning_again_keeps_points_alive(loyalty_at, idle_program):
    shop = loyalty_at(program=idle_program)
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.record_order(order("o2", [("a", "10.00", 1)], at=T0 + 60 * DAY))
    assert shop.run_jobs(T0 + 120 * DAY).expired_points == 0
    assert shop.balance("c1").available == 110
    assert shop.run_jobs(T0 + 150 * DAY).expired_points == 110


def test_redeeming_counts_as_activity(loyalty_at, idle_program, clock):
    shop = loyalty_at(program=idle_program)
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "300.00", 1)]))
    clock.advance(days=60)
    shop.redeem("c1", "coffee")  # active at T0 + 60 days
    # Points expire 90 idle days after the redemption, not after the order.
    assert shop.run_jobs(T0 + 100 * DAY).expired_points == 0
    assert shop.balance("c1").available == 200
    assert shop.run_jobs(T0 + 150 * DAY).expired_points == 200


# -- reminders ---------------------------------------------------------------------------------


def test_reminders_go_out_once_per_horizon(loyalty_at):
    inbox = Inbox()
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[inbox])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "250.00", 1)]))  # expires T0 + 180 days
    shop.redeem("c1", "coffee")  # 150 left
    shop.run_jobs(T0 + 149 * DAY)
    assert inbox.expiring == []
    assert shop.run_jobs(T0 + 150 * DAY).reminders == 1
    assert shop.run_jobs(T0 + 151 * DAY).reminders == 0
    [first] = inbox.expiring
    assert (first["points"], first["days_left"]) == (150, 30)
    assert first["expires_at"] == (T0 + 180 * DAY).isoformat()
    assert shop.run_jobs(T0 + 173 * DAY).reminders == 1
    assert [(e["points"], e["days_left"]) for e in inbox.expiring] == [(150, 30), (150, 7)]
    # After the lot expired nothing more is said about it.
    shop.run_jobs(T0 + 181 * DAY)
    assert len(inbox.expiring) == 2


def test_events_are_delivered_at_least_once_and_with_a_stable_id(loyalty_at):
    class Flaky(Inbox):
        calls: list[dict]

        @hookimpl
        def loyalty_points_posted(self, event, program):
            self.calls = [*getattr(self, "calls", []), event]
            if len(self.calls) == 1:
                raise ConnectionError("CRM is down")
            self.posted.append(event)

    inbox = Flaky()
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[inbox])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "10.00", 1)]))
    shop.run_jobs(T0)
    assert inbox.posted == []  # the receiver failed; the event stays queued
    shop.run_jobs(T0 + DAY)
    assert [(e["kind"], e["points"]) for e in inbox.posted] == [("earn", 10)]
    shop.run_jobs(T0 + 2 * DAY)
    assert len(inbox.posted) == 1
    # The redelivery carries the same id, so receivers can deduplicate (as the hookspec promises).
    first, second = inbox.calls
    assert first.get("id") and first.get("id") == second.get("id")
    assert second.get("shop_id") == shop.shop_id


def test_a_failing_hook_is_retried_after_a_backoff_not_at_every_run(loyalty_at):
    class Down(Inbox):
        calls = 0

        @hookimpl
        def loyalty_points_posted(self, event, program):
            Down.calls += 1
            raise ConnectionError("CRM is down")

    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[Down()])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "10.00", 1)]))
    shop.run_jobs(T0)
    shop.run_jobs(T0)  # at once again: still waiting out its backoff
    assert Down.calls == 1
    shop.run_jobs(T0 + timedelta(hours=7))  # past the longest backoff
    assert Down.calls == 2


# -- tiers -------------------------------------------------------------------------------------


def test_the_tier_rises_when_points_release(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "600.00", 1)]))
    # Pending points do not qualify.
    assert books.tier("c1") == "bronze"
    report = books.run_jobs(T0 + 14 * DAY)
    assert report.tier_changes == 1
    assert books.tier("c1") == "silver"
    change = books.tier_history("c1")[-1]
    assert (change["from_tier"], change["to_tier"]) == ("bronze", "silver")
    assert "600" in change["reason"]
    assert change["inputs"]["value"] == 600


def test_a_tier_is_held_through_the_next_year_and_the_grace_period(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "1600.00", 1)]))
    books.run_jobs(T0 + 14 * DAY)
    assert books.tier("c1") == "gold"
    # Nothing earned in 2027: gold (earned in 2026) holds all of 2027...
    for moment in (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, 23, tzinfo=UTC)):
        books.run_jobs(moment)
        assert books.tier("c1") == "gold", moment
    # ...and 30 days of grace: it lapses at 2028-01-31 00:00 in the program's zone (UTC).
    books.run_jobs(datetime(2028, 1, 30, 23, 59, tzinfo=UTC))
    assert books.tier("c1") == "gold"
    report = books.run_jobs(datetime(2028, 1, 31, tzinfo=UTC))
    assert report.tier_changes == 1
    assert books.tier("c1") == "bronze"
    change = books.tier_history("c1")[-1]
    assert (change["from_tier"], change["to_tier"]) == ("gold", "bronze")
    assert change["reason"]


def test_a_tier_earned_again_in_the_next_year_is_kept(books, clock):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "600.00", 1)]))
    books.run_jobs(T0 + 14 * DAY)
    next_year = datetime(2027, 5, 1, tzinfo=UTC)
    clock.now = next_year
    books.record_order(order("o2", [("a", "550.00", 1)], at=next_year))
    books.run_jobs(next_year + 14 * DAY)
    # Silver re-qualified in 2027 is held through 2028 and its grace.
    books.run_jobs(datetime(2028, 12, 1, tzinfo=UTC))
    assert books.tier("c1") == "silver"
    books.run_jobs(datetime(2029, 2, 1, tzinfo=UTC))
    assert books.tier("c1") == "bronze"


def test_expiry_does_not_lower_a_tier(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))
    assert shop.tier("c1") == "silver"
    shop.run_jobs(T0 + 181 * DAY)  # the 600 points expire in 2026
    assert shop.balance("c1").available == 0
    assert shop.tier("c1") == "silver"


def test_a_late_first_run_sends_only_the_nearest_reminder(loyalty_at):
    inbox = Inbox()
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[inbox])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "250.00", 1)]))  # expires T0 + 180 days
    # The jobs first run 5 days before expiry: one "7 days" reminder, not a "30 days" one as well.
    assert shop.run_jobs(T0 + 175 * DAY).reminders == 1
    assert [(e["points"], e["days_left"]) for e in inbox.expiring] == [(250, 5)]
    shop.run_jobs(T0 + 176 * DAY)
    assert len(inbox.expiring) == 1


def test_points_given_back_after_a_failed_redemption_still_expire(loyalty_at):
    class PlatformDown:
        @hookimpl(tryfirst=True)
        def loyalty_issue_reward(self, redemption, member, shop):
            raise RuntimeError("platform unavailable")

    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[PlatformDown()])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))  # 600 points, expire T0 + 180 days
    with pytest.raises(RuntimeError):
        shop.redeem("c1", "5-off")
    assert shop.balance("c1").available == 600
    # The failed redemption must not turn expiring points into points that never expire.
    assert shop.run_jobs(T0 + 180 * DAY).expired_points == 600
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)
