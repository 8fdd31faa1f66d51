"""Member messages e-mailed through a real SMTP server on 127.0.0.1: what each member receives,
in which language, and that nothing is sent twice, even across an SMTP outage."""

from __future__ import annotations

import pytest

from loyalty_sdk.core import tenancy
from loyalty_sdk.core.models import Activity, MemberRef
from loyalty_sdk.messages.channels import Message, SmtpChannel
from loyalty_sdk.server.scheduler import Scheduler
from loyalty_sdk.settings import Settings

from . import SHOP, bodies, buy, join


def test_points_earned_and_a_new_tier_are_mailed_once(runtime, smtp_server, run_scheduler):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "ada", name="Ada")
    buy(loyalty, "ada", 600, "o1")
    run_scheduler()
    inbox = smtp_server.inbox
    assert sorted(inbox.subjects("ada@example.com")) == [
        "Welcome to Silver at Northwind Rewards", "You earned 600 points with Northwind Rewards"]
    earned = next(m for m in inbox.to("ada@example.com") if "earned" in str(m["subject"]))
    assert earned["to"] == "Ada <ada@example.com>"
    assert earned["from"] == "Northwind <rewards@north.example>"
    text, html = bodies(earned)
    assert "Hi Ada," in text and "for order o1" in text and "Your balance: 600 points." in text
    assert "<strong>600 points</strong>" in html
    tier_text, _ = bodies(next(m for m in inbox.to("ada@example.com") if "Silver" in str(m["subject"])))
    assert "You are now a Silver member." in tier_text and "- free shipping" in tier_text

    run_scheduler()
    run_scheduler()
    assert len(inbox.received) == 2


def test_members_without_marketing_consent_get_only_transactional_messages(runtime, smtp_server, run_scheduler,
                                                                            clock):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "bob", consent="unsubscribed")
    join(loyalty, "cy", consent=None)  # the store never said: no marketing either
    buy(loyalty, "bob", 600, "o1")
    buy(loyalty, "cy", 100, "o2")
    loyalty.redeem("bob", "5-off")
    loyalty.record_activity(Activity(kind="birthday", member=MemberRef(customer_id="bob"), occurred_at=clock.now))
    run_scheduler()
    assert smtp_server.inbox.subjects("bob@example.com") == ["Your reward from Northwind Rewards: $5 off"]
    assert smtp_server.inbox.subjects("cy@example.com") == []

    clock.advance(days=160)  # their lots now expire within the 30-day reminder horizon
    run_scheduler()
    assert smtp_server.inbox.subjects("bob@example.com")[1:] == [
        "300 of your Northwind Rewards points expire on 2026-08-29"]
    assert smtp_server.inbox.subjects("cy@example.com") == [
        "100 of your Northwind Rewards points expire on 2026-08-29"]


def test_a_consenting_member_gets_the_birthday_bonus(runtime, smtp_server, run_scheduler, clock):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "dee", name="Dee")
    loyalty.record_activity(Activity(kind="birthday", member=MemberRef(customer_id="dee"), occurred_at=clock.now))
    run_scheduler()
    assert smtp_server.inbox.subjects("dee@example.com") == ["Happy birthday from Northwind Rewards: 200 points for you"]
    text, _ = bodies(smtp_server.inbox.to("dee@example.com")[0])
    assert "Happy birthday, Dee!" in text and "200 bonus points" in text


def test_a_reminder_covers_every_lot_of_one_run_in_one_message(runtime, smtp_server, run_scheduler, clock):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "eve", consent="unsubscribed")
    buy(loyalty, "eve", 10, "o1", days_ago=3)
    buy(loyalty, "eve", 15, "o2")
    run_scheduler()
    clock.advance(days=165)
    run_scheduler()
    run_scheduler()
    assert smtp_server.inbox.subjects("eve@example.com") == [
        "25 of your Northwind Rewards points expire on 2026-08-26"]
    text, _ = bodies(smtp_server.inbox.to("eve@example.com")[0])
    assert "25 of your points expire on 2026-08-26 (12 days from now)" in text


