"""The admin pages, signed in: dashboard, member search and profile, adjustments with their
audit, rewards issued, the program, the inbox and its dead letters."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from loyalty_sdk.core.storage import admin_audit, inbox
from loyalty_sdk.server import inbox as deliveries
from loyalty_sdk.server.platforms import Accepted

from .conftest import OTHER_SHOP, SHOP, form_value


@pytest.fixture(autouse=True)
def signed_in(sign_in):
    assert sign_in().status_code == 303


def audit_rows(runtime, action):
    with runtime.db.connect() as conn:
        return conn.execute(select(admin_audit).where(admin_audit.c.action == action)
                            .order_by(admin_audit.c.id)).all()


def test_the_dashboard_shows_the_analytics_with_inline_charts(client, runtime, clock):
    runtime.loyalty(SHOP).adjust("cust-7", 120, "welcome gift")
    clock.advance(minutes=1)  # the period ends now, exclusive
    page = client.get("/admin/").text
    assert "Points liability" in page and "1.20 USD" in page and "120 points outstanding" in page
    for chart in ("points liability over time", "members per tier", "cohort retention"):
        assert f'aria-label="{chart}"' in page
    assert "http://" not in page and "https://" not in page  # nothing is loaded from elsewhere


@pytest.mark.parametrize("query", ["ada@example.com", "ADA@", "lovelace", "cust-7"])
def test_members_are_found_by_email_name_or_platform_id(client, query):
    page = client.get("/admin/members", params={"q": query}).text
    assert "Ada Lovelace" in page and "Bob Other" not in page


def test_a_search_for_nothing_in_this_shop_says_so(client):
    assert "No member matches" in client.get("/admin/members", params={"q": "bob@example.com"}).text
    assert "No member matches" in client.get("/admin/members", params={"q": "%"}).text


def test_an_adjustment_needs_a_reason_and_lands_in_the_history_with_who_and_why(client, runtime, member_page):
    page = member_page()
    member = runtime.loyalty(SHOP).member("cust-7")
    form = {"points": "75", "reason": "", "csrf": form_value(page, "csrf"), "nonce": form_value(page, "nonce")}
    refused = client.post(f"/admin/members/{member.id}/adjustments", data=form)
    assert refused.status_code == 422 and "needs a reason" in refused.text
    form["reason"] = "parcel arrived late"
    posted = client.post(f"/admin/members/{member.id}/adjustments", data=form, follow_redirects=False)
    assert posted.status_code == 303
    again = client.post(f"/admin/members/{member.id}/adjustments", data=form, follow_redirects=False)
    assert again.status_code == 303  # the same form sent twice posts once
    assert runtime.loyalty(SHOP).balance("cust-7").available == 75
    page = client.get(posted.headers["location"]).text
    assert "Adjustment posted" in page and "parcel arrived late" in page and "by admin: admin key" in page
    [line] = runtime.loyalty(SHOP).history("cust-7")
    assert line.cause == {"actor": "admin: admin key", "reason": "parcel arrived late"}
    [row] = audit_rows(runtime, "adjust")
    assert (row.actor, row.shop_id) == ("admin key", SHOP)
    assert row.details == {"member_id": member.id, "points": 75, "reason": "parcel arrived late",
                           "transaction_id": line.id}
    assert "parcel arrived late" in client.get("/admin/audit").text


def test_removing_more_than_is_available_is_refused_on_the_page(client, runtime, member_page):
    page = member_page()
    member = runtime.loyalty(SHOP).member("cust-7")
    answer = client.post(f"/admin/members/{member.id}/adjustments",
                         data={"points": "-10", "reason": "oops", "csrf": form_value(page, "csrf")})
    assert answer.status_code == 409 and "needs 10 points" in answer.text
    assert runtime.loyalty(SHOP).history("cust-7") == []


def test_the_profile_shows_lots_with_expiry_progress_and_rewards_issued(client, runtime, member_page):
    loyalty = runtime.loyalty(SHOP)
    loyalty.adjust("cust-7", 600, "migration from the old program")
    redemption = loyalty.redeem("cust-7", "5-off", idempotency_key="r1")
    page = member_page()
    assert "Next tier: silver" in page and "migration from the old program" in page
    [lot] = loyalty.lots("cust-7")
    assert lot.expires_at.strftime("%Y-%m-%d") in page
    assert "5-off" in page and redemption.status in page
    assert "5-off" in client.get("/admin/rewards").text
    assert "5-off" not in client.get("/admin/rewards", params={"status": "void"}).text
    assert [row.details for row in audit_rows(runtime, "view_member")] == [{"member_id": redemption.member_id}]


def test_another_shops_member_is_not_found(client, runtime):
    bob = runtime.loyalty(OTHER_SHOP).member("cust-9")
    assert client.get(f"/admin/members/{bob.id}").status_code == 404


def test_the_program_is_shown_as_loaded(client, runtime):
    page = client.get("/admin/program").text
    program = runtime.loyalty(SHOP).program
    assert program.program.name in page and program.version in page and "free-shipping" in page


def dead_delivery(runtime, shop, dedup):
    accepted = Accepted(shop, "orders/paid", dedup)
    deliveries.store_many(runtime.db, [deliveries.row("custom", accepted, {}, b"{}", runtime.now())])
    with runtime.db.begin() as conn:
        conn.execute(update(inbox).where(inbox.c.dedup_key == dedup)
                     .values(status="dead", attempts=8, last_error="InvalidInput: no lines"))
        return conn.execute(select(inbox.c.id).where(inbox.c.dedup_key == dedup)).scalar_one()


def test_dead_deliveries_are_listed_shown_and_retried_for_this_shop_only(client, runtime):
    mine = dead_delivery(runtime, SHOP, "d-1")
    theirs = dead_delivery(runtime, OTHER_SHOP, "d-2")
    listing = client.get("/admin/inbox").text
    assert "no lines" in listing and f"/admin/inbox/{theirs}" not in listing
    assert client.get(f"/admin/inbox/{mine}").status_code == 200
    assert client.get(f"/admin/inbox/{theirs}").status_code == 404
    csrf = form_value(listing, "csrf")
    assert client.post("/admin/inbox/retry", data={"csrf": "nope"}).status_code == 403
    answer = client.post("/admin/inbox/retry", data={"csrf": csrf, "ids": str(mine)}, follow_redirects=False)
    assert answer.status_code == 303 and "retried=1" in answer.headers["location"]
    assert "1 delivery queued again" in client.get(answer.headers["location"]).text
    with runtime.db.connect() as conn:
        statuses = dict(conn.execute(select(inbox.c.id, inbox.c.status)).all())
    assert statuses == {mine: "pending", theirs: "dead"}
    [row] = audit_rows(runtime, "retry_deliveries")
    assert row.details == {"ids": [mine], "count": 1}
