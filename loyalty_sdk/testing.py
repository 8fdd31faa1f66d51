"""A pytest plugin for rule writers (loaded automatically once loyalty-sdk is installed).

Fixtures:

- ``loyalty``: a :class:`~loyalty_sdk.Loyalty` on an in-memory SQLite ledger with the default
  program, no entry-point plugins, and a clock you can move (``loyalty_clock``).
- ``loyalty_clock``: a settable clock; ``loyalty_clock.now`` is a timezone-aware datetime and
  ``loyalty_clock.advance(days=14)`` moves it.
- ``register_plugin``: ``register_plugin(module_or_object)`` registers your plugin on the
  ``loyalty`` fixture's engine and unregisters it after the test.
- ``make_order``: ``make_order("1001", customer="c1", lines=[("mug", "12.50", 2)])`` builds an
  Order in the program's currency at the clock's time.
- ``make_member``: ``make_member("c1", email="ada@example.com")`` enrolls a member on ``loyalty``.
- ``make_refund``: ``make_refund(order, lines=[("mug", 1)])`` builds a Refund of some lines (by
  default all of them) or of an ``amount``, at the clock's time.
- ``make_activity``: ``make_activity("review", customer="c1", payload={"photos": 2})``.

Assertions that fail with a table of expected and actual figures:
:func:`assert_awards` (``assert_awards(result, {"earn.spend": 25})``: points per rule id) and
:func:`assert_ledger` (``assert_ledger(loyalty, "c1", available=25, pending=0, tier="gold")``).

For platform plugins, :func:`serving` runs a server runtime's app in-process,
:func:`loyalty_serve` runs the real ``loyalty serve`` in a subprocess (:func:`wait_until` polls it),
:class:`StandIn` stands in for a platform's API on 127.0.0.1, and
``loyalty_database_url`` gives each test an empty ledger database on SQLite and, when
``LOYALTY_TEST_POSTGRES_URL`` names a server, on PostgreSQL too (a fresh schema per test,
dropped afterwards; the PostgreSQL cases skip, saying why, without it).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from loyalty_sdk.assertions import assert_awards, assert_ledger
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Activity, LineItem, Member, MemberRef, Order, Refund, RefundLine
from loyalty_sdk.core.money import Money


@contextmanager
def serving(runtime: Any) -> Iterator[Any]:
    """An HTTP client on ``runtime``'s server app, in-process (``fastapi.testclient``), with no
    embedded worker: the test decides when deliveries are processed. Errors come back as the
    answers a client would get, not as exceptions."""
    from fastapi.testclient import TestClient

    from loyalty_sdk.server.app import create_app

    with TestClient(create_app(runtime, embedded=False), raise_server_exceptions=False) as client:
        yield client


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy, a connection refused counting as not
    yet (bounded: a hung server fails the test); what it returned."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@contextmanager
def loyalty_serve(env: Any, log_path: Any, timeout: float = 30.0) -> Iterator[str]:
    """A real ``loyalty serve`` in a subprocess, configured by ``env`` (its output in
    ``log_path``): its base URL once ``/api/v1/health`` answers; stopped with SIGTERM after."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    loyalty = str(Path(sys.executable).with_name("loyalty"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([loyalty, "serve", "--port", str(port)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: process.poll() is None and httpx.get(f"{base}/api/v1/health").status_code == 200,
                       f"loyalty serve to start ({log_path})", timeout)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)


POSTGRES_ENV = "LOYALTY_TEST_POSTGRES_URL"
SKIP_POSTGRES = (
    f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server "
    f"(e.g. {POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test)"
)


