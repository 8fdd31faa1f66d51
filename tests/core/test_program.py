"""loyalty.toml: validated on load, with errors that name the key path and the value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty_sdk.core.errors import ProgramError
from loyalty_sdk.core.program import load_program, program_from_mapping, program_from_toml

from . import base_program

GOOD = """
[program]
name = "Northwind Rewards"
point_value = "0.01"

[earn]
points_per_unit = 1
rates = { JPY = 0.01 }
rounding = "floor"
pending_days = 14
"""


def test_the_built_in_program_loads():
    program = load_program(None)
    assert program.program.currency == "USD"
    assert program.earn.pending_days == 14
    assert [level.id for level in program.tiers.levels] == ["bronze", "silver", "gold"]
    assert program.reward("5-off").points == 500


def test_toml_numbers_are_exact_decimals():
    program = program_from_toml(GOOD)
    # A TOML float 0.01 is read as exactly Decimal("0.01"), never the binary 0.01000000000000000020816...
    assert program.earn.rates["JPY"] == Decimal("0.01")
    assert program.earn.rate("JPY") == Decimal("0.01")
    assert program.earn.rate("USD") == Decimal(1)
    assert program.program.point_value == Decimal("0.01")


def test_a_program_loads_from_a_file(tmp_path):
    path = tmp_path / "loyalty.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_program(path).program.name == "Northwind Rewards"
    assert load_program(str(path)).program.name == "Northwind Rewards"


def test_the_version_is_a_content_hash():
    one = program_from_mapping(base_program())
    same = program_from_mapping(base_program())
    other = program_from_mapping(base_program(earn={"points_per_unit": 2}))
    assert one.version == same.version
    assert one.version != other.version
    assert len(one.version) == 12


def test_plugin_sections_are_kept_for_their_plugins_and_change_the_version():
    toml = '[plugins.weekend_coffee]\ncollection = "coffee"\nmultiplier = "2"\n'
    program = program_from_toml(toml)
    assert program.plugins == {"weekend_coffee": {"collection": "coffee", "multiplier": "2"}}
    assert program.version != program_from_toml("").version
    assert bad("[plugins]\nweekend_coffee = 3\n").field == "plugins.weekend_coffee"


def bad(toml: str, tmp_path=None) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        program_from_toml(toml)
    return caught.value


def test_an_unknown_key_is_named_with_its_path():
    error = bad("[earn]\npoint_per_unit = 1\n")
    assert error.field == "earn.point_per_unit"
    assert "earn.point_per_unit" in str(error)
    assert "loyalty.toml" in str(error)


def test_an_unknown_section_is_named():
    error = bad("[earning]\npoints_per_unit = 1\n")
    assert error.field == "earning"
    assert "earning" in str(error)


@pytest.mark.parametrize(
    ("toml", "path", "value"),
    [
        ("[earn]\npending_days = -1\n", "earn.pending_days", "-1"),
        ("[earn]\nrounding = 'nearest'\n", "earn.rounding", "'nearest'"),
        ("[earn]\npoints_per_unit = -2\n", "earn.points_per_unit", "-2"),
        ("[program]\npoint_value = 'lots'\n", "program.point_value", "'lots'"),
        ("[expiry]\nmode = 'sometimes'\n", "expiry.mode", "'sometimes'"),
        ("[expiry]\ndays = 0\n", "expiry.days", "0"),
        ("[clawback]\nspent_points = 'ignore'\n", "clawback.spent_points", "'ignore'"),
        ("[clawback]\nmax_negative = -5\n", "clawback.max_negative", "-5"),
        ("[tiers]\nwindow = 'fortnight'\n", "tiers.window", "'fortnight'"),
    ],
)
def test_a_bad_value_is_named_with_its_path_and_value(toml, path, value):
    error = bad(toml)
    assert error.field == path
    assert path in str(error)
    assert value in str(error)


def test_an_unknown_currency_is_named():
    error = bad("[program]\ncurrency = 'XYZ'\n")
    assert error.field == "program.currency"
    assert "program.currency" in str(error) and "XYZ" in str(error)


def test_an_unknown_rate_currency_is_named():
    error = bad("[earn]\nrates = { ABC = 2 }\n")
    assert error.field == "earn.rates"
    assert "ABC" in str(error)


def test_an_unknown_time_zone_is_named():
    error = bad("[program]\ntimezone = 'Mars/Olympus'\n")
    assert error.field == "program.timezone"
    assert "Mars/Olympus" in str(error)


def test_tier_thresholds_must_increase():
    error = bad(
        "[[tiers.levels]]\nid = 'gold'\nthreshold = 1500\n[[tiers.levels]]\nid = 'silver'\nthreshold = 500\n"
    )
    assert error.field == "tiers.levels"
    assert "1500" in str(error) and "500" in str(error)


def test_a_reward_limited_to_an_unknown_tier_is_refused():
    data = base_program(rewards=[{"id": "r", "name": "R", "kind": "free_shipping", "points": 10,
                                  "tiers": ["platinum"]}])
    with pytest.raises(ProgramError) as caught:
        program_from_mapping(data)
    assert "platinum" in str(caught.value)


def test_a_reward_of_the_wrong_shape_is_refused_by_id():
    data = base_program(rewards=[{"id": "half", "name": "Half off", "kind": "percent_off", "points": 10,
                                  "value": "150"}])
    with pytest.raises(ProgramError) as caught:
        program_from_mapping(data)
    assert "half" in str(caught.value) and "150" in str(caught.value)
    assert caught.value.field.startswith("rewards.0")


def test_every_problem_is_reported_at_once():
    error = bad("[earn]\npending_days = -1\nrounding = 'nearest'\n")
    assert "earn.pending_days" in str(error) and "earn.rounding" in str(error)


def test_toml_syntax_errors_are_program_errors():
    error = bad("[earn\npending_days = 1\n")
    assert "not valid TOML" in str(error)


def test_a_missing_file_is_a_program_error(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ProgramError) as caught:
        load_program(missing)
    assert str(missing) in str(caught.value)


def test_a_file_error_names_the_file(tmp_path):
    path = tmp_path / "loyalty.toml"
    path.write_text("[earn]\npending_days = 'two weeks'\n", encoding="utf-8")
    with pytest.raises(ProgramError) as caught:
        load_program(path)
    assert str(path) in str(caught.value)
    assert "earn.pending_days" in str(caught.value) and "two weeks" in str(caught.value)


def test_a_programs_version_is_the_same_in_every_process():
    # Sets (a reward's tiers) iterate in hash order, which PYTHONHASHSEED changes between
    # processes: the version must not depend on it, or one program would carry two versions.
    import os
    import subprocess
    import sys

    code = "from loyalty_sdk.core.program import load_program; print(load_program(None).version)"
    versions = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, check=True,
                       capture_output=True, text=True).stdout.strip()
        for seed in ("1", "2", "3", "4")
    }
    assert len(versions) == 1
    assert versions == {load_program(None).version}
