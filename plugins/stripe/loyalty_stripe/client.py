"""The one way this plugin talks to Stripe's API: a ``StripeClient`` with the shop's API key (see
``credentials``); ``LOYALTY_STRIPE_API_BASE`` points it elsewhere (tests).

The SDK's own network retries are off: callers that write back off themselves and keep their
idempotency key; reads made while processing a delivery fail it, and the inbox tries it again.
"""

from __future__ import annotations

import os
from typing import Any

import stripe

from loyalty_stripe import credentials


def configured(shop: Any = None) -> stripe.StripeClient | None:
    """A client when an API key is set for ``shop`` (or the server), else None: the plugin then
    works from the events alone."""
    key = credentials.api_key(shop)
    if key is None:
        return None
    base = os.environ.get("LOYALTY_STRIPE_API_BASE")
    return stripe.StripeClient(key, max_network_retries=0,
                               **({"base_addresses": {"api": base}} if base else {}))


__all__ = ["configured"]
