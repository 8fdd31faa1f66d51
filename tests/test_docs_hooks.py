"""docs/hooks.md documents every hook, and is the page the hookspecs generate today."""

from __future__ import annotations

from pathlib import Path

import pluggy

from loyalty_sdk import docs_hooks
from loyalty_sdk.core import hookspecs

PAGE = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_every_hook_is_typed_and_documented_with_an_example() -> None:
    problems = [problem for name, spec in docs_hooks.hook_specs()
                for problem in docs_hooks.missing_documentation(name, spec)]
    assert problems == [], "hookspecs need types, ':param name:' and ':returns:' lines and an example:\n" + \
        "\n".join(problems)


def test_every_registered_hook_is_found_by_the_generator() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registered = {name for name in vars(manager.hook) if name.startswith("loyalty_")}
    assert [name for name, _ in docs_hooks.hook_specs()] and registered == {n for n, _ in docs_hooks.hook_specs()}


def test_an_undocumented_hook_is_reported() -> None:
    @hookspecs.hookspec
    def loyalty_something(member, program):  # noqa: ANN001 - untyped on purpose
        """Something happened."""

    assert docs_hooks.missing_documentation("loyalty_something", loyalty_something) == [
        "loyalty_something: argument 'member' has no type",
        "loyalty_something: argument 'member' is not described (':param member:')",
        "loyalty_something: argument 'program' has no type",
        "loyalty_something: argument 'program' is not described (':param program:')",
        "loyalty_something: no return type",
        "loyalty_something: the result contract is not described (':returns:')",
        "loyalty_something: no example ('Example: ...::' followed by code)",
    ]


def test_the_page_is_current() -> None:
    assert PAGE.read_text() == docs_hooks.render(), (
        f"docs/hooks.md is stale; regenerate it: {docs_hooks.REGENERATE}")


def test_each_hook_has_a_section_headed_by_its_signature_with_example_and_builtin_link() -> None:
    page = docs_hooks.render()
    section = page.split("## `loyalty_resolve_tier(", 1)[1].split("\n## ", 1)[0]
    assert section.startswith("member: Member, stats: TierStats, program: Program) -> TierDecision | None`")
    assert "*firstresult: the first non-None result wins*" in section
    assert "- `stats`: the member's qualifying events" in section
    assert "```python\n@hookimpl\ndef loyalty_resolve_tier(member, stats, program):" in section
    assert "[`loyalty_sdk/plugins/tiers.py`](../loyalty_sdk/plugins/tiers.py)" in section
    for path in ("loyalty_sdk/plugins/tiers.py", "loyalty_sdk/server/custom.py"):
        assert (PAGE.parents[1] / path).is_file()  # the links lead somewhere
