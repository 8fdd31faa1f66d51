"""The process's one ``Loyalty``: built from settings on first use, closed at exit.

A ``Loyalty`` holds a connection pool and the program's plugins, so views share one instead of
opening the ledger per request. It is built lazily rather than in ``AppConfig.ready`` so that
``manage.py migrate`` and friends never touch the ledger.
"""

from __future__ import annotations

import atexit
import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from loyalty_sdk import Loyalty, MemberRef

_lock = threading.Lock()
_loyalty: Loyalty | None = None


def get_loyalty() -> Loyalty:
    global _loyalty
    with _lock:
        if _loyalty is None:
            _loyalty = Loyalty(settings.LOYALTY_DATABASE_URL, settings.LOYALTY_PROGRAM)
        return _loyalty


def member_ref(user: object) -> MemberRef:
    """How the ledger names a store account: by its primary key, which never changes (an email can)."""
    return MemberRef(customer_id=str(user.pk))  # type: ignore[attr-defined]


def close_loyalty() -> None:
    global _loyalty
    with _lock:
        if _loyalty is not None:
            _loyalty.close()
            _loyalty = None


@receiver(setting_changed)
def _reopen_on_new_settings(setting: str, **_: object) -> None:
    # override_settings(LOYALTY_DATABASE_URL=...) must reach the next request, not a stale pool.
    if setting.startswith("LOYALTY_"):
        close_loyalty()


atexit.register(close_loyalty)
