"""``loyalty stripe ...``: a shop's own Stripe credentials, kept sealed in its settings."""

from __future__ import annotations

from typing import Annotated

import typer

from loyalty_sdk.console import JsonFlag, print_json, stdout
from loyalty_sdk.core import migrate
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.settings import get_settings
from loyalty_stripe import credentials

stripe_commands = typer.Typer(no_args_is_help=True, add_completion=False)


@stripe_commands.callback()
def stripe_group() -> None:
    """Stripe: each shop's signing secret and API key."""  # a group, even with one command


@stripe_commands.command("connect")
def connect(
    shop_id: Annotated[str, typer.Argument(metavar="SHOP", help="A shop added with `loyalty shops add SHOP stripe`.")],
    webhook_secret: Annotated[str | None, typer.Option(
        "--webhook-secret", envvar="STRIPE_WEBHOOK_SECRET", show_envvar=True,
        help="The endpoint's signing secret (whsec_...); '' removes it. The environment variable keeps it out"
             " of shell history.")] = None,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", envvar="STRIPE_API_KEY", show_envvar=True,
        help="A secret or restricted key (sk_... or rk_...) for rewards and for reading sessions and invoices"
             " back; '' removes it.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Keep a shop's own Stripe signing secret and API key.

    Both are sealed with LOYALTY_SECRET_KEY in the shop's settings. Its webhooks at
    /webhooks/stripe/SHOP are then checked with its own secret, and its rewards and reads use
    its own key. An empty value removes one.
    """
    if webhook_secret is None and api_key is None:
        raise InvalidInput("give --webhook-secret or --api-key (or STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY)",
                           field="webhook_secret")
    with migrate.opened(get_settings().database_url) as engine:
        kept = credentials.connect(engine, shop_id, stripe_webhook_secret=webhook_secret, stripe_api_key=api_key)
    if as_json:
        print_json({"shop": shop_id, "credentials": kept})
    else:
        stdout().print(f"{shop_id}: keeps {', '.join(kept) if kept else 'no Stripe credentials of its own'}"
                       f" (webhooks: POST /webhooks/stripe/{shop_id})", markup=False)


__all__ = ["stripe_commands"]
