"""Render the program reference (``docs/program.md``) from the pydantic schema of ``loyalty.toml``.

Every key of every section comes from :class:`~loyalty_sdk.core.program.Program` itself: its
type, its default and the docstring written under the field. The page is generated so it cannot
drift from the code: ``tests/docs/test_docs_program.py`` fails when it is stale. Regenerate it with::

    python -m loyalty_sdk.docs_program > docs/program.md
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from annotated_types import Ge, Gt
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from loyalty_sdk.core.program import Program, default_program_text

REGENERATE = "python -m loyalty_sdk.docs_program > docs/program.md"

# One example per section, each a whole program on its own (every block on the page is loaded
# by tests/docs/test_samples.py). Where a key's meaning is not plain from the table, the example shows it.
EXAMPLES: dict[str, str] = {
    "program": """
        [program]
        name = "Northwind Rewards"
        currency = "EUR"
        timezone = "Europe/Paris"
        point_value = "0.005"     # 200 points are worth 1 EUR
    """,
    "earn": """
        [earn]
        points_per_unit = 2       # 2 points per euro...
        rates = { JPY = "0.02" }  # ...and 2 per 100 yen
        rounding = "half_up"
        pending_days = 30
        min_order = "5.00"
        exclude_collections = ["gift-cards"]
        max_points_per_order = 5000
    """,
    "stacking": """
        [stacking]
        mode = "multiply"         # a 2x campaign for a 1.5x tier member: 3x
        max_multiplier = "4"
        include_tier = true
    """,
    "campaigns": """
        [[campaigns]]
        id = "black-friday"
        name = "Black Friday double points"
        multiplier = "2"
        starts = 2026-11-27       # local dates; a date as ends is inclusive
        ends = 2026-11-30

        [[campaigns]]
        id = "coffee-club"
        multiplier = "3"
        collections = ["coffee"]
        max_bonus_points = 500
    """,
    "activities": """
        [[activities]]
        kind = "birthday"
        points = 200
        per_year = 1

        [[activities]]
        kind = "review"
        points = 50
        per_day = 1
        per_lifetime = 20
    """,
    "tiers": """
        [tiers]
        metric = "spend"          # in the program's currency
        window = "rolling"
        window_days = 365
        grace_days = 30

        [[tiers.levels]]
        id = "member"

        [[tiers.levels]]
        id = "gold"
        name = "Gold"
        threshold = 500
        multiplier = "1.5"
        perks = ["free shipping"]
    """,
    "expiry": """
        [expiry]
        mode = "lot"              # each earning expires 365 days after it was earned
        days = 365
        reminder_days = [30, 7]
    """,
    "clawback": """
        [clawback]
        spent_points = "negative"
        max_negative = 500        # never below -500; the rest is written off
    """,
    "rewards": """
        [[rewards]]
        id = "5-off"
        name = "$5 off"
        kind = "fixed_amount"
        points = 500
        value = "5.00"

        [[rewards]]
        id = "points-as-money"
        name = "Pay with points"
        kind = "points_as_money"
        min_points = 100
        max_points = 10000
        step = 100
    """,
    "referrals": """
        [referrals]
        referrer_points = 500     # once the friend's first order has passed its return window
        referee_points = 250      # for the friend, on that first order
        min_order = "20.00"
        window_days = 30
        max_rewards = 10          # per member...
        cap_days = 365            # ...in any 365 days
        link = "https://shop.example/?ref={code}"
    """,
    "plugins": """
        [plugins.weekend_coffee]  # read by the weekend_coffee plugin, not by the core
        collection = "coffee"
        multiplier = "2"
    """,
}


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """The docstring written under each field of ``model`` (pydantic keeps none of them)."""
    found: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass.__module__ != model.__module__:
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for statement, following in zip(body, body[1:], strict=False):
            if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The section model of a field: itself, the item of a ``tuple[Model, ...]``, or of ``Model | None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _section_model(models[0]) if len(models) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is tuple:
        item = typing.get_args(annotation)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def type_name(annotation: Any, metadata: list[Any] = ()) -> str:  # type: ignore[assignment]
    """How a TOML writer reads a field's type: ``decimal ≥ 0``, ``array of strings``, a choice."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], [*args[1:], *metadata])
    bounds = "".join(f" ≥ {item.ge}" if isinstance(item, Ge) else f" > {item.gt}" if isinstance(item, Gt) else ""
                     for item in metadata)
    for item in metadata:  # Field(ge=...) inside Annotated arrives as a FieldInfo
        bounds += "".join(f" ≥ {m.ge}" if isinstance(m, Ge) else f" > {m.gt}" if isinstance(m, Gt) else ""
                          for m in getattr(item, "metadata", ()))
    if origin in (typing.Union, types.UnionType):
        kinds = [type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(kinds) + bounds + (", optional" if type(None) in args else "")
    if origin is typing.Literal:
        return " \\| ".join(f'`"{arg}"`' for arg in args)
    if origin in (frozenset, tuple):
        return f"array of {_plural(type_name(args[0]))}"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    names = {str: "string", int: "integer", bool: "boolean", Decimal: "decimal", datetime: "date-time",
             date: "date"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation))) + bounds


