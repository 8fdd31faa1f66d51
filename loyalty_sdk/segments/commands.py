"""``loyalty segments list`` and ``loyalty segments export NAME [--csv] [--param k=v]``."""

from __future__ import annotations

from typing import Annotated

import typer

from loyalty_sdk.console import JsonFlag, print_json, print_table
from loyalty_sdk.segments.export import export, segments
from loyalty_sdk.segments.model import parse_assignments

segments_app = typer.Typer(no_args_is_help=True, help="Segments: lists of members to push to e-mail or ads tools.")
ShopOption = Annotated[str, typer.Option("--shop", help="Shop (tenant) id.")]


@segments_app.command("list")
def segments_list(shop: ShopOption = "default", as_json: JsonFlag = False) -> None:
    """Every segment (built-in and from plugins) with its parameters and their defaults."""
    from loyalty_sdk.cli import _loyalty

    with _loyalty(shop) as loyalty:
        found = segments(loyalty.host, loyalty.program)
    listed = [{"name": s.name, "description": s.description, "params": dict(s.params)} for s in found.values()]
    if as_json:
        print_json({"segments": listed})
        return
    print_table("Segments", ("name", "parameters", "description"), (
        (item["name"], " ".join(f"{k}={v}" for k, v in item["params"].items()) or "-", item["description"])
        for item in listed))


@segments_app.command("export")
def segments_export(
    name: Annotated[str, typer.Argument(help="The segment (loyalty segments list).")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="A parameter, KEY=VALUE; repeatable.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (a header line, one member a line).")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="DATE or DATETIME to evaluate at (shop time unless "
                                                               "it has an offset); default now.")] = None,
    shop: ShopOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """The segment's members: customer id, e-mail, name, tier, balance and why they are in it."""
    from loyalty_sdk.cli import _loyalty, parse_as_of

    given = parse_assignments(param or [])
    with _loyalty(shop) as loyalty:
        moment = parse_as_of(as_of, loyalty.program.zone) if as_of else None
        result = export(loyalty, name, given, as_of=moment)
    if as_csv:
        typer.echo(result.csv(), nl=False)
    elif as_json:
        print_json(result.as_dict())
    else:
        document = result.as_dict()
        print_table(f"{name}: {document['count']} members", result.columns,
                    ([("" if row[k] is None else row[k]) for k in result.columns] for row in document["members"]))


__all__ = ["segments_app"]
