"""docs/program.md is the page the program schema generates today, and documents every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalty_sdk import docs_program
from loyalty_sdk.core.errors import ProgramError
from loyalty_sdk.core.program import (
    ActivityRule,
    Campaign,
    Clawback,
    EarnRules,
    Expiry,
    Program,
    ProgramInfo,
    RewardRule,
    Stacking,
    TierLevel,
    Tiers,
    program_from_toml,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "program.md"


def test_the_page_is_current() -> None:
    assert PAGE.read_text() == docs_program.render(), (
        f"docs/program.md is stale; regenerate it: {docs_program.REGENERATE}")


def test_every_section_and_key_of_the_schema_is_on_the_page() -> None:
    page = docs_program.render()
    for section, field in Program.model_fields.items():
        assert f"[{section}" in page, f"section {section} is missing"
        model = docs_program._section_model(field.annotation)
        for key, inner in (model.model_fields.items() if model is not None else ()):
            nested = docs_program._section_model(inner.annotation)
            if nested is None:
                assert f"| `{key}` |" in page, f"{section}.{key} is missing"
                continue
            assert f"[[{section}.{key}]]" in page, f"section {section}.{key} is missing"
            for nested_key in nested.model_fields:
                assert f"| `{nested_key}` |" in page, f"{section}.{key}.{nested_key} is missing"


def test_a_row_shows_type_default_and_the_fields_docstring() -> None:
    earn = docs_program.render().split("## `[earn]`", 1)[1].split("\n## ", 1)[0]
    assert ("| `pending_days` | integer ≥ 0 | `14` | Days earned points stay pending (the return window) "
            "before they can be spent; 0: at once. |") in earn
    assert '| `rounding` | `"floor"` \\| `"ceil"` \\| `"half_up"` \\| `"half_even"` | `"floor"` |' in earn
    assert "| `max_points_per_order` | integer ≥ 0, optional | unset |" in earn


@pytest.mark.parametrize("model", [ProgramInfo, EarnRules, Stacking, Campaign, ActivityRule, Tiers, TierLevel, Expiry,
                                   Clawback, RewardRule], ids=lambda model: model.__name__)
def test_every_key_of_a_core_section_says_what_it_means(model: type) -> None:
    undocumented = [name for name in model.model_fields if not docs_program.field_docs(model).get(name)]
    assert undocumented == []


@pytest.mark.parametrize("section", sorted(docs_program.EXAMPLES))
def test_each_written_example_is_a_valid_program_of_its_section(section: str) -> None:
    example = docs_program.EXAMPLES[section]
    program = program_from_toml(example, source=f"example of {section}")
    assert program.model_dump()[section] != Program().model_dump()[section], "the example changes nothing"


def test_the_error_the_page_quotes_is_the_one_a_reader_gets() -> None:
    quoted = docs_program.render().split("naming the key path and the value, e.g.\n`", 1)[1].split("`", 1)[0]
    with pytest.raises(ProgramError) as caught:
        program_from_toml("[earn]\npending_days = -1\n")
    assert str(caught.value) == quoted


def test_a_section_without_a_written_example_gets_one_from_its_defaults() -> None:
    example = docs_program._defaults_example("expiry", Expiry)
    assert example.splitlines()[0] == "[expiry]"
    assert program_from_toml(example).expiry == Expiry()
