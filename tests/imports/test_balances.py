"""``import_balances``: starting balances, tiers, lifetime points and expiry from another program."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty_sdk.core.errors import InvalidInput, MemberNotFound
from loyalty_sdk.core.storage import admin_audit
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.imports import import_balances

from .conftest import ledger_size

GENERIC = '''customer_id,email,balance,tier,lifetime_points,expires_at,name
c1,ada@example.com,1500,Gold VIP,4200,2027-01-31,"Lovelace, Ada"
,Bob@Example.com,300,,,,Bob
c3,,0,silver,800,,
c4,,12.5,,,,
c5,,-20,,,,
,,100,,,,Nobody
c6,,100,platinum,,,
c7,,100,,,2026-05-01,
c1,,5,,,,
c8,not-an-email,5,,,,
'''


@pytest.fixture
def generic(write: Callable[[str, str], Path]) -> Path:
    return write("members.csv", GENERIC)


def test_members_get_their_standing_and_awkward_rows_are_reported(loyalty: Loyalty, generic: Path) -> None:
    result = import_balances(loyalty, generic, actor="ops@example.com")
    assert [(row.line, row.reason) for row in result.bad_rows] == [
        (5, "balance '12.5' is not a whole number of points (write 52620, no separators or decimals)"),
        (6, "balance '-20' is not a whole number of points (write 52620, no separators or decimals)"),
        (7, "names no customer: customer_id and email are both empty"),
        (8, "tier 'platinum' is not a tier of this program (tiers: member, silver, gold)"),
        (9, "expires_at 2026-05-02T00:00:00+00:00 has already passed"),
        (10, "member c1 already appears on line 2"),
        (11, "email 'not-an-email' is not an email address"),
    ]
    assert (result.imported, result.unchanged, result.enrolled, result.points) == (3, 0, 3, 1800)
    ada = loyalty.balance("c1")
    assert (ada.available, ada.lifetime_points, ada.tier) == (1500, 4200, "gold")
    assert loyalty.member("c1").name == "Lovelace, Ada"  # the quoted comma stays in the name
    (lot,) = loyalty.lots("c1")
    assert lot.remaining == 1500 and lot.expires_at == datetime(2027, 2, 1, tzinfo=UTC)  # through Jan 31st
    bob = loyalty.balance("bob@example.com")
    assert (bob.available, bob.lifetime_points, bob.tier) == (300, 300, "member")  # lifetime: at least the balance
    (bob_lot,) = loyalty.lots("bob@example.com")
    assert bob_lot.expires_at == datetime(2027, 6, 1, 12, tzinfo=UTC)  # the program's own expiry
    c3 = loyalty.balance("c3")
    assert (c3.available, c3.lifetime_points, c3.tier) == (0, 800, "silver")
    assert loyalty.doctor()["ok"]
    for name in ("c4", "c5", "c6", "c7", "c8"):
        with pytest.raises(MemberNotFound):
            loyalty.member(name)


def test_transactions_name_the_source_and_the_actor(loyalty: Loyalty, generic: Path) -> None:
    import_balances(loyalty, generic, actor="ops@example.com")
    history = loyalty.history("c1")
    reasons = sorted(line.reason for line in history)
    assert reasons == ["imported from CSV members.csv: 4,200 lifetime points, tier gold",
                       "starting balance imported from CSV members.csv"]
    assert all(line.cause["actor"] == "ops@example.com" and line.cause["source"] == "CSV members.csv"
               and line.cause["line"] == 2 for line in history)
    (change,) = loyalty.tier_history("c1")[-1:]
    assert change["to_tier"] == "gold"
    with loyalty.books.read() as conn:
        (audit,) = conn.execute(select(admin_audit)).all()
    assert (audit.actor, audit.action, audit.details["imported"], audit.details["bad_rows"]) == (
        "ops@example.com", "import_balances", 3, 7)


def test_an_imported_tier_survives_the_re_tier_job(loyalty: Loyalty, generic: Path, clock) -> None:
    import_balances(loyalty, generic)
    clock.advance(days=200)  # still within the next calendar year's hold
    loyalty.run_jobs()
    assert loyalty.tier("c1") == "gold" and loyalty.tier("c3") == "silver"


def test_importing_twice_changes_nothing_the_second_time(open_loyalty, loyalty_database_url: str,
                                                          generic: Path) -> None:
    loyalty = open_loyalty(loyalty_database_url)
    first = import_balances(loyalty, generic)
    size = ledger_size(loyalty)
    again = import_balances(loyalty, generic)
    assert (again.imported, again.unchanged, again.points) == (0, 3, 0)
    assert {change.status for change in again.members} == {"unchanged"}
    assert ledger_size(loyalty) == size
    assert loyalty.balance("c1").available == 1500 and loyalty.balance("c1").lifetime_points == 4200
    assert first.imported == 3


def test_the_same_source_with_other_values_is_refused(loyalty: Loyalty, write) -> None:
    import_balances(loyalty, write("a.csv", "customer_id,balance\nc1,100\nc2,50\n"), source="legacy app")
    result = import_balances(loyalty, write("b.csv", "customer_id,balance\nc1,999\nc2,50\nc3,10\n"),
                             source="legacy app")
    assert [(row.line, row.reason) for row in result.bad_rows] == [
        (2, "c1 was already imported from 'legacy app' with other values")]
    assert (result.imported, result.unchanged) == (1, 1)
    assert loyalty.balance("c1").available == 100
    preview = import_balances(loyalty, write("b.csv", "customer_id,balance\nc1,999\n"), source="legacy app",
                              dry_run=True)
    assert [row.reason for row in preview.bad_rows] == ["c1 was already imported from 'legacy app' with other values"]
    # Another source is another import: it adds.
    import_balances(loyalty, write("c.csv", "customer_id,balance\nc1,25\n"), source="second app")
    assert loyalty.balance("c1").available == 125


def test_a_dry_run_shows_each_change_and_writes_nothing(loyalty: Loyalty, generic: Path) -> None:
    loyalty.enroll("c3")
    size = ledger_size(loyalty)
    result = import_balances(loyalty, generic, dry_run=True)
    assert ledger_size(loyalty) == size
    changes = {change.member: change for change in result.members}
    assert (changes["c1"].status, changes["c1"].enrolled, changes["c1"].balance, changes["c1"].tier_after) == (
        "would import", True, 1500, "gold")
    assert (changes["c3"].enrolled, changes["c3"].tier_before, changes["c3"].tier_after) == (False, "member", "silver")
    assert changes["bob@example.com"].tier_after == "member"
    assert len(result.bad_rows) == 7
    with loyalty.books.read() as conn:
        assert conn.execute(select(admin_audit)).first() is None
    import_balances(loyalty, generic)
    assert {c.status for c in import_balances(loyalty, generic, dry_run=True).members} == {"unchanged"}


def test_strict_stops_at_the_first_bad_row_with_nothing_written(loyalty: Loyalty, generic: Path, write) -> None:
    with pytest.raises(InvalidInput, match=r"members\.csv:5: balance '12\.5'"):
        import_balances(loyalty, generic, strict=True)
    assert ledger_size(loyalty) == (0, 0)
    # A row the program refuses (an unknown tier) is found before any member is written too.
    late = write("late.csv", "customer_id,balance,tier\nc1,10,\nc2,10,\nc3,10,diamond\n")
    with pytest.raises(InvalidInput, match=r"late\.csv:4: tier 'diamond'"):
        import_balances(loyalty, late, strict=True)
    assert ledger_size(loyalty) == (0, 0)


def test_smile_points_csv(loyalty: Loyalty, write) -> None:
    path = write("smile.csv", "email,points\nada@example.com,52620\nbob@example.com,52,620\n,5\n")
    result = import_balances(loyalty, path, "smile")
    assert result.source == "smile.io export smile.csv"
    assert loyalty.balance("ada@example.com").available == 52620
    # An unquoted thousands comma splits the row: Smile's own guide warns against it.
    assert [(row.line, row.reason) for row in result.bad_rows] == [(4, "email is empty")]
    assert loyalty.balance("bob@example.com").available == 52


def test_yotpo_customer_csv(loyalty: Loyalty, write) -> None:
    path = write("yotpo.csv", "First Name,Last Name,Email,Points Balance,Points Spent\n"
                              "Ada,Lovelace,ada@example.com,700,300\nBob,,bob@example.com,0,0\n"
                              "Eve,,eve@example.com,1.5,0\n")
    result = import_balances(loyalty, path, "yotpo")
    ada = loyalty.balance("ada@example.com")
    assert (ada.available, ada.lifetime_points) == (700, 1000)  # lifetime: balance plus spent
    assert loyalty.member("ada@example.com").name == "Ada Lovelace"
    assert loyalty.balance("bob@example.com").available == 0
    assert [row.line for row in result.bad_rows] == [4]


def test_missing_columns_and_unknown_formats(loyalty: Loyalty, write) -> None:
    with pytest.raises(InvalidInput, match="missing column.*points"):
        import_balances(loyalty, write("x.csv", "email,balance\na@b.c,1\n"), "smile")
    with pytest.raises(InvalidInput, match="unknown balance file format 'loyaltylion'"):
        import_balances(loyalty, write("y.csv", "email\n"), "loyaltylion")
