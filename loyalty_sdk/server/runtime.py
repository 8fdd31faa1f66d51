"""What one server or worker process holds: one database, one program, the plugins and the
platform adapters they contribute, and a facade per shop, all sharing one connection pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from loyalty_sdk.core.books import system_clock
from loyalty_sdk.core.errors import PluginError, ShopNotFound
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import shops
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.server import custom
from loyalty_sdk.server.platforms import PlatformAdapter, ShopRecord
from loyalty_sdk.settings import Settings, get_settings

UNKNOWN_SHOP_SECONDS = 5.0
KNOWN_SHOP_SECONDS = 30.0
"""How long a process trusts what it read of a shop (another process may uninstall it)."""


class Runtime:
    """The process-wide state of ``loyalty serve`` and ``loyalty worker``."""

    def __init__(self, settings: Settings | None = None, *, program: Program | None = None,
                 plugins: Iterable[object] = (), clock: Callable[[], datetime] = system_clock,
                 entry_points: bool = True, engine_options: dict[str, Any] | None = None) -> None:
        """``program`` overrides ``settings.program`` (tests, embedding)."""
        self.settings = settings or get_settings()
        secret = self.settings.secret_key
        self.secret_key = None if secret is None else secret.get_secret_value()
        builtin = custom.CustomAdapter(secret_key=lambda: self.secret_key)
        self.root = Loyalty(self.settings.database_url, program if program is not None else self.settings.program,
                            plugins=[*plugins],
                            clock=clock, entry_points=entry_points, engine_options=engine_options)
        self.db = self.root.db
        self.clock = clock
        self.adapters = self._adapters(builtin)
        self._facades: dict[str, Loyalty] = {self.root.shop_id: self.root}
        self._records: dict[str, tuple[float, ShopRecord]] = {}
        self._missing: dict[str, float] = {}
        self._lock = threading.Lock()

    def _adapters(self, builtin: PlatformAdapter) -> dict[str, PlatformAdapter]:
        found: dict[str, PlatformAdapter] = {builtin.name: builtin}
        for contributed in self.root.host.pm.hook.loyalty_platforms():
            for adapter in contributed or ():
                if not isinstance(adapter, PlatformAdapter):
                    raise PluginError(f"loyalty_platforms returned {adapter!r}, which is not a PlatformAdapter",
                                      field="loyalty_platforms", value=repr(adapter))
                if adapter.name in found and found[adapter.name] is not builtin:
                    raise PluginError(f"two plugins contribute the platform {adapter.name!r}", field="platform",
                                      value=adapter.name)
                found[adapter.name] = adapter
        return found

    def now(self) -> datetime:
        return self.clock()

    def shop(self, shop_id: str) -> ShopRecord | None:
        """The registered shop, or None. A found shop is remembered for half a minute, an
        unknown one for a few seconds: another process may add, change or erase it."""
        remembered = self._records.get(shop_id)
        if remembered is not None and time.monotonic() - remembered[0] < KNOWN_SHOP_SECONDS:
            return remembered[1]
        missing_since = self._missing.get(shop_id)
        if missing_since is not None and time.monotonic() - missing_since < UNKNOWN_SHOP_SECONDS:
            return None  # forged requests naming made-up shops must not each cost a query
        with self.db.connect() as conn:
            row = conn.execute(select(shops).where(shops.c.id == shop_id)).first()
        if row is None:
            if len(self._missing) > 10_000:
                self._missing.clear()
            self._missing[shop_id] = time.monotonic()
            return None
        record = ShopRecord(row.id, row.platform, row.currency, row.timezone, dict(row.settings or {}))
        self._records[shop_id] = (time.monotonic(), record)
        return record

    def add_shop(self, shop_id: str, platform: str) -> ShopRecord:
        """Register a shop with the program's currency and time zone (if not already there)."""
        self.root.for_shop(shop_id).books.ensure_shop(platform)
        self._missing.pop(shop_id, None)
        record = self.shop(shop_id)
        assert record is not None
        return record

    def loyalty(self, shop_id: str) -> Loyalty:
        """The facade of a registered shop; ShopNotFound for any other."""
        facade = self._facades.get(shop_id)
        if facade is not None:
            return facade
        if self.shop(shop_id) is None:
            raise ShopNotFound(f"no shop {shop_id!r} is registered (loyalty shops add)", field="shop", value=shop_id)
        with self._lock:
            return self._facades.setdefault(shop_id, self.root.for_shop(shop_id))

    def forget(self, shop_id: str) -> None:
        """Drop what this process remembers of a shop (its record changed, or it was erased)."""
        with self._lock:
            self._records.pop(shop_id, None)
            if shop_id != self.root.shop_id:
                self._facades.pop(shop_id, None)

    def close(self) -> None:
        self.root.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["Runtime"]
