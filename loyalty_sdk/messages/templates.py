"""Rendering member messages with Jinja2: a subject, a text body and an HTML body per message
kind, per shop and locale.

Each part is a template named ``<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html``
(``points_earned.html``...), looked up first in the override directory
(``LOYALTY_MESSAGE_TEMPLATES``), then in the built-in English ones, most specific first::

    <shop>/<locale>/<kind>.html    <shop>/<language>/<kind>.html    <shop>/<kind>.html
    <locale>/<kind>.html           <language>/<kind>.html           en/<kind>.html

``<shop>`` is the shop id with anything but letters, digits, ``.``, ``-`` and ``_`` replaced by
``_``; the locale (``fr-CA``, language ``fr``) is the shop's ``locale`` setting (default
``en``). HTML is autoescaped; text parts are not. ``layout.html`` is the built-in HTML frame
(``{% extends "layout.html" %}``), which an override directory may replace as well.
Templates see ``member`` (name, email, customer_id, tier, tier_name, balance, pending),
``program`` (name), ``shop`` (id), ``locale``, ``event`` (the outbox event) and the kind's
own values: ``points``, ``pending``, ``order_id`` (points_earned, birthday_bonus);
``from_name``, ``to_name``, ``perks`` (tier_up, tier_down); ``reward_name``, ``code``,
``points`` (reward_issued); ``points``, ``expires_on``, ``days_left`` (points_expiring).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

BUILTIN = Path(__file__).parent / "templates"
DEFAULT_LOCALE = "en"
PARTS = ("subject.txt", "txt", "html")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@lru_cache(maxsize=16)
def environment(overrides: Path | None) -> SandboxedEnvironment:
    """The template environment for an override directory (None: the built-in templates only)."""
    loaders = [FileSystemLoader(str(overrides))] if overrides is not None else []
    loaders.append(FileSystemLoader(str(BUILTIN)))
    # Merchants edit templates: the sandbox keeps a template from reaching into Python objects.
    return SandboxedEnvironment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html"]),
                                keep_trailing_newline=True)


def candidates(kind: str, part: str, shop_id: str, locale: str) -> list[str]:
    shop = _UNSAFE.sub("_", shop_id)
    locale = _UNSAFE.sub("_", locale) or DEFAULT_LOCALE
    language = re.split(r"[-_]", locale)[0]
    names = [f"{shop}/{locale}", f"{shop}/{language}", shop, locale, language, DEFAULT_LOCALE]
    return [f"{prefix}/{kind}.{part}" for prefix in dict.fromkeys(names)]


def render(kind: str, shop_id: str, locale: str, context: dict[str, Any],
           overrides: Path | None = None) -> tuple[str, str, str]:
    """``(subject, text, html)`` of one message."""
    env = environment(overrides)
    values = {**context, "locale": locale}
    subject, text, html = (env.select_template(candidates(kind, part, shop_id, locale)).render(values)
                           for part in PARTS)
    return " ".join(subject.split()), text, html


__all__ = ["DEFAULT_LOCALE", "candidates", "environment", "render"]
