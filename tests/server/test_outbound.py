"""Outbound webhooks: a shop's events reach its endpoints signed, with a stable event id,
at least once; a failing endpoint is retried with backoff and never holds the others up."""

from __future__ import annotations

import hmac
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.server import outbound
from loyalty_sdk.server.custom import sign

from .conftest import SECRET_KEY, SHOP, order_document


class Receiver:
    """A local endpoint that answers the statuses it is told to, in turn, and keeps what came."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


@pytest.fixture(autouse=True)
def member(runtime):
    """c1 is a member before any endpoint exists (enrolment itself emits a tier event)."""
    return runtime.loyalty(SHOP).enroll("c1")


def earn(runtime, order_id: str) -> None:
    from loyalty_sdk.server.schemas import OrderIn

    runtime.loyalty(SHOP).record_order(OrderIn.model_validate(order_document(order_id)).to_core("custom"))


def send(runtime, client, **options) -> outbound.Dispatched:
    outbound.fan_out(runtime.db, runtime.now())
    return outbound.dispatch(runtime.db, SECRET_KEY, client, runtime.now(), rng=random.Random(1), **options)


def test_events_after_registration_reach_the_endpoint_signed(runtime, receiver, client):
    earn(runtime, "1000")  # before the endpoint existed: not sent
    endpoint = outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    assert send(runtime, client).delivered == 1
    [(headers, body)] = receiver.received
    [event] = receiver.events()
    assert event["kind"] == "points_posted" and event["data"]["order_id"] == "1001"
    assert event["data"]["points"] == 50
    assert headers["x-loyalty-event-id"] == event["id"]
    timestamp = int(headers["x-loyalty-signature"].split(",")[0][2:])
    expected = sign(outbound.endpoint_secret(SECRET_KEY, endpoint["id"]), body, timestamp)
    assert hmac.compare_digest(headers["x-loyalty-signature"], expected)
    assert send(runtime, client).delivered == 0  # delivered once, not again


def test_a_failing_endpoint_is_retried_with_backoff_and_the_same_event_id(runtime, receiver, client, clock):
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    receiver.answers = [500, 503]
    assert send(runtime, client).retried == 1
    assert send(runtime, client).retried == 0  # backing off: not due yet
    clock.advance(seconds=5)
    assert send(runtime, client).retried == 1
    clock.advance(seconds=10)
    assert send(runtime, client).delivered == 1
    ids = {event["id"] for event in receiver.events()}
    assert len(receiver.received) == 3 and len(ids) == 1


def test_one_endpoint_down_does_not_hold_up_or_repeat_to_another(runtime, receiver, client):
    down = outbound.add_endpoint(runtime.db, SHOP, "http://127.0.0.1:9/nowhere", [], runtime.now())
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    earn(runtime, "1002")
    result = send(runtime, client)
    assert (result.delivered, result.retried) == (2, 2)
    assert [e["data"]["order_id"] for e in receiver.events()] == ["1001", "1002"]
    [listed] = [e for e in outbound.list_endpoints(runtime.db, SHOP) if e["id"] == down["id"]]
    assert listed["deliveries"] == {"pending": 2, "done": 0, "dead": 0}


def test_an_endpoint_that_keeps_failing_ends_dead(runtime, receiver, client, clock):
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    receiver.answers = [500] * 10
    for _ in range(3):
        send(runtime, client, max_attempts=3)
        clock.advance(hours=1)
    [listed] = outbound.list_endpoints(runtime.db, SHOP)
    assert listed["deliveries"] == {"pending": 0, "done": 0, "dead": 1}


def test_dead_deliveries_sent_again_reach_the_endpoint_once_with_their_event_id(runtime, receiver, client, clock):
    down = outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    other = outbound.add_endpoint(runtime.db, SHOP, "http://127.0.0.1:9/nowhere", [], runtime.now())
    earn(runtime, "1001")
    receiver.answers = [500] * 3
    for _ in range(3):
        send(runtime, client, max_attempts=3)
        clock.advance(hours=1)
    assert {e["id"]: e["deliveries"]["dead"] for e in outbound.list_endpoints(runtime.db, SHOP)} == \
        {down["id"]: 1, other["id"]: 1}
    first_id = receiver.events()[0]["id"]
    # Only the endpoint that is back: the other one stays dead.
    assert outbound.retry(runtime.db, runtime.now(), endpoint_id=down["id"]) == 1
    assert outbound.retry(runtime.db, runtime.now(), shop_id="elsewhere.example") == 0
    assert send(runtime, client, max_attempts=3).delivered == 1
    assert send(runtime, client, max_attempts=3).delivered == 0
    assert [event["id"] for event in receiver.events()] == [first_id] * 4  # three failures, then once
    listed = {e["id"]: e["deliveries"] for e in outbound.list_endpoints(runtime.db, SHOP)}
    assert listed[down["id"]] == {"pending": 0, "done": 1, "dead": 0}
    assert listed[other["id"]] == {"pending": 0, "done": 0, "dead": 1}


def test_an_endpoint_can_take_only_some_kinds(runtime, receiver, client):
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, ["tier_changed"], runtime.now())
    earn(runtime, "1001")
    assert send(runtime, client).delivered == 0
    assert receiver.received == []


def test_without_a_secret_key_nothing_is_sent_unsigned(runtime, receiver, client):
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    outbound.fan_out(runtime.db, runtime.now())
    assert outbound.dispatch(runtime.db, None, client, runtime.now()).delivered == 0
    assert receiver.received == []
    assert send(runtime, client).delivered == 1  # still pending, sent once a key is configured


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/hooks", "http://"])
def test_an_endpoint_url_must_be_http(runtime, url):
    with pytest.raises(InvalidInput) as caught:
        outbound.add_endpoint(runtime.db, SHOP, url, [], runtime.now())
    assert caught.value.field == "url"


def test_an_unknown_event_kind_is_refused_by_name(runtime, receiver):
    with pytest.raises(InvalidInput, match="points_poster"):
        outbound.add_endpoint(runtime.db, SHOP, receiver.url, ["points_poster"], runtime.now())


def test_a_claimed_delivery_is_not_sent_twice_at_once(runtime, receiver, client):
    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    earn(runtime, "1001")
    outbound.fan_out(runtime.db, runtime.now())
    assert outbound.fan_out(runtime.db, runtime.now()) == 0  # fanned out once
    first = outbound.dispatch(runtime.db, SECRET_KEY, client, runtime.now(), lease=timedelta(seconds=60))
    again = outbound.dispatch(runtime.db, SECRET_KEY, client, runtime.now())
    assert (first.delivered, again.delivered) == (1, 0)
    assert len(receiver.received) == 1


def test_an_event_committed_after_a_later_one_is_still_sent(runtime, receiver, client, clock):
    # On PostgreSQL an event's id is handed out when it is written and it shows when its
    # transaction commits: an event can appear after the cursor moved past its id.
    from sqlalchemy import func, insert, select

    from loyalty_sdk.core.storage import outbox

    outbound.add_endpoint(runtime.db, SHOP, receiver.url, [], runtime.now())
    clock.advance(seconds=1)

    def event(event_id: int, order_id: str) -> None:
        with runtime.db.begin() as conn:
            conn.execute(insert(outbox).values(
                id=event_id, shop_id=SHOP, kind="points_posted", member_id=None, dedup_key=f"late:{event_id}",
                payload={"id": f"{SHOP}:late:{event_id}", "order_id": order_id}, created_at=runtime.now(),
                attempts=0))

    with runtime.db.connect() as conn:
        top = conn.scalar(select(func.max(outbox.c.id)))
    event(top + 5, "committed first")
    assert send(runtime, client).delivered == 1
    event(top + 2, "committed late")  # a lower id, visible only now
    assert send(runtime, client).delivered == 1
    assert [e["data"]["order_id"] for e in receiver.events()] == ["committed first", "committed late"]
    assert send(runtime, client).delivered == 0