def postgres_server_url() -> str:
    """The configured PostgreSQL server, or skip the calling test."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(SKIP_POSTGRES)
    return url


class PostgresSchemas:
    """Creates throwaway schemas on a test server and drops them all at the end. Each URL lands
    its connections in its schema through libpq ``options``, in every process."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def new_url(self) -> str:
        import psycopg

        schema = f"loyalty_test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(_psycopg_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        option = quote(f"-csearch_path={schema}", safe="")
        return f"{self.server_url}{'&' if '?' in self.server_url else '?'}options={option}"

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(_psycopg_url(self.server_url), autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            for schema in self.created:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.created.clear()


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "postgres: needs LOYALTY_TEST_POSTGRES_URL (a real PostgreSQL server)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loyalty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty ledger database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/loyalty.db"
        return
    schemas = PostgresSchemas(postgres_server_url())
    try:
        yield schemas.new_url()
    finally:
        schemas.drop_all()


class StandIn:
    """A JSON HTTP server on 127.0.0.1 standing in for a platform's API in tests.

    ``answer(path, body, headers)`` returns ``(status, document)`` for each request (GET, POST,
    PUT, DELETE; the path keeps its query string); every call is kept in ``calls`` as
    ``(path, body, headers)``, header names in lower case and the method as ``:method``, as
    HTTP/2 names it."""

    def __init__(self, answer: Any) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.calls: list[tuple[str, bytes, dict[str, str]]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                headers[":method"] = self.command
                stand_in.calls.append((self.path, body, headers))
                status, document = answer(self.path, body, headers)
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_DELETE = do_POST  # noqa: N815

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """A clock a test controls."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def loyalty_clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
def loyalty_program() -> Any:
    """The program the ``loyalty`` fixture uses; override it in your conftest."""
    return None


@pytest.fixture
def loyalty(loyalty_clock: Clock, loyalty_program: Any) -> Iterator[Any]:
    from loyalty_sdk.facade import Loyalty

    with Loyalty("sqlite://", loyalty_program, clock=loyalty_clock, entry_points=False) as instance:
        yield instance


@pytest.fixture
def register_plugin(loyalty: Any) -> Iterator[Any]:
    registered: list[object] = []

    def register(plugin: object, name: str | None = None) -> object:
        loyalty.host.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        loyalty.host.unregister(plugin)


@pytest.fixture
def make_order(loyalty: Any, loyalty_clock: Clock) -> Any:
    def build(order_id: str, *, customer: str = "c1", lines: Sequence[tuple[str, str, int]] = (("item", "10.00", 1),),
              currency: str | None = None, collections: dict[str, set[str]] | None = None,
              at: datetime | None = None, discount: str | None = None) -> Order:
        currency = currency or loyalty.program.program.currency
        collections = collections or {}
        return Order(
            order_id=order_id,
            member=MemberRef.parse(customer),
            placed_at=at or loyalty_clock.now,
            currency=currency,
            lines=[
                LineItem(line_id=name, product_id=name, quantity=qty, unit_price=Money(Decimal(price), currency),
                         collections=frozenset(collections.get(name, ())))
                for name, price, qty in lines
            ],
            order_discount=Money(Decimal(discount), currency) if discount else None,
        )

    return build


@pytest.fixture
def make_member(loyalty: Any) -> Any:
    def enroll(customer: str | None = "c1", *, email: str | None = None, name: str | None = None,
               at: datetime | None = None) -> Member:
        return loyalty.enroll(customer, email=email, name=name, at=at)

    return enroll


@pytest.fixture
def make_refund(loyalty: Any, loyalty_clock: Clock) -> Any:
    counter = iter(range(1, 1_000_000))

    def build(order: Order | str, *, lines: Sequence[tuple[str, int]] | None = None, amount: str | None = None,
              refund_id: str | None = None, at: datetime | None = None) -> Refund:
        if lines is None and amount is None:
            if not isinstance(order, Order):
                raise InvalidInput(f"refund of order {order!r}: pass the Order, lines or an amount",
                                   field="order", value=order)
            lines = [(line.line_id, line.quantity) for line in order.lines]  # the whole order back
        order_id = order.order_id if isinstance(order, Order) else order
        currency = order.currency if isinstance(order, Order) else loyalty.program.program.currency
        return Refund(
            refund_id=refund_id or f"{order_id}-refund-{next(counter)}",
            order_id=order_id,
            refunded_at=at or loyalty_clock.now,
            lines=[RefundLine(line_id=line_id, quantity=quantity) for line_id, quantity in lines or ()],
            amount=Money(Decimal(amount), currency) if amount is not None else None,
        )

    return build


@pytest.fixture
def make_activity(loyalty_clock: Clock) -> Any:
    def build(kind: str, *, customer: str = "c1", payload: dict[str, Any] | None = None,
              activity_id: str | None = None, at: datetime | None = None) -> Activity:
        return Activity(kind=kind, member=MemberRef.parse(customer), occurred_at=at or loyalty_clock.now,
                        activity_id=activity_id, payload=payload or {})

    return build


__all__ = ["Clock", "assert_awards", "assert_ledger"]
