"""Batches hold the cyclic garbage collector off while they run, and always hand it back."""

from __future__ import annotations

import gc
import threading

import pytest

from loyalty_sdk.core import collector
from loyalty_sdk.core.errors import IdempotencyConflict
from loyalty_sdk.core.hookspecs import hookimpl

from . import order


class CollectorWitness:
    """A rule that earns nothing and notes whether the collector ran while it was called."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    @hookimpl
    def loyalty_order_awards(self, order, member, program):
        self.seen.append(gc.isenabled())
        return []


@pytest.fixture
def witness():
    return CollectorWitness()


@pytest.fixture
def shop(loyalty_at, witness):
    loyalty = loyalty_at(plugins=[witness])
    loyalty.enroll("c1")
    return loyalty


@pytest.fixture(autouse=True)
def collector_restored():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_a_batch_runs_without_the_collector_and_gives_it_back(shop, witness):
    shop.record_orders([order("o1", [("a", "10.00", 1)]), order("o2", [("a", "20.00", 1)])])
    assert witness.seen == [False, False]
    assert gc.isenabled()


def test_a_single_order_leaves_the_collector_alone(shop, witness):
    shop.record_order(order("o1", [("a", "10.00", 1)]))
    assert witness.seen == [True]


def test_a_failed_batch_gives_the_collector_back(shop):
    shop.record_order(order("o1", [("a", "10.00", 1)]))
    with pytest.raises(IdempotencyConflict):
        shop.record_orders([order("o2", [("a", "20.00", 1)]), order("o1", [("a", "99.00", 1)])])
    assert gc.isenabled()


def test_an_application_that_turned_the_collector_off_keeps_it_off(shop, witness):
    gc.disable()
    shop.record_orders([order("o1", [("a", "10.00", 1)]), order("o2", [("a", "20.00", 1)])])
    assert not gc.isenabled()


def test_overlapping_batches_in_threads_turn_it_back_on_when_the_last_one_ends():
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen_by_second: list[bool] = []

    def first() -> None:
        with collector.paused():
            inside.wait()
        first_left.set()

    def second() -> None:
        with collector.paused():
            inside.wait()
            first_left.wait()
            seen_by_second.append(gc.isenabled())  # the first batch ended; this one still runs

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen_by_second == [False]
    assert gc.isenabled()
