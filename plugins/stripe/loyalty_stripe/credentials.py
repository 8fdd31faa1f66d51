"""Each Stripe shop's own credentials: its endpoint's signing secret and its API key, sealed in
the shop's settings (``loyalty stripe connect SHOP``). A shop without them uses
``LOYALTY_STRIPE_WEBHOOK_SECRET`` and ``LOYALTY_STRIPE_API_KEY``, which suits a server with one
Stripe account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from loyalty_sdk.core import tenancy
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.server import sealing
from loyalty_sdk.settings import get_settings

WEBHOOK_SECRET = "stripe_webhook_secret"
API_KEY = "stripe_api_key"
_SEALED = {WEBHOOK_SECRET: "stripe_webhook_secret_sealed", API_KEY: "stripe_api_key_sealed"}
_PURPOSE = {WEBHOOK_SECRET: "loyalty-stripe-webhook-secret", API_KEY: "loyalty-stripe-api-key"}
_FORMS = {WEBHOOK_SECRET: ("whsec_",), API_KEY: ("sk_", "rk_")}


def _own(shop: Any, name: str) -> str | None:
    settings: Mapping[str, Any] = getattr(shop, "settings", None) or {}
    sealed = settings.get(_SEALED[name])
    if not sealed:
        return None
    secret_key = get_settings().secret_key
    if secret_key is None:
        raise sealing.SealBroken(f"shop {shop.id!r} keeps its {name} sealed: LOYALTY_SECRET_KEY must be set")
    return sealing.unseal(sealed, secret_key.get_secret_value(), _PURPOSE[name])


def webhook_secret(shop: Any = None) -> str | None:
    """The signing secret of ``shop``'s endpoint, else the server's."""
    own = _own(shop, WEBHOOK_SECRET) if shop is not None else None
    if own is not None:
        return own
    secret = get_settings().stripe_webhook_secret
    return None if secret is None else secret.get_secret_value()


def api_key(shop: Any = None) -> str | None:
    """``shop``'s Stripe API key, else the server's."""
    own = _own(shop, API_KEY) if shop is not None else None
    if own is not None:
        return own
    key = get_settings().stripe_api_key
    return None if key is None else key.get_secret_value()


def connect(engine: Engine, shop_id: str, **credentials: str | None) -> list[str]:
    """Seal the given credentials (``stripe_webhook_secret``, ``stripe_api_key``) into the shop's
    settings; an empty one is removed. Returns the names now kept."""
    secret_key = get_settings().secret_key
    if secret_key is None:
        raise InvalidInput("LOYALTY_SECRET_KEY must be set: a shop's Stripe credentials are kept sealed with it",
                           field="LOYALTY_SECRET_KEY")
    changes: dict[str, str] = {}
    unset: list[str] = []
    for name, value in credentials.items():
        if name not in _SEALED:
            raise InvalidInput(f"unknown Stripe credential {name!r}", field=name)
        if value is None:
            continue
        value = value.strip()
        if not value:
            unset.append(_SEALED[name])
        elif not value.startswith(_FORMS[name]):
            # Never echo the value: it is a credential, maybe pasted into the wrong field.
            raise InvalidInput(f"{name} must start with {' or '.join(_FORMS[name])}", field=name)
        else:
            changes[_SEALED[name]] = sealing.seal(value, secret_key.get_secret_value(), _PURPOSE[name])
    with engine.execution_options(loyalty_write=True).begin() as conn:
        settings = tenancy.change_settings(conn, shop_id, changes, unset)
    return sorted(name for name, sealed in _SEALED.items() if sealed in settings)


__all__ = ["API_KEY", "WEBHOOK_SECRET", "api_key", "connect", "webhook_secret"]
