"""The scheduled jobs (release pending points, expire, remind, re-tier, deliver events), run
from the server for every shop, each shop's under a lease so one process runs them at a time.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from loyalty_sdk import messages
from loyalty_sdk.core.storage import shops
from loyalty_sdk.server import leases
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import worker_name

log = logging.getLogger("loyalty_sdk.scheduler")


class Scheduler:
    def __init__(self, runtime: Runtime, interval: timedelta = timedelta(minutes=1), name: str | None = None) -> None:
        self.runtime = runtime
        self.interval = interval
        self.name = name or worker_name()

    def run_once(self) -> dict[str, bool]:
        """Run every shop's jobs whose lease this process gets; shop id -> whether it ran them."""
        runtime = self.runtime
        with runtime.db.connect() as conn:
            shop_ids = list(conn.scalars(select(shops.c.id).order_by(shops.c.id)))
        ran = {}
        for shop_id in shop_ids:
            # The lease outlasts two intervals and its holder renews it every interval: one
            # process keeps running a shop's jobs, and another takes over only when it is gone.
            got = leases.acquire(runtime.db, f"jobs:{shop_id}", self.name, runtime.now(), self.interval * 2)
            if got:
                runtime.loyalty(shop_id).run_jobs(runtime.now())
                self._platform_jobs(shop_id)
                self._messages(shop_id)
            ran[shop_id] = got
        return ran

    def _platform_jobs(self, shop_id: str) -> None:
        """The shop's platform adapter's own jobs (``run_jobs``), under the same lease; a
        platform that fails is logged and does not stop the other shops' jobs."""
        runtime = self.runtime
        shop = runtime.shop(shop_id)
        run_jobs = getattr(runtime.adapters.get(shop.platform), "run_jobs", None) if shop else None
        if run_jobs is None:
            return
        try:
            run_jobs(runtime, shop, runtime.now())
        except Exception:
            log.exception("%s jobs of shop %s failed; trying again next time", shop.platform, shop_id)

    def _messages(self, shop_id: str) -> None:
        """The shop's member messages (e-mail, webhooks...), under the same lease; a failure is
        logged and the messages wait for the next run."""
        try:
            messages.run(self.runtime, shop_id)
        except Exception:
            log.exception("member messages of shop %s failed; trying again next time", shop_id)

    def run(self, stop: threading.Event) -> None:
        held: list[str] = []
        while not stop.is_set():
            try:
                held = [shop for shop, got in self.run_once().items() if got]
            except Exception:
                log.exception("scheduled jobs failed; trying again in %s", self.interval)
            stop.wait(self.interval.total_seconds())
        for shop_id in held:  # a clean stop hands the jobs over at once
            leases.release(self.runtime.db, f"jobs:{shop_id}", self.name)


__all__ = ["Scheduler"]
