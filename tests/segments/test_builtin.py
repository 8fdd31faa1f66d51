"""Each built-in segment against a hand-built set of members: exactly who is in it, and the
figures that put them there, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.segments import SegmentNotFound, export

from . import T0, buy, customers


@pytest.fixture
def books(loyalty_at):
    return loyalty_at()


def test_tier_segments_list_the_members_holding_each_tier(books):
    books.enroll("a")
    buy(books, "b", 600, days_ago=5)
    buy(books, "c", 1600, days_ago=5)
    assert customers(export(books, "tier-bronze")) == ["a"]
    assert customers(export(books, "tier-silver")) == ["b"]
    gold = export(books, "tier-gold")
    assert customers(gold) == ["c"]
    assert gold.members[0]["tier"] == "gold" and gold.members[0]["balance"] == 1600


def test_rfm_scores_are_quintiles_of_the_members_ranked(books):
    buy(books, "a", 50, days_ago=300)
    for days in (200, 150):
        buy(books, "b", 10, days_ago=days)
    for days in (100, 90, 80):
        buy(books, "c", 100, days_ago=days)
    for days in (50, 40):
        buy(books, "d", 5, days_ago=days)
    buy(books, "e", 30, days_ago=10)
    buy(books, "f", 1000, days_ago=400)  # outside the year: not scored
    result = export(books, "rfm")
    scores = {row["customer_id"]: (row["rfm"], row["orders"], row["spend"]) for row in result.members}
    # Recency ranks a < b < c < d < e; frequency ties a = e (1 order) and b = d (2 orders), which
    # share the lower rank; monetary d < b < e < a < c.
    assert scores == {"a": ("114", 1, "50.00"), "b": ("232", 2, "20.00"), "c": ("355", 3, "300.00"),
                      "d": ("431", 2, "10.00"), "e": ("513", 1, "30.00")}
    assert result.columns[6:] == ("last_order_at", "orders", "spend", "r", "f", "m", "rfm")
    assert export(books, "rfm", {"days": "1"}).csv() == (
        "member_id,customer_id,email,name,tier,balance,last_order_at,orders,spend,r,f,m,rfm\n")
    assert customers(export(books, "rfm", {"min_r": "4"})) == ["d", "e"]
    assert customers(export(books, "rfm", {"days": "500", "min_m": "5"})) == ["f"]


def test_at_risk_members_stopped_ordering_for_longer_than_their_usual_gap(books):
    for days in (100, 90, 80):
        buy(books, "regular-gone-quiet", 10, days_ago=days)
    for days in (200, 100):
        buy(books, "slow-anyway", 10, days_ago=days)  # usual gap 100 days: 100 days is normal
    for days in (30, 20):
        buy(books, "recent", 10, days_ago=days)
    buy(books, "one-order", 10, days_ago=120)  # no gap to compare with
    for days in (119, 60):
        buy(books, "just-at-the-limit", 10, days_ago=days)
    result = export(books, "at-risk")
    assert customers(result) == ["regular-gone-quiet", "just-at-the-limit"]
    figures = {row["customer_id"]: (row["days_since_order"], row["usual_gap_days"], row["orders"])
               for row in result.members}
    assert figures == {"regular-gone-quiet": (80, 10, 3), "just-at-the-limit": (60, 59, 2)}
    assert customers(export(books, "at-risk", {"days": "90"})) == []
    # Over 30 days, only the regular's gap is shorter; "recent" ordered 20 days ago.
    assert customers(export(books, "at-risk", {"days": "30"})) == ["regular-gone-quiet"]


def test_points_expiring_within_the_horizon(books):
    buy(books, "soon", 40, days_ago=160)  # expires in 20 days
    buy(books, "later", 40, days_ago=140)  # in 40 days
    buy(books, "past", 40, days_ago=185)  # expired 5 days ago (the job has not run): not "expiring"
    buy(books, "two-lots", 10, days_ago=170)
    buy(books, "two-lots", 15, days_ago=155)
    result = export(books, "points-expiring")
    assert customers(result) == ["soon", "two-lots"]
    by = {row["customer_id"]: row for row in result.members}
    assert by["soon"]["expiring_points"] == 40
    assert by["two-lots"]["expiring_points"] == 25
    assert by["two-lots"]["first_expiry"] == T0 + timedelta(days=10)
    assert customers(export(books, "points-expiring", {"days": "45"})) == ["soon", "later", "two-lots"]


def test_near_next_tier_counts_this_period_against_the_next_threshold(books):
    buy(books, "close-to-silver", 460, days_ago=10)
    buy(books, "not-close", 440, days_ago=10)
    buy(books, "silver", 600, days_ago=10)
    buy(books, "close-to-gold", 1400, days_ago=10)
    buy(books, "gold", 1600, days_ago=10)
    buy(books, "last-year", 490, days_ago=77)  # 2025-12-15: last year's points do not count now
    result = export(books, "near-next-tier")
    assert customers(result) == ["close-to-silver", "close-to-gold"]
    assert [(r["next_tier"], r["current"], r["threshold"], r["needed"]) for r in result.members] == [
        ("silver", 460, 500, 40), ("gold", 1400, 1500, 100)]
    assert customers(export(books, "near-next-tier", {"pct": "12.5"})) == [
        "close-to-silver", "not-close", "close-to-gold"]


def test_never_redeemed(books):
    buy(books, "redeemer", 600, days_ago=3)
    books.redeem("redeemer", "5-off")
    buy(books, "saver", 300, days_ago=3)
    books.enroll("newcomer")
    assert customers(export(books, "never-redeemed")) == ["saver", "newcomer"]
    assert customers(export(books, "never-redeemed", {"min_points": "100"})) == ["saver"]


def test_an_export_names_each_member_and_why(books):
    buy(books, "soon", 40, days_ago=160)
    result = export(books, "points-expiring")
    assert result.columns == ("member_id", "customer_id", "email", "name", "tier", "balance", "expiring_points",
                              "first_expiry")
    row = result.members[0]
    assert (row["email"], row["name"], row["tier"], row["balance"]) == ("soon@example.com", "SOON", "bronze", 40)


def test_redacted_members_stay_in_a_segment_without_personal_data(books):
    buy(books, "soon", 40, days_ago=160)
    buy(books, "forgotten", 50, days_ago=160)
    books.redact("forgotten")
    rows = export(books, "points-expiring").as_dict()["members"]
    assert [(r["customer_id"], r["email"], r["name"], r["expiring_points"]) for r in rows] == [
        ("soon", "soon@example.com", "SOON", 40), (None, None, None, 50)]


def test_segments_are_scoped_to_their_shop(books):
    buy(books, "here", 40, days_ago=160)
    other = books.for_shop("elsewhere")
    other.books.ensure_shop()
    buy(other, "there", 40, days_ago=160)
    assert customers(export(books, "points-expiring")) == ["here"]
    assert customers(export(other, "points-expiring")) == ["there"]


def test_unknown_segments_and_parameters_are_refused(books):
    with pytest.raises(SegmentNotFound, match="no segment 'nope'"):
        export(books, "nope")
    with pytest.raises(InvalidInput, match="has no parameter 'weeks'"):
        export(books, "at-risk", {"weeks": "3"})
    with pytest.raises(InvalidInput, match="days must be a whole number"):
        export(books, "at-risk", {"days": "soon"})
