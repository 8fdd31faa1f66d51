"""Settings of the example store. Everything a deployment changes comes from the environment."""

import os
from importlib import resources
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEBUG = os.environ.get("DJANGO_DEBUG", "true").lower() == "true"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("django-insecure-example-store-only" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

# The loyalty ledger is its own database, named the way the `loyalty` command names it, so
# `loyalty members show`, `loyalty jobs run` and `loyalty doctor` work on the same ledger.
LOYALTY_DATABASE_URL = os.environ.get("LOYALTY_DATABASE_URL", "sqlite:///./loyalty.db")
LOYALTY_PROGRAM = os.environ.get("LOYALTY_PROGRAM") or str(resources.files("django_store") / "program.toml")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_store",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_store.errors.LoyaltyErrorMiddleware",
]

ROOT_URLCONF = "django_store.urls"
WSGI_APPLICATION = "django_store.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

# The store's own data (accounts, sessions, orders); the ledger lives in LOYALTY_DATABASE_URL.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("STORE_DATABASE", "store.sqlite3")).resolve(),
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "account"
LOGOUT_REDIRECT_URL = "home"

USE_TZ = True
TIME_ZONE = "America/New_York"
LANGUAGE_CODE = "en-us"
