"""Process settings, read from ``LOYALTY_*`` environment variables.

    LOYALTY_DATABASE_URL=postgresql://loyalty@db/loyalty
    LOYALTY_PROGRAM=./loyalty.toml
    LOYALTY_SHOPIFY_API_SECRET=...

Keys, secrets and the database password never appear in ``repr()`` or logs: secrets are
``SecretStr`` (read them with ``.get_secret_value()``) and the URL is shown with its password masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./loyalty.db"


class Settings(BaseSettings):
    """Where the ledger lives, which program runs, and the credentials of each platform."""

    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    program: Path | None = None
    """Path of loyalty.toml; None runs the built-in default program."""
    api_key: SecretStr | None = None
    """An admin key valid for every shop."""
    secret_key: SecretStr | None = None
    shopify_api_key: SecretStr | None = None
    shopify_api_secret: SecretStr | None = None
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    woocommerce_url: str | None = None
    woocommerce_consumer_key: SecretStr | None = None
    woocommerce_consumer_secret: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None
    smtp_host: str | None = None
    """The SMTP server member messages are e-mailed through; unset, none are e-mailed."""
    smtp_port: int = 587
    smtp_from: str | None = None
    """The sender, e.g. ``Northwind Rewards <rewards@northwind.example>`` (a shop's
    ``message_from`` setting overrides it)."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before signing in (refuse to send without it)."""
    message_templates: Path | None = None
    """A directory of member-message templates that override the built-in ones (see
    :mod:`loyalty_sdk.messages.templates`)."""

    @field_validator("program", "message_templates", mode="before")
    @classmethod
    def _blank_program_is_default(cls, value: Any) -> Any:
        # `LOYALTY_PROGRAM=` (set but empty) would otherwise become Path("."), a directory.
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password replaced by ``***``, fit for printing."""
        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<unparsable database URL>"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, (self.safe_database_url if name == "database_url" else value)


def get_settings() -> Settings:
    """Settings as the environment has them now (not cached: tests and CLIs change the env)."""
    return Settings()


__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]
