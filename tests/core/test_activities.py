"""Points for things members do besides buying, with their limits, through the facade.

The test program: signup 100 (once per lifetime), review 50 (once a day, three per lifetime),
birthday 200 (once a year). Activities earn available points unless a rule says pending.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty_sdk.core.models import Activity, MemberRef

from . import T0, assert_books_ok, base_program

DAY = timedelta(days=1)
NEW_YORK = ZoneInfo("America/New_York")



@pytest.fixture
def shop(books):
    books.enroll("c1")
    return books


def act(kind, at=T0, activity_id=None, customer="c1", **payload):
    return Activity(kind, MemberRef.parse(customer), at, activity_id=activity_id, payload=payload)


def test_an_activity_earns_available_points_and_says_why(shop):
    posted = shop.record_activity(act("signup"))
    assert posted is not None and (posted.points, posted.replayed) == (100, False)
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (100, 0)
    [line] = shop.history("c1")
    assert (line.kind, line.points, line.rules) == ("activity", 100, ("activity.signup",))
    assert "signing up" in line.reason
    assert_books_ok(shop)


def test_signup_earns_once_per_lifetime(shop):
    assert shop.record_activity(act("signup")).points == 100
    assert shop.record_activity(act("signup", T0 + DAY)) is None
    assert shop.record_activity(act("signup", T0 + 400 * DAY)) is None
    assert shop.balance("c1").available == 100


def test_reviews_earn_once_a_day_and_three_times_in_all(shop):
    earned = [shop.record_activity(act("review", T0 + timedelta(hours=h))) for h in (0, 1, 2)]
    # Three reviews on one day: only the first earns.
    assert [p.points if p else 0 for p in earned] == [50, 0, 0]
    later = [shop.record_activity(act("review", T0 + n * DAY)) for n in (1, 2, 3, 4)]
    # One a day on the next days until the lifetime limit of 3.
    assert [p.points if p else 0 for p in later] == [50, 50, 0, 0]
    assert shop.balance("c1").available == 150
    assert_books_ok(shop)


def test_a_birthday_earns_once_a_year(shop):
    assert shop.record_activity(act("birthday", T0)).points == 200
    assert shop.record_activity(act("birthday", T0 + 30 * DAY)) is None
    assert shop.record_activity(act("birthday", T0 + 365 * DAY)).points == 200
    assert shop.balance("c1").available == 400


def test_daily_limits_follow_the_programs_clock(loyalty_at):
    shop = loyalty_at(program=base_program(program={"timezone": "America/New_York"}))
    shop.enroll("c1")
    evening = datetime(2026, 3, 2, 20, 0, tzinfo=NEW_YORK)  # 01:00 UTC on March 3rd
    late = datetime(2026, 3, 2, 22, 0, tzinfo=NEW_YORK)  # 03:00 UTC, still March 2nd in New York
    after_midnight = datetime(2026, 3, 3, 0, 30, tzinfo=NEW_YORK)  # 05:30 UTC, March 3rd in New York
    assert shop.record_activity(act("review", evening)).points == 50
    assert shop.record_activity(act("review", late)) is None
    assert shop.record_activity(act("review", after_midnight)).points == 50


def test_an_unknown_kind_earns_nothing(shop):
    assert shop.record_activity(act("newsletter")) is None
    assert shop.balance("c1").available == 0
    assert shop.history("c1") == []


def test_the_same_activity_id_is_a_replay(shop):
    first = shop.record_activity(act("review", activity_id="review-77"))
    again = shop.record_activity(act("review", activity_id="review-77"))
    assert again is not None and again.replayed and again.transaction_id == first.transaction_id
    assert shop.balance("c1").available == 50


def test_a_custom_activity_can_wait_out_the_return_window(loyalty_at):
    activities = [{"kind": "referral", "points": 300, "pending": True}]
    shop = loyalty_at(program=base_program(activities=activities))
    shop.enroll("c1")
    assert shop.record_activity(act("referral", friend="c9")).points == 300
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 300)
    shop.run_jobs(T0 + 14 * DAY)
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (300, 0)
    assert_books_ok(shop)


def test_activity_points_count_toward_tiers_and_adjustments_do_not(loyalty_at):
    shop = loyalty_at(program=base_program(activities=[{"kind": "review", "points": 300, "per_day": 1}]))
    shop.enroll("c1")
    shop.adjust("c1", 1000, "migration from the old program")
    assert shop.tier("c1") == "bronze"  # adjustments do not qualify
    shop.record_activity(act("review", T0))
    assert shop.tier("c1") == "bronze"  # 300 < 500
    shop.record_activity(act("review", T0 + DAY))
    assert shop.tier("c1") == "silver"  # 600 >= 500
