"""The worker: claims deliveries from the inbox, applies them, retries, dead-letters.

Run alone with ``loyalty worker`` (one per process, as many processes as you like on
PostgreSQL), or embedded in ``loyalty serve`` on SQLite. A failure is retried with
exponential backoff and full jitter; a delivery that can never apply (a payload the schema
refuses, an idempotency key reused with another payload) goes to dead-letter at once; one that
keeps failing goes there after ``max_attempts``. ``loyalty inbox retry`` brings either back.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import traceback
from datetime import timedelta
from typing import Any

from attrs import frozen

from loyalty_sdk.core.errors import LoyaltyError, MemberNotFound, OrderNotFound
from loyalty_sdk.core.retry import backoff
from loyalty_sdk.server import inbox, processing
from loyalty_sdk.server.platforms import Delivery, ShopErased, ShopUninstalled
from loyalty_sdk.server.runtime import Runtime

log = logging.getLogger("loyalty_sdk.worker")
ShopChanges = (ShopUninstalled, ShopErased)

# Errors that time can cure: a refund delivered before its order, an activity before its
# customer. Any other LoyaltyError is the payload's fault and will not change on retry.
TRANSIENT = (OrderNotFound, MemberNotFound)


@frozen
class WorkerOptions:
    batch: int = 50
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    backoff_base: float = 2.0
    """Seconds before the first retry (at most; jittered)."""
    backoff_cap: float = 3600.0
    idle_wait: float = 0.2
    """Seconds to wait when the inbox has nothing due."""


@frozen
class Pass:
    """What one pass over the inbox did."""

    claimed: int
    done: int
    retried: int
    dead: int


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class Worker:
    def __init__(self, runtime: Runtime, options: WorkerOptions | None = None, name: str | None = None,
                 rng: random.Random | None = None) -> None:
        self.runtime = runtime
        self.options = options or WorkerOptions()
        self.name = name or worker_name()
        self._rng = rng or random.Random()

    def run_once(self) -> Pass:
        """Claim one batch and settle every delivery in it, in arrival order.

        A delivery that fails for a reason time can cure (a refund whose order is later in the
        same batch) is tried once more at the end of the batch before it backs off. The
        deliveries applied are marked done together, in one commit, at the end."""
        options = self.options
        runtime = self.runtime
        claimed = inbox.claim(runtime.db, self.name, options.batch, runtime.now(), options.lease)
        applied: list[tuple[Delivery, Any]] = []
        outcomes = [self._settle(delivery, applied, last_try=False) for delivery in claimed]
        waiting = [delivery for delivery, outcome in zip(claimed, outcomes, strict=True) if outcome is None]
        outcomes += [self._settle(delivery, applied, last_try=True) for delivery in waiting]
        inbox.complete(runtime.db, applied, self.name, runtime.now())
        return Pass(len(claimed), outcomes.count(inbox.DONE), outcomes.count(inbox.PENDING),
                    outcomes.count(inbox.DEAD))

    def drain(self) -> Pass:
        """Passes until nothing is due (tests, benchmarks)."""
        total = Pass(0, 0, 0, 0)
        while True:
            one = self.run_once()
            total = Pass(*(a + b for a, b in zip(_fields(total), _fields(one), strict=True)))
            if one.claimed == 0:
                return total

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; waits ``idle_wait`` between empty passes."""
        log.info("worker %s started", self.name)
        while not stop.is_set():
            try:
                idle = self.run_once().claimed == 0
            except Exception:  # the database went away: keep the process, try again shortly
                log.exception("worker %s: pass failed", self.name)
                idle = True
            if idle:
                stop.wait(self.options.idle_wait)
        log.info("worker %s stopped", self.name)

    def _settle(self, delivery: Delivery, applied: list[tuple[Delivery, Any]], *, last_try: bool) -> str | None:
        """The delivery's new status; None when a transient failure should be tried again
        before backing off (``last_try`` False)."""
        runtime = self.runtime
        try:
            adapter = runtime.adapters.get(delivery.platform)
            if adapter is None:
                raise _Permanent(f"no plugin provides the platform {delivery.platform!r}")
            loyalty = runtime.loyalty(delivery.shop_id)
            shop = runtime.shop(delivery.shop_id)
            assert shop is not None, "runtime.loyalty() found it"
            events = adapter.parse(delivery, shop)
            voider = getattr(adapter, "void_codes", None)
            outcome: Any = processing.apply(loyalty, events, delivery.id,
                                            (lambda codes: voider(shop, codes)) if voider else None)
            if any(isinstance(event, ShopChanges) for event in events):
                runtime.forget(delivery.shop_id)  # its record (or the shop itself) changed
        except TRANSIENT as error:
            if not last_try:
                return None
            return self._failed(delivery, f"{type(error).__name__}: {error}", permanent=False)
        except (LoyaltyError, _Permanent) as error:
            return self._failed(delivery, f"{type(error).__name__}: {error}", permanent=True)
        except Exception as error:
            log.warning("delivery %s failed: %s", delivery.id, traceback.format_exc(limit=3))
            return self._failed(delivery, f"{type(error).__name__}: {error}", permanent=False)
        applied.append((delivery, outcome))
        return inbox.DONE

    def _failed(self, delivery: Delivery, error: str, *, permanent: bool) -> str:
        options = self.options
        if permanent or delivery.attempts >= options.max_attempts:
            retry_in = None
            log.warning("delivery %s (%s %s) dead-lettered after %s attempt(s): %s", delivery.id, delivery.platform,
                        delivery.topic, delivery.attempts, error)
        else:
            retry_in = backoff(delivery.attempts, options.backoff_base, options.backoff_cap, self._rng)
        return inbox.fail(self.runtime.db, delivery, self.name, self.runtime.now(), error, retry_in=retry_in)


class _Permanent(Exception):
    pass


def _fields(p: Pass) -> tuple[int, int, int, int]:
    return (p.claimed, p.done, p.retried, p.dead)


__all__ = ["Pass", "Worker", "WorkerOptions", "worker_name"]
