"""Harbour Roasters on Flask: a small store that embeds loyalty-sdk's ``Loyalty`` facade.

``flask --app flask_store run`` calls :func:`create_app`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from importlib import resources
from typing import Any

from flask import Flask, render_template

from flask_store import csrf, loyalty
from loyalty_sdk.core.errors import LoyaltyError


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        # Named as the `loyalty` command names them, so `loyalty jobs run` works on the same ledger.
        LOYALTY_DATABASE_URL=os.environ.get("LOYALTY_DATABASE_URL", "sqlite:///./loyalty.db"),
        LOYALTY_PROGRAM=os.environ.get("LOYALTY_PROGRAM") or str(resources.files("flask_store") / "program.toml"),
        STAFF_EMAILS=[],
    )
    app.config.from_prefixed_env()  # FLASK_SECRET_KEY, FLASK_STAFF_EMAILS='["grace@example.com"]'
    app.config.from_mapping(config or {})
    if not app.config.get("SECRET_KEY"):
        # Without a configured key, sessions (carts, sign-ins) end with the process.
        app.config["SECRET_KEY"] = secrets.token_hex(32)

    loyalty.init_app(app)
    csrf.init_app(app)

    from flask_store.store import Store
    from flask_store.views import store_pages

    app.extensions["store"] = Store()
    app.register_blueprint(store_pages)

    @app.errorhandler(LoyaltyError)
    def refused(error: LoyaltyError):
        return render_template("error.html", error=error), error.status

    return app
