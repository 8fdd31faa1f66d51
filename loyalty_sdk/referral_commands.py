"""``loyalty referrals code MEMBER``, ``loyalty referrals add CODE FRIEND`` and
``loyalty referrals list [--status] [--member]`` (programs with a ``[referrals]`` section)."""

from __future__ import annotations

from typing import Annotated

import typer

from loyalty_sdk.console import JsonFlag, print_json, print_table, stdout

referrals_app = typer.Typer(no_args_is_help=True, help="Referral codes and the friends who used them.")
ShopOption = Annotated[str, typer.Option("--shop", help="Shop (tenant) id.")]


@referrals_app.command("code")
def referral_code(member: Annotated[str, typer.Argument(help="Customer id or email of the member.")],
                  shop: ShopOption = "default", as_json: JsonFlag = False) -> None:
    """The member's referral code and link (made on first request, the same ever after)."""
    from loyalty_sdk.cli import _loyalty

    with _loyalty(shop) as loyalty:
        found = loyalty.referral_code(member)
    if as_json:
        print_json(found.as_dict())
    else:
        stdout().print(f"{found.code}" + (f"  {found.link}" if found.link else ""), soft_wrap=True)


@referrals_app.command("add")
def referral_add(code: Annotated[str, typer.Argument(help="The code the friend signed up with.")],
                 friend: Annotated[str, typer.Argument(help="The friend's customer id or email.")],
                 at: Annotated[str | None, typer.Option("--at", help="When they signed up (DATE or DATETIME, shop "
                                                                     "time unless it has an offset); default now.")]
                 = None,
                 shop: ShopOption = "default", as_json: JsonFlag = False) -> None:
    """Record that a friend signed up with a member's code (enrolling the friend if needed)."""
    from loyalty_sdk.cli import _loyalty, parse_as_of

    with _loyalty(shop) as loyalty:
        moment = parse_as_of(at, loyalty.program.zone) if at else None
        view = loyalty.refer(code, friend, at=moment, source="cli")
    if as_json:
        print_json(view.as_dict())
    else:
        said = "already recorded: " if view.replayed else ""
        stdout().print(f"{said}referral {view.id} {view.status}" + (f": {view.reason}" if view.reason else ""),
                       soft_wrap=True)


@referrals_app.command("list")
def referral_list(status: Annotated[str | None, typer.Option("--status", help="invited, qualified, rewarded, void "
                                                                              "or refused.")] = None,
                  member: Annotated[str | None, typer.Option("--member", help="Only this member's (customer id or "
                                                                              "email), as referrer or friend.")]
                  = None,
                  limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
                  shop: ShopOption = "default", as_json: JsonFlag = False) -> None:
    """Referrals, newest first, with what became of each and why."""
    from loyalty_sdk.cli import _loyalty

    with _loyalty(shop) as loyalty:
        found = loyalty.referrals(member, status=status, limit=limit)
    if as_json:
        print_json({"referrals": [view.as_dict() for view in found]})
        return
    print_table("Referrals", ("id", "code", "referrer", "friend", "status", "order", "points", "reason"), (
        (view.id, view.code, view.referrer_id, view.referee_id, view.status, view.order_id or "-",
         f"{view.referee_points} + {view.referrer_points}", view.reason or "") for view in found))


__all__ = ["referrals_app"]
