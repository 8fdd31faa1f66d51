"""Flask has no CSRF protection of its own: every form carries the session's token, and a POST
without it is refused before any view runs."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

FIELD = "csrf_token"


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def _check() -> None:
    if request.method == "POST":
        expected = session.get(FIELD)
        if not expected or not hmac.compare_digest(request.form.get(FIELD, ""), expected):
            abort(403, "the form's CSRF token is missing or stale: reload the page and try again")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = token
    app.before_request(_check)
