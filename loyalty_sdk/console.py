"""Terminal output shared by the ``loyalty`` commands: Rich for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from attrs import asdict, has
from rich.console import Console
from rich.table import Table

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def stdout() -> Console:
    return Console(soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def plain(value: Any) -> Any:
    """JSON for what the SDK returns: attrs objects, Decimal and datetimes as strings."""
    if has(type(value)):
        return plain(asdict(value, recurse=False))
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):  # sorted, so the same data prints the same JSON
        return [plain(item) for item in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, Path, Enum)):
        return str(value)
    return value


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A titled Rich table on stdout, every cell as text."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    stdout().print(table)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(plain(data), indent=2))


def show(data: Any, tables: Callable[[], Iterable[Any]], *, as_json: bool, wrote: Path | None = None) -> None:
    """``data`` as JSON for scripts, or ``tables()`` for a person, then the file written (if any)."""
    if as_json:
        print_json(data)
        return
    out = stdout()
    for table in tables():
        out.print(table)
    if wrote is not None:
        out.print(f"wrote {wrote}")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