def _plural(name: str) -> str:
    return name if name.startswith("array") else f"{name}s"


def toml_value(value: Any) -> str:
    """A default as it would be written in ``loyalty.toml``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, str)):
        return f'"{value}"'
    if isinstance(value, (frozenset, tuple, list)):
        return "[" + ", ".join(toml_value(item) for item in sorted(value, key=str)) + "]"
    if isinstance(value, dict):
        return "{}" if not value else "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined or value is None:
        return "unset"
    return f"`{toml_value(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.replace("``", "`").replace("|", "\\|").split())


def _table(model: type[BaseModel], prefix: str) -> Iterator[str]:
    docs = field_docs(model)
    yield "| key | type | default | meaning |"
    yield "| --- | --- | --- | --- |"
    for name, field in model.model_fields.items():
        if _section_model(field.annotation) is not None:
            continue  # a nested section gets its own heading
        yield (f"| `{prefix}{name}` | {type_name(field.annotation, field.metadata)} | {_default(field)} "
               f"| {_cell(docs.get(name, ''))} |")


def _heading(key: str, model_field: Any) -> str:
    many = typing.get_origin(model_field.annotation) is tuple
    return f"[[{key}]]" if many else f"[{key}]"


def _sections() -> Iterator[str]:
    top_docs = field_docs(Program)
    for key, field in Program.model_fields.items():
        model = _section_model(field.annotation)
        yield f"## `{_heading(key, field)}`" if model is not None else f"## `[{key}.<plugin>]`"
        yield ""
        intro = inspect.cleandoc(model.__doc__) if model is not None and model.__doc__ else top_docs.get(key, "")
        if intro:
            yield intro.replace("``", "`")
            yield ""
        if model is not None:
            yield from _table(model, "")
            yield ""
            for name, nested in model.model_fields.items():
                inner = _section_model(nested.annotation)
                if inner is None:
                    continue
                yield f"### `{_heading(f'{key}.{name}', nested)}`"
                yield ""
                if field_docs(model).get(name):
                    yield field_docs(model)[name].replace("``", "`")
                    yield ""
                yield from _table(inner, "")
                yield ""
        yield "Example:"
        yield ""
        yield "```toml"
        yield textwrap.dedent(EXAMPLES.get(key) or _defaults_example(key, model)).strip("\n")
        yield "```"
        yield ""


def _defaults_example(key: str, model: type[BaseModel] | None) -> str:
    """For a section without a written example: the section with its set defaults spelled out."""
    lines = [f"[{key}]"]
    for name, field in (model.model_fields.items() if model is not None else ()):
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        if value is not None and _section_model(field.annotation) is None:
            lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines)


def render() -> str:
    """The whole program reference page, in Markdown."""
    lines = [
        "# Program reference",
        "",
        f"<!-- Generated from loyalty_sdk/core/program.py; do not edit. Regenerate: {REGENERATE} -->",
        "",
        "A program is one TOML file, `loyalty.toml` (`loyalty init` writes a commented one; point",
        "`LOYALTY_PROGRAM` at it). Every section is optional, and so is every key not marked required:",
        "what you leave out takes the default below. An unknown key, a value of the wrong type or out",
        "of range is a `ProgramError` naming the key path and the value, e.g.",
        "`loyalty.toml: earn.pending_days: Input should be greater than or equal to 0 (got -1)`.",
        "",
        "Money and rates are exact decimals: write them as strings (`\"0.01\"`) or plain numbers;",
        "TOML floats are read as the decimal they spell. Each ledger transaction records the",
        "program's version, a hash of its validated content, so changing the file never rewrites",
        "what was already computed.",
        "",
    ]
    lines.extend(_sections())
    lines.extend([
        "## The default program",
        "",
        "What runs when `LOYALTY_PROGRAM` is unset, and what `loyalty init` writes:",
        "",
        "```toml",
        default_program_text().strip("\n"),
        "```",
    ])
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
