"""Every rejection the SDK makes, as a typed exception.

Each error carries a stable ``code`` (the HTTP problem's ``error`` field) and a message that
names the field and the value that were wrong. Nothing is posted when one is raised.
"""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    """Base of every error the SDK raises on purpose."""

    code = "loyalty_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value

    @property
    def detail(self) -> str:
        return str(self)


class InvalidInput(LoyaltyError, ValueError):
    """A value a caller passed is malformed (negative quantity, float money, bad date...)."""

    code = "invalid_input"
    status = 422


class CurrencyError(InvalidInput):
    """An unknown ISO 4217 code, or amounts in different currencies mixed in one order."""

    code = "invalid_currency"


class ProgramError(LoyaltyError):
    """loyalty.toml (or a program mapping) does not validate."""

    code = "invalid_program"
    status = 422


class ShopNotFound(LoyaltyError, LookupError):
    code = "shop_not_found"
    status = 404


class MemberNotFound(LoyaltyError, LookupError):
    code = "member_not_found"
    status = 404


class MemberExists(LoyaltyError):
    code = "member_exists"
    status = 409


class OrderNotFound(LoyaltyError, LookupError):
    code = "order_not_found"
    status = 404


class ReferralCodeNotFound(LoyaltyError, LookupError):
    """No member of the shop has this referral code."""

    code = "referral_code_not_found"
    status = 404


class RewardNotFound(LoyaltyError, LookupError):
    code = "reward_not_found"
    status = 404


class InsufficientPoints(LoyaltyError):
    """A redemption or debit asks for more points than the member has available."""

    code = "insufficient_points"
    status = 409


class RedemptionRefused(LoyaltyError):
    """A ``loyalty_validate_redemption`` implementation vetoed the redemption."""

    code = "redemption_refused"
    status = 409


class IdempotencyConflict(LoyaltyError):
    """The idempotency key was already used for a different payload."""

    code = "idempotency_conflict"
    status = 409


class PluginError(LoyaltyError):
    """A plugin is broken: it implements an unknown hook, or returned the wrong type."""

    code = "plugin_error"
    status = 500


__all__ = [
    "CurrencyError",
    "IdempotencyConflict",
    "InsufficientPoints",
    "InvalidInput",
    "LoyaltyError",
    "MemberExists",
    "MemberNotFound",
    "OrderNotFound",
    "PluginError",
    "ProgramError",
    "RedemptionRefused",
    "ReferralCodeNotFound",
    "RewardNotFound",
    "ShopNotFound",
]
