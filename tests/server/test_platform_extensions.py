"""A platform adapter's optional extensions: ``commands`` mounted as ``loyalty <platform>
...``, and ``run_jobs`` called by the scheduler for each shop of its platform, under the
shop's lease."""

from __future__ import annotations

import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from test_cli import _env, as_json, assert_clean_error, invoke

from loyalty_sdk import hookimpl
from loyalty_sdk.console import JsonFlag, print_json
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.server.platforms import ShopRecord
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.scheduler import Scheduler
from loyalty_sdk.settings import Settings

commands = typer.Typer(no_args_is_help=True, help="The acme platform's own commands.")
ran: list[tuple[str, str, datetime]] = []


@commands.command("hello")
def hello(name: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """Greet, or refuse a name the way every command refuses bad input."""
    if name == "nobody":
        raise InvalidInput("nobody is not a name", field="name", value=name)
    print_json({"hello": name})


@commands.command("again")
def again() -> None:
    """A second command, so the app is a group."""


class AcmeAdapter:
    name = "acme"
    webhook_paths = ()
    commands = commands

    def verify(self, request: Any, shops: Any) -> None:
        return None

    def parse(self, delivery: Any, shop: Any) -> list[Any]:
        return []

    def run_jobs(self, runtime: Runtime, shop: ShopRecord, now: datetime) -> None:
        ran.append((shop.id, shop.platform, now))
        if shop.id == "broken.example":
            raise RuntimeError("the store is down")


@hookimpl
def loyalty_platforms() -> list[AcmeAdapter]:
    return [AcmeAdapter()]


@pytest.fixture
def acme_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module installed as the ``acme`` platform plugin (its entry point, and no other)."""
    found = [metadata.EntryPoint("acme", __name__, "loyalty_sdk")]
    monkeypatch.setattr("loyalty_sdk.core.plugin_host.metadata.entry_points", lambda group: found)


def test_a_platforms_commands_are_mounted_under_its_name(acme_entry_point, tmp_path: Path):
    env = _env(tmp_path / "ledger.db")
    assert as_json(invoke(["acme", "hello", "ada", "--json"], env)) == {"hello": "ada"}
    listed = invoke(["--help"], env)
    assert listed.exit_code == 0 and "acme" in listed.stdout and "The acme platform" in listed.stdout
    assert_clean_error(invoke(["acme", "hello", "nobody"], env), "nobody is not a name")
    assert invoke(["elsewhere"], env).exit_code == 2  # no platform of that name: click's usage error
    # A built-in command keeps its name: a platform called like one cannot take it over.
    assert "Replay a synthetic year" in invoke(["demo", "--help"], env).stdout


def test_the_scheduler_runs_each_platform_shops_jobs_under_its_lease(database_url: str, clock):
    ran.clear()
    plugin = sys.modules[__name__]
    with Runtime(Settings(database_url=database_url), plugins=[plugin], clock=clock, entry_points=False) as runtime:
        for shop_id, platform in (("a.example", "acme"), ("broken.example", "acme"), ("c.example", "custom"),
                                  ("d.example", "acme")):
            runtime.add_shop(shop_id, platform)
        first = Scheduler(runtime, name="scheduler-1").run_once()
        # A failing platform job is logged; the shops after it still get theirs.
        assert [(shop, platform) for shop, platform, _ in ran] == [
            ("a.example", "acme"), ("broken.example", "acme"), ("d.example", "acme")]
        assert all(when == clock.now for _, _, when in ran) and all(first.values())
        ran.clear()
        second = Scheduler(runtime, name="scheduler-2").run_once()
        assert ran == [] and not any(second.values())  # the first scheduler holds every lease
