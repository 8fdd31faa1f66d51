"""The member message queue from the command line: a message that died in an SMTP outage is
listed with its error, and sent once after ``loyalty messages retry``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from test_cli import as_json, assert_clean_error, invoke

from loyalty_sdk.messages.delivery import MAX_ATTEMPTS
from loyalty_sdk.server.scheduler import Scheduler

from . import SHOP, buy, join


def _env(database_url: str) -> dict[str, str | None]:
    import os

    return {**{name: None for name in os.environ if name.startswith("LOYALTY_")}, "LOYALTY_DATABASE_URL": database_url}


def test_a_dead_message_is_listed_and_sent_once_after_a_retry(make_runtime, smtp_server, clock, database_url):
    smtp_server.stop()  # down for longer than every attempt lasts
    runtime = make_runtime(smtp_server.port)
    scheduler = Scheduler(runtime, name="test-scheduler")
    join(runtime.loyalty(SHOP), "ida")
    buy(runtime.loyalty(SHOP), "ida", 40, "o1")
    for _ in range(MAX_ATTEMPTS + 1):
        scheduler.run_once()
        clock.advance(hours=7)  # past the longest backoff
    env = _env(database_url)
    dead = as_json(invoke(["messages", "list", "--status", "dead", "--json"], env))
    assert dead["counts"] == {"pending": 0, "sent": 0, "skipped": 0, "dead": 1}
    [message] = dead["messages"]
    assert (message["shop_id"], message["channel"], message["attempts"]) == (SHOP, "email", MAX_ATTEMPTS)
    assert message["last_error"]

    smtp_server.start()
    scheduler.run_once()
    assert smtp_server.inbox.received == []  # dead means given up, until someone says otherwise
    assert as_json(invoke(["messages", "retry", "--all", "--shop", "elsewhere.example", "--json"], env)) == \
        {"retried": 0}
    assert as_json(invoke(["messages", "retry", str(message["id"]), "--json"], env)) == {"retried": 1}
    clock.now = max(clock.now, datetime.now(UTC)) + timedelta(minutes=1)  # retried as of the real time
    scheduler.run_once()
    scheduler.run_once()
    assert smtp_server.inbox.subjects("ida@example.com") == ["You earned 40 points with Northwind Rewards"]
    assert as_json(invoke(["messages", "list", "--json"], env))["counts"] == \
        {"pending": 0, "sent": 1, "skipped": 0, "dead": 0}
    assert invoke(["messages", "list"], env).exit_code == 0


def test_retry_needs_ids_or_all_and_list_a_known_status(database_url):
    env = _env(database_url)
    assert_clean_error(invoke(["messages", "retry"], env), "--all")
    assert_clean_error(invoke(["messages", "list", "--status", "lost"], env), "pending, sent, skipped, dead")
