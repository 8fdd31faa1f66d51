from pathlib import Path

import pytest

from loyalty_sdk.settings import DEFAULT_DATABASE_URL, Settings

SECRET_FIELDS = (
    "api_key", "secret_key", "shopify_api_key", "shopify_api_secret", "stripe_api_key", "stripe_webhook_secret",
    "woocommerce_consumer_key", "woocommerce_consumer_secret", "woocommerce_webhook_secret",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_without_environment() -> None:
    settings = Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./loyalty.db"
    assert settings.program is None
    assert all(getattr(settings, name) is None for name in SECRET_FIELDS)
    assert settings.woocommerce_url is None


def test_reads_loyalty_prefixed_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOYALTY_DATABASE_URL", "postgresql://loyalty@db/loyalty")
    clean_env.setenv("LOYALTY_PROGRAM", "programs/loyalty.toml")
    clean_env.setenv("LOYALTY_WOOCOMMERCE_URL", "https://shop.example.com")
    for name in SECRET_FIELDS:
        clean_env.setenv(f"LOYALTY_{name.upper()}", f"value-of-{name}")
    settings = Settings()
    assert settings.database_url == "postgresql://loyalty@db/loyalty"
    assert settings.program == Path("programs/loyalty.toml")
    assert settings.woocommerce_url == "https://shop.example.com"
    for name in SECRET_FIELDS:
        assert getattr(settings, name).get_secret_value() == f"value-of-{name}"


def test_unprefixed_variables_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    clean_env.setenv("API_KEY", "not-ours")
    settings = Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.api_key is None


def test_empty_program_means_the_built_in_one(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOYALTY_PROGRAM", "")
    assert Settings().program is None


def test_secrets_never_appear_in_repr_or_str(clean_env: pytest.MonkeyPatch) -> None:
    for name in SECRET_FIELDS:
        clean_env.setenv(f"LOYALTY_{name.upper()}", f"s3cret-{name}")
    clean_env.setenv("LOYALTY_DATABASE_URL", "postgresql://loyalty:hunter2@db/loyalty")
    settings = Settings()
    shown = repr(settings) + str(settings)
    assert "s3cret" not in shown and "s3cret" not in repr(settings.model_dump())
    assert "hunter2" not in shown
    assert "postgresql://loyalty:***@db/loyalty" in repr(settings)
    assert settings.safe_database_url == "postgresql://loyalty:***@db/loyalty"
    assert settings.database_url == "postgresql://loyalty:hunter2@db/loyalty"  # the real value stays usable
