"""Points for signing up, birthdays, reviews, follows and the shop's own activity kinds."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty_sdk.core.models import Activity, ActivityHistory, Member, MemberRef
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.plugins import activities

MEMBER = Member(1, "shop", "c1", None, None, datetime(2026, 1, 1, tzinfo=UTC))
HOST = PluginHost([activities], builtins=False, entry_points=False)
PROGRAM = program_from_mapping(
    {
        "activities": [
            {"kind": "signup", "points": 100, "per_lifetime": 1},
            {"kind": "birthday", "points": 200, "per_year": 1},
            {"kind": "review", "points": 50, "per_day": 1, "per_lifetime": 20},
            {"kind": "newsletter", "points": 1},
            {"kind": "paused", "points": 10, "per_day": 0},
        ]
    }
)


def earned(kind: str, today: int = 0, this_year: int = 0, lifetime: int = 0) -> list[tuple[int, str, str]]:
    activity = Activity(kind, MemberRef("c1"), datetime(2026, 6, 1, 12, tzinfo=UTC))
    history = ActivityHistory(today=today, this_year=this_year, lifetime=lifetime)
    return [(a.points, a.reason, a.rule_id) for a in HOST.activity_awards(activity, MEMBER, PROGRAM, history)]


def test_signing_up_earns_once() -> None:
    assert earned("signup") == [(100, "100 points for signing up", "activity.signup")]
    assert earned("signup", lifetime=1) == []


def test_a_birthday_earns_once_a_year_with_no_payload() -> None:
    assert earned("birthday", lifetime=3) == [(200, "200 points for your birthday", "activity.birthday")]
    assert earned("birthday", this_year=1, lifetime=4) == []


def test_reviews_earn_once_a_day() -> None:
    assert earned("review", today=0, this_year=5, lifetime=5) == [(50, "50 points for a review", "activity.review")]
    assert earned("review", today=1, this_year=6, lifetime=6) == []


def test_reviews_stop_earning_at_the_lifetime_limit() -> None:
    assert earned("review", lifetime=19) != []
    assert earned("review", lifetime=20) == []


def test_a_shop_defined_kind_earns_its_points() -> None:
    assert earned("newsletter", today=7, lifetime=300) == [(1, "1 point for newsletter", "activity.newsletter")]


def test_a_limit_of_zero_means_the_kind_earns_nothing() -> None:
    assert earned("paused") == []


def test_a_kind_the_program_does_not_name_earns_nothing() -> None:
    assert earned("tiktok_dance") == []
