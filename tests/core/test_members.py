"""Members: enrolling, finding by customer id, email or internal id, and the entry tier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty_sdk.core.errors import InvalidInput, MemberExists, MemberNotFound
from loyalty_sdk.core.models import MemberRef

from . import T0, order, snapshot

DAY = timedelta(days=1)



def test_a_new_member_starts_in_the_entry_tier_with_nothing(books):
    member = books.enroll("c1", email="Ada@Example.com", name="Ada")
    assert (member.customer_id, member.email, member.name) == ("c1", "ada@example.com", "Ada")
    assert (member.available, member.pending, member.lifetime_points) == (0, 0, 0)
    assert member.tier == "bronze"
    assert member.enrolled_at == T0
    [change] = books.tier_history("c1")
    assert (change["from_tier"], change["to_tier"]) == (None, "bronze")


def test_a_member_is_found_by_customer_id_email_or_internal_id(books):
    member = books.enroll("c1", email="ada@example.com")
    assert books.member("c1").id == member.id
    assert books.member("ADA@example.com").id == member.id
    assert books.member(member.id).id == member.id
    assert books.member(MemberRef(customer_id="c1")).id == member.id
    assert books.member(MemberRef(email="ada@example.com")).id == member.id


def test_an_email_only_member_earns_by_email(books):
    books.enroll(email="bo@example.com")
    assert books.record_order(order("o1", [("a", "42.00", 1)], customer="bo@example.com")).points == 42
    assert books.balance("bo@example.com").pending == 42


def test_enrolling_twice_is_refused(books):
    books.enroll("c1", email="ada@example.com")
    before = snapshot(books, "c1")
    with pytest.raises(MemberExists) as caught:
        books.enroll("c1")
    assert "c1" in str(caught.value)
    with pytest.raises(MemberExists):
        books.enroll(email="ada@example.com")
    assert snapshot(books, "c1") == before
    assert books.summary()["members"] == 1


def test_an_unknown_member_is_not_found_by_name(books):
    with pytest.raises(MemberNotFound) as caught:
        books.balance("nobody")
    assert caught.value.value == "nobody" and "nobody" in str(caught.value)
    with pytest.raises(MemberNotFound):
        books.member(999)
    with pytest.raises(MemberNotFound):
        books.history("ghost@example.com")


def test_a_member_reference_needs_something_to_go_by(books):
    with pytest.raises(InvalidInput):
        books.enroll()
    with pytest.raises(InvalidInput):
        books.balance("  ")


def test_the_summary_counts_members_and_their_tiers(books):
    books.enroll("c1")
    books.enroll("c2")
    books.record_order(order("o1", [("a", "700.00", 1)], customer="c2"))
    books.run_jobs(T0 + 14 * DAY)
    summary = books.summary()
    assert summary["members"] == 2
    assert summary["tiers"] == {"bronze": 1, "silver": 1, "gold": 0}
    # 700 points outstanding at $0.01 each.
    assert summary["liability"] == {"amount": "7.00", "currency": "USD"}
