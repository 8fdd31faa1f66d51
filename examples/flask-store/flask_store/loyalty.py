"""The app's one ``Loyalty``, built with the app and closed when the process exits.

A ``Loyalty`` holds a connection pool and the program's plugins, so it lives as long as the app:
there is deliberately no ``teardown_appcontext`` closing it after each request.
"""

from __future__ import annotations

import atexit
from functools import partial

from flask import Flask, current_app

from loyalty_sdk import Loyalty, MemberRef


def init_app(app: Flask) -> Loyalty:
    instance = Loyalty(app.config["LOYALTY_DATABASE_URL"], app.config["LOYALTY_PROGRAM"])
    app.extensions["loyalty"] = instance
    closer = partial(close, app)
    app.extensions["loyalty_closer"] = closer
    atexit.register(closer)
    return instance


def close(app: Flask) -> None:
    """Close the app's Loyalty now (tests, or an app replaced in a running process)."""
    instance = app.extensions.pop("loyalty", None)
    closer = app.extensions.pop("loyalty_closer", None)
    if closer is not None:
        atexit.unregister(closer)
    if instance is not None:
        instance.close()


def get_loyalty() -> Loyalty:
    return current_app.extensions["loyalty"]


def member_ref(account_id: str) -> MemberRef:
    """How the ledger names a store account: by its id, which never changes (an email can)."""
    return MemberRef(customer_id=account_id)
