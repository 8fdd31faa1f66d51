"""The hot path's own connection: kept between orders, replaced when it breaks, handed back
when the books close."""

from __future__ import annotations

import threading

import psycopg
import pytest

from . import order


def test_orders_reuse_one_connection_and_a_nested_use_gets_its_own(books):
    books.enroll("c1")
    with books.books.raw() as first:
        held = first.connection
        with books.books.raw() as nested:  # e.g. a plugin hook that records an activity
            assert nested.connection is not held
    books.record_order(order("o1", [("a", "10.00", 1)]))
    with books.books.raw() as again:
        assert again.connection is held
    assert books.balance("c1").pending == 10


def test_each_thread_keeps_its_own_connection(books):
    with books.books.raw() as mine:
        here = mine.connection
    seen = []

    def elsewhere():
        with books.books.raw() as theirs:
            seen.append(theirs.connection)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert seen and seen[0] is not here


def test_closing_the_books_hands_the_connection_back(loyalty_at):
    books = loyalty_at()
    with books.books.raw():
        pass
    pool = books.db.pool
    assert pool.checkedout() == 1
    books.close()
    assert pool.checkedout() == 0


@pytest.mark.postgres
def test_postgres_an_order_after_the_server_dropped_the_connection_goes_through(loyalty_at, postgres_url):
    books = loyalty_at(postgres_url)
    books.enroll("c1")
    books.record_order(order("o1", [("a", "10.00", 1)]))
    with books.books.raw() as raw:
        backend = raw.connection.info.backend_pid
    # What a server restart or an idle-session timeout does to a pooled connection.
    with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(psycopg.OperationalError):
        books.record_order(order("o2", [("a", "20.00", 1)]))  # in flight when it broke: the caller retries
    books.record_order(order("o2", [("a", "20.00", 1)]))
    assert books.balance("c1").pending == 30
    assert books.doctor()["ok"]


def test_more_threads_than_the_pool_holds_all_get_their_orders_in(books):
    customers = [f"c{i}" for i in range(20)]  # more than the pool (5 + 10 overflow)
    for customer in customers:
        books.enroll(customer)
    failures = []

    def shop(customer):
        try:
            for n in range(3):
                books.record_order(order(f"{customer}-{n}", [("a", "10.00", 1)], customer=customer))
        except Exception as error:  # reported below: a thread's exception would vanish otherwise
            failures.append(error)

    threads = [threading.Thread(target=shop, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [books.balance(customer).pending for customer in customers] == [30] * 20
    assert books.doctor()["ok"]
