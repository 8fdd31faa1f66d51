"""A member's referrals on their admin profile, for programs with a [referrals] section."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings

from .conftest import ADMIN_KEY, SHOP

PROGRAM = {"earn": {"pending_days": 0}, "referrals": {"referee_points": 200, "referrer_points": 500}}


@pytest.fixture
def runtime(database_url: str, clock: Any) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, secret_key="test-secret", api_key=ADMIN_KEY)
    with Runtime(settings, program=PROGRAM, clock=clock, entry_points=False) as runtime:
        runtime.add_shop(SHOP, "custom")
        runtime.loyalty(SHOP).enroll("cust-7", email="ada@example.com", name="Ada Lovelace")
        yield runtime


def test_the_profile_lists_the_members_referrals_with_what_became_of_them(sign_in, member_page, runtime, clock):
    assert sign_in().status_code == 303
    loyalty = runtime.loyalty(SHOP)
    code = loyalty.referral_code("cust-7").code
    loyalty.refer(code, "bob@example.com")
    loyalty.refer(code, "ada@example.com")  # herself: refused
    loyalty.record_order(Order("1001", MemberRef(email="bob@example.com"), clock(), "USD",
                               [LineItem("1", 1, Money("30.00", "USD"))]))
    loyalty.run_jobs(clock() + timedelta(days=1))
    page = member_page()
    assert "<h2>Referrals</h2>" in page
    assert ">rewarded<" in page and ">refused<" in page and "a member cannot refer themselves" in page
    bob = loyalty.member("bob@example.com")
    assert f'/admin/members/{bob.id}"' in page and "1001" in page
