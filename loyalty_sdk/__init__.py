"""loyalty-sdk: a customer loyalty program embedded in the store you already have."""

from loyalty_sdk.core.hookspecs import hookimpl

__all__ = ["hookimpl"]