def test_templates_are_overridden_per_locale_and_per_shop(runtime, smtp_server, run_scheduler, templates):
    (templates / "fr").mkdir()
    (templates / "fr" / "points_earned.subject.txt").write_text("Vous avez gagné {{ points }} points")
    (templates / "north.example" / "fr").mkdir(parents=True)
    (templates / "north.example" / "fr" / "points_earned.txt").write_text("Bonjour {{ member.name }} !")
    with runtime.db.execution_options(loyalty_write=True).begin() as conn:
        tenancy.change_settings(conn, SHOP, {"locale": "fr-CA"}, [])
    runtime.forget(SHOP)
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "flo", name="Flo")
    buy(loyalty, "flo", 40, "o1")
    run_scheduler()
    mail = smtp_server.inbox.to("flo@example.com")[0]
    assert mail["subject"] == "Vous avez gagné 40 points"
    text, html = bodies(mail)
    assert text.strip() == "Bonjour Flo !"
    assert "You earned <strong>40 points</strong>" in html  # no French HTML: the built-in one
    assert 'lang="fr-CA"' in html


def test_html_bodies_escape_what_members_typed(runtime, smtp_server, run_scheduler):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "gus", name="<b>Gus</b> & Co")
    buy(loyalty, "gus", 40, "o1")
    run_scheduler()
    text, html = bodies(smtp_server.inbox.to("gus@example.com")[0])
    assert "&lt;b&gt;Gus&lt;/b&gt; &amp; Co" in html and "<b>Gus</b>" not in html
    assert "Hi <b>Gus</b> & Co," in text


def test_redacted_members_are_not_mailed(runtime, smtp_server, run_scheduler):
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "hal")
    buy(loyalty, "hal", 40, "o1")
    loyalty.redact("hal")
    run_scheduler()
    assert smtp_server.inbox.received == []


def test_an_smtp_outage_is_retried_later_and_mailed_once(make_runtime, smtp_server, clock):
    smtp_server.stop()  # down: nothing listens on its port
    runtime = make_runtime(smtp_server.port)
    scheduler = Scheduler(runtime, name="test-scheduler")
    loyalty = runtime.loyalty(SHOP)
    join(loyalty, "ida")
    buy(loyalty, "ida", 40, "o1")
    scheduler.run_once()
    smtp_server.start()
    scheduler.run_once()  # not due yet: the retry waits out its backoff
    assert smtp_server.inbox.received == []
    clock.advance(hours=7)  # past the longest first backoff
    scheduler.run_once()
    scheduler.run_once()
    clock.advance(hours=7)
    scheduler.run_once()
    assert smtp_server.inbox.subjects("ida@example.com") == ["You earned 40 points with Northwind Rewards"]


def test_a_batch_of_messages_shares_one_smtp_connection(runtime, smtp_server, run_scheduler):
    loyalty = runtime.loyalty(SHOP)
    for customer in ("ada", "bea", "cyd"):
        join(loyalty, customer)
        buy(loyalty, customer, 40, f"o-{customer}")
    run_scheduler()
    assert len(smtp_server.inbox.received) == 3
    assert len(set(smtp_server.inbox.peers)) == 1  # one handshake for the batch, not one per mail


def _message(number: int) -> Message:
    return Message(key=f"k{number}", shop_id=SHOP, kind="points_posted", category="transactional", member_id=1,
                   to="ada@example.com", name="Ada", customer_id="ada", locale="en", subject=f"mail {number}",
                   text="hello", html="<p>hello</p>")


def test_a_connection_the_server_dropped_between_two_sends_is_opened_again(smtp_server):
    channel = SmtpChannel(Settings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls=False))
    channel.send(_message(1))
    smtp_server.stop()  # the server goes away, and comes back: the channel's connection is dead
    smtp_server.start()
    channel.send(_message(2))
    channel.close()
    assert smtp_server.inbox.subjects() == ["mail 1", "mail 2"]
    # With no server at all, the failure is the caller's to retry, and nothing is left open.
    smtp_server.stop()
    with pytest.raises(OSError):
        channel.send(_message(3))
    channel.close()
