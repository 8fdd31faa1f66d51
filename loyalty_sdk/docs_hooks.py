"""Render the hooks reference (``docs/hooks.md``) from the hookspecs' own signatures and docstrings.

The page is generated so it cannot drift from the code: ``tests/test_docs_hooks.py`` fails when
it is stale. Regenerate it with::

    python -m loyalty_sdk.docs_hooks > docs/hooks.md
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from loyalty_sdk.core import hookspecs
from loyalty_sdk.core.plugin_host import BUILTIN_PLUGINS

REGENERATE = "python -m loyalty_sdk.docs_hooks > docs/hooks.md"
# Where the page links built-in implementations from: docs/ sits beside loyalty_sdk/.
_SOURCE_ROOT = Path(hookspecs.__file__).resolve().parents[2]
# Built-in behaviour that is registered outside BUILTIN_PLUGINS (the custom-store platform).
_OTHER_IMPLEMENTERS = ("loyalty_sdk.server.custom",)
_EXAMPLE = re.compile(r"^Example\b.*::\s*$", re.MULTILINE)


def hook_specs() -> list[tuple[str, Callable[..., Any]]]:
    """Every ``loyalty_*`` hookspec in declaration order."""
    specs = [
        (name, value) for name, value in vars(hookspecs).items()
        if name.startswith("loyalty_") and callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
    ]
    return sorted(specs, key=lambda item: item[1].__code__.co_firstlineno)


def missing_documentation(name: str, spec: Callable[..., Any]) -> list[str]:
    """What the hook's spec lacks to be documented: annotations, argument docs, an example."""
    problems = []
    signature = inspect.signature(spec)
    doc = inspect.getdoc(spec) or ""
    for parameter in signature.parameters.values():
        if parameter.annotation is inspect.Parameter.empty:
            problems.append(f"{name}: argument {parameter.name!r} has no type")
        if f":param {parameter.name}:" not in doc:
            problems.append(f"{name}: argument {parameter.name!r} is not described (':param {parameter.name}:')")
    if signature.return_annotation is inspect.Signature.empty:
        problems.append(f"{name}: no return type")
    if ":returns:" not in doc:
        problems.append(f"{name}: the result contract is not described (':returns:')")
    if not _EXAMPLE.search(doc):
        problems.append(f"{name}: no example ('Example: ...::' followed by code)")
    return problems


def implementers(name: str) -> list[str]:
    """Paths (relative to the repository root) of built-in modules implementing ``name``."""
    found = []
    for module_name in (*BUILTIN_PLUGINS, *_OTHER_IMPLEMENTERS):
        module = importlib.import_module(module_name)
        function = getattr(module, name, None)
        if function is not None and hasattr(function, f"{hookspecs.PROJECT}_impl"):
            found.append(Path(module.__file__).resolve().relative_to(_SOURCE_ROOT).as_posix())
    return found


_FIELD = re.compile(r"^:(param (\w+)|returns):\s*")
_ROLE = re.compile(r":(?:class|func|mod|meth):`~?([^`]+)`")


def _markdown(prose: str) -> str:
    """The docstring's reST fields and roles as Markdown: one list item per argument."""
    out: list[str] = []
    for line in prose.strip().splitlines():
        field = _FIELD.match(line)
        if field:
            label = f"`{field.group(2)}`" if field.group(2) else "**Returns**"
            line = f"- {label}: {line[field.end():]}"
        elif line.startswith("    ") and out and out[-1].startswith("- "):
            out[-1] += " " + line.strip()  # a field's continuation lines join its list item
            continue
        out.append(line)
    text = "\n".join(out).replace("``", "`")
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


def _options(spec: Callable[..., Any]) -> str:
    options = getattr(spec, f"{hookspecs.PROJECT}_spec")
    if options.get("firstresult"):
        return "firstresult: the first non-None result wins"
    return "collected: every implementation is called"


def _section(name: str, spec: Callable[..., Any]) -> Iterator[str]:
    signature = str(inspect.signature(spec)).replace("'", "")
    doc = inspect.getdoc(spec) or ""
    match = _EXAMPLE.search(doc)
    prose, example = (doc[: match.start()], doc[match.end():]) if match else (doc, "")
    title = match.group(0).strip().rstrip(":") if match else ""
    yield f"## `{name}{signature}`"
    yield ""
    yield f"*{_options(spec)}*"
    yield ""
    yield _markdown(prose)
    yield ""
    if example.strip():
        yield f"{title}:"
        yield ""
        yield "```python"
        yield textwrap.dedent(example).strip("\n")
        yield "```"
        yield ""
    links = implementers(name)
    if links:
        yield "Built-in implementation: " + ", ".join(f"[`{path}`](../{path})" for path in links)
        yield ""


def render() -> str:
    """The whole hooks reference page, in Markdown."""
    lines = [
        "# Hooks reference",
        "",
        f"<!-- Generated from loyalty_sdk/core/hookspecs.py; do not edit. Regenerate: {REGENERATE} -->",
        "",
        "Implement a hook with `@loyalty_sdk.hookimpl` on a function named like the hook; an",
        "implementation may take fewer arguments than the spec. Register the module through the",
        '`loyalty_sdk` entry-point group (`[project.entry-points.loyalty_sdk]`), and see',
        "`loyalty plugins` for what is loaded. A complete plugin distribution, with tests written",
        "with the fixtures of `loyalty_sdk.testing`, is in",
        "[`examples/weekend-coffee`](../examples/weekend-coffee/README.md).",
        "",
    ]
    for name, spec in hook_specs():
        lines.extend(_section(name, spec))
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
