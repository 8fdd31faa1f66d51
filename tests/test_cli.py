import json
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from loyalty_sdk.cli import app, parse_as_of, parse_points
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.plugin_host import BUILTIN_PLUGINS
from loyalty_sdk.core.program import default_program_text, load_program
from loyalty_sdk.facade import Loyalty

runner = CliRunner()
BOOK_KEYS = ("members", "orders", "points", "tiers", "liability")
SMALL_DEMO = ["demo", "--customers", "50", "--orders", "400", "--json"]


def _env(database: Path, **extra: str) -> dict[str, str | None]:
    """A clean LOYALTY_ environment on ``database`` (env given to CliRunner is restored after)."""
    cleared: dict[str, str | None] = {name: None for name in os.environ if name.startswith("LOYALTY_")}
    return {**cleared, "LOYALTY_DATABASE_URL": f"sqlite:///{database}", **extra}


def invoke(args: list[str], env: dict[str, str | None]):
    return runner.invoke(app, args, env=env)


def as_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_clean_error(result, *needles: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return _env(tmp_path / "ledger.db")


@pytest.fixture
def member(env: dict[str, str | None]) -> str:
    with Loyalty(env["LOYALTY_DATABASE_URL"], entry_points=False) as loyalty:
        loyalty.enroll("cust-1", email="ada@example.com", name="Ada")
    return "cust-1"


# -- init ------------------------------------------------------------------------------------------


def test_init_writes_a_program_that_loads(tmp_path: Path, env) -> None:
    target = tmp_path / "loyalty.toml"
    result = invoke(["init", str(target)], env)
    assert result.exit_code == 0, result.output
    assert target.read_text() == default_program_text()
    assert load_program(target).program.name


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, env) -> None:
    target = tmp_path / "loyalty.toml"
    target.write_text("# mine\n")
    assert_clean_error(invoke(["init", str(target)], env), "already exists", "--force")
    assert target.read_text() == "# mine\n"
    assert invoke(["init", str(target), "--force"], env).exit_code == 0
    assert target.read_text() == default_program_text()


def test_init_defaults_to_loyalty_toml_in_the_current_directory(tmp_path: Path, env, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(["init"], env).exit_code == 0
    assert (tmp_path / "loyalty.toml").exists()


# -- demo (each year is replayed once per module; they take a few seconds) -------------------------


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> dict[str, dict]:
    runs = {}
    for name, seed in (("first", "42"), ("again", "42"), ("other", "7")):
        database = tmp_path_factory.mktemp(name) / "demo.db"
        runs[name] = as_json(invoke([*SMALL_DEMO, "--seed", seed], _env(database)))
    return runs


def test_demo_json_has_the_stable_keys(demo_runs) -> None:
    books = demo_runs["first"]
    assert set(BOOK_KEYS) | {"doctor", "seed", "elapsed_seconds"} <= set(books)
    assert {"issued", "redeemed", "expired", "clawed_back", "adjusted", "outstanding"} <= set(books["points"])
    assert books["members"] == 50 and books["orders"] == 400 and books["seed"] == 42
    assert books["doctor"]["ok"] is True
    assert books["liability"]["currency"] == "USD"


def test_demo_with_the_same_seed_gives_the_same_books(demo_runs) -> None:
    first, again = demo_runs["first"], demo_runs["again"]
    assert {key: first[key] for key in BOOK_KEYS} == {key: again[key] for key in BOOK_KEYS}
    without_time = {key: value for key, value in first.items() if key != "elapsed_seconds"}
    assert without_time == {key: value for key, value in again.items() if key != "elapsed_seconds"}


def test_demo_with_another_seed_gives_other_books(demo_runs) -> None:
    assert demo_runs["first"]["points"] != demo_runs["other"]["points"]


def test_demo_exercises_every_ledger_path(demo_runs) -> None:
    for books in demo_runs.values():
        points, replayed = books["points"], books["replayed"]
        assert points["redeemed"] > 0
        assert points["clawed_back"] > 0
        assert points["expired"] > 0
        assert replayed["refunds"] > 0 and replayed["cancellations"] > 0
        assert sum(1 for count in books["tiers"].values() if count) > 1
        assert points["issued"] + points["adjusted"] == (
            points["redeemed"] + points["expired"] + points["clawed_back"] + points["outstanding"])


def test_demo_twice_on_one_database_uses_a_fresh_shop(tmp_path: Path) -> None:
    env = _env(tmp_path / "demo.db")
    small = ["demo", "--customers", "5", "--orders", "20", "--json"]
    first = as_json(invoke(small, env))
    result = invoke(small, env)
    second = as_json(result)
    assert (first["shop"], second["shop"]) == ("demo", "demo-2")
    assert "already holds demo data" in result.stderr
    assert {key: first[key] for key in BOOK_KEYS} == {key: second[key] for key in BOOK_KEYS}


def test_demo_prints_a_summary(tmp_path: Path) -> None:
    result = invoke(["demo", "--customers", "5", "--orders", "20"], _env(tmp_path / "demo.db"))
    assert result.exit_code == 0, result.output
    for text in ("members", "issued", "redeemed", "expired", "clawed back", "outstanding", "liability", "bronze",
                 "ledger checks pass"):
        assert text in result.stdout


# -- members ---------------------------------------------------------------------------------------


def test_adjust_then_show_round_trip(env, member) -> None:
    added = as_json(invoke(["members", "adjust", member, "150", "--reason", "welcome gift", "--json"], env))
    assert added["points"] == 150 and added["balance"]["available"] == 150
    taken = as_json(invoke(["members", "adjust", member, "-50", "--reason", "typo fix", "--json"], env))
    assert taken["points"] == -50 and taken["balance"]["available"] == 100

    shown = as_json(invoke(["members", "show", "ada@example.com", "--json"], env))
    assert shown["member"]["customer_id"] == member
    assert shown["member"]["available"] == 100
    assert [line["reason"] for line in shown["history"]][:2] == ["typo fix", "welcome gift"]
    assert [lot["remaining"] for lot in shown["lots"]] == [100]
    assert shown["lots"][0]["expires_at"]


def test_show_prints_a_readable_page(env, member) -> None:
    invoke(["members", "adjust", member, "25", "--reason", "survey answered"], env)
    result = invoke(["members", "show", member], env)
    assert result.exit_code == 0, result.output
    assert "survey answered" in result.stdout and "ada@example.com" in result.stdout


def test_adjust_with_the_same_key_posts_once(env, member) -> None:
    args = ["members", "adjust", member, "10", "--reason", "goodwill", "--key", "ticket-7", "--json"]
    assert as_json(invoke(args, env))["replayed"] is False
    again = as_json(invoke(args, env))
    assert again["replayed"] is True and again["balance"]["available"] == 10


def test_adjust_without_reason_is_a_usage_error(env, member) -> None:
    result = invoke(["members", "adjust", member, "100"], env)
    assert_clean_error(result, "--reason")


def test_adjust_with_a_blank_reason_is_refused(env, member) -> None:
    assert_clean_error(invoke(["members", "adjust", member, "100", "--reason", " "], env), "error:", "reason")


@pytest.mark.parametrize("points", ["1.5", "10.0", "1e3", "ten", "0x10", ""])
def test_adjust_refuses_points_that_are_not_whole_numbers(env, member, points) -> None:
    assert_clean_error(invoke(["members", "adjust", member, points, "--reason", "x"], env), "error:", "POINTS")


def test_parse_points() -> None:
    assert parse_points("150") == 150
    assert parse_points("-50") == -50
    assert parse_points("+1_000") == 1000
    with pytest.raises(InvalidInput, match="whole number"):
        parse_points("2.0")


def test_removing_more_than_available_is_refused(env, member) -> None:
    assert_clean_error(invoke(["members", "adjust", member, "-5", "--reason", "oops"], env), "error:")


def test_unknown_member_is_a_clean_error(env) -> None:
    assert_clean_error(invoke(["members", "show", "nobody"], env), "error:", "nobody")


def test_unknown_shop_is_not_created_by_a_typo(env, member) -> None:
    assert_clean_error(invoke(["members", "show", member, "--shop", "defualt"], env), "no shop 'defualt'")
    assert [shop["id"] for shop in as_json(invoke(["shops", "list", "--json"], env))["shops"]] == ["default"]


# -- jobs, doctor, plugins -------------------------------------------------------------------------


def test_jobs_run_as_of_a_date(env, member) -> None:
    report = as_json(invoke(["jobs", "run", "--as-of", "2026-06-01", "--json"], env))
    assert report["as_of"] == "2026-06-01T00:00:00-04:00"  # midnight in the program's time zone
    assert {"released", "expired", "expired_points", "reminders", "tier_changes", "events_delivered"} <= set(report)


def test_jobs_run_expires_points_as_of_a_later_datetime(env, member) -> None:
    as_json(invoke(["members", "adjust", member, "80", "--reason", "promo", "--json"], env))
    far = "2099-01-01T00:00:00+00:00"
    report = as_json(invoke(["jobs", "run", "--as-of", far, "--json"], env))
    assert report["expired_points"] == 80
    assert as_json(invoke(["members", "show", member, "--json"], env))["member"]["available"] == 0


def test_jobs_run_refuses_a_malformed_date(env) -> None:
    assert_clean_error(invoke(["jobs", "run", "--as-of", "next tuesday"], env), "error:", "--as-of")


def test_doctor_json_ok(env, member) -> None:
    invoke(["members", "adjust", member, "10", "--reason", "x"], env)
    report = as_json(invoke(["doctor", "--json"], env))
    assert report["ok"] is True
    assert all(check["ok"] for check in report["checks"].values())


def test_doctor_prints_passing_checks(env) -> None:
    result = invoke(["doctor"], env)
    assert result.exit_code == 0 and "ledger checks pass" in result.stdout


def test_plugins_lists_the_builtins_with_their_hooks(env) -> None:
    listed = {plugin["name"]: plugin for plugin in as_json(invoke(["plugins", "--json"], env))["plugins"]}
    assert set(BUILTIN_PLUGINS) <= set(listed)
    earning = listed["loyalty_sdk.plugins.earning"]
    assert earning["distribution"] == "loyalty-sdk"
    assert "loyalty_order_awards" in earning["hooks"]
    assert "loyalty_resolve_tier" in listed["loyalty_sdk.plugins.tiers"]["hooks"]


def test_plugins_table(env) -> None:
    result = invoke(["plugins"], env)
    assert result.exit_code == 0 and "loyalty_sdk.plugins.earning" in result.stdout


def test_plugins_lists_an_installed_plugin_with_its_distribution(env, install_plugin) -> None:
    install_plugin("""
        from loyalty_sdk import hookimpl

        @hookimpl
        def loyalty_resolve_tier(member, stats, program):
            return None
    """)
    listed = {plugin["name"]: plugin for plugin in as_json(invoke(["plugins", "--json"], env))["plugins"]}
    assert listed["acme_rules"] == {"name": "acme_rules", "distribution": "acme-rules", "version": "1.2.3",
                                    "hooks": ["loyalty_resolve_tier"]}
    assert "acme-rules 1.2.3" in invoke(["plugins"], env).stdout


def test_plugins_names_a_plugin_implementing_an_unknown_hook(env, install_plugin) -> None:
    install_plugin("""
        from loyalty_sdk import hookimpl

        @hookimpl
        def loyalty_tier(member, stats, program):
            return None
    """)
    assert_clean_error(invoke(["plugins"], env), "plugin 'acme_rules'", "unknown hook 'loyalty_tier'")


# -- configuration errors --------------------------------------------------------------------------


def test_invalid_program_names_the_field(tmp_path: Path) -> None:
    program = tmp_path / "loyalty.toml"
    program.write_text("[earn]\npending_days = -3\n")
    result = invoke(["doctor"], _env(tmp_path / "ledger.db", LOYALTY_PROGRAM=str(program)))
    assert_clean_error(result, "error:", "earn.pending_days", "-3")


def test_missing_program_file_is_a_clean_error(tmp_path: Path) -> None:
    result = invoke(["demo", "--customers", "1", "--orders", "1"],
                    _env(tmp_path / "ledger.db", LOYALTY_PROGRAM=str(tmp_path / "nope.toml")))
    assert_clean_error(result, "error:", "nope.toml")


# -- db and shops ----------------------------------------------------------------------------------


def test_db_upgrade_prints_the_revision(env) -> None:
    revision = as_json(invoke(["db", "upgrade", "--json"], env))["revision"]
    assert revision
    result = invoke(["db", "upgrade"], env)
    assert result.exit_code == 0 and revision in result.stdout


def test_shops_add_and_list(env) -> None:
    added = as_json(invoke(["shops", "add", "shopify", "north.myshopify.com", "--currency", "eur", "--timezone",
                            "Europe/Paris", "--json"], env))
    assert added["currency"] == "EUR"
    invoke(["shops", "add", "stripe", "acct-main"], env)
    shops = {shop["id"]: shop for shop in as_json(invoke(["shops", "list", "--json"], env))["shops"]}
    assert shops["north.myshopify.com"]["platform"] == "shopify"
    assert shops["north.myshopify.com"]["timezone"] == "Europe/Paris"
    assert shops["acct-main"]["currency"] == "USD"  # the program's currency by default
    assert shops["acct-main"]["members"] == 0


def test_a_registered_shop_can_be_used(env) -> None:
    invoke(["shops", "add", "woocommerce", "https://wc.example.com"], env)
    assert as_json(invoke(["doctor", "--shop", "https://wc.example.com", "--json"], env))["ok"] is True


@pytest.mark.parametrize(("args", "needle"), [
    (["shops", "add", "shopify", "x", "--currency", "XXY"], "XXY"),
    (["shops", "add", "shopify", "x", "--timezone", "Mars/Olympus"], "Mars/Olympus"),
    (["shops", "add", "Shopify!", "x"], "PLATFORM"),
])
def test_shops_add_refuses_bad_input(env, args, needle) -> None:
    assert_clean_error(invoke(args, env), "error:", needle)


def test_shops_add_refuses_a_duplicate(env) -> None:
    invoke(["shops", "add", "stripe", "acct-1"], env)
    assert_clean_error(invoke(["shops", "add", "stripe", "acct-1"], env), "already exists")


def test_parse_as_of() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert parse_as_of("2026-03-01", paris) == datetime(2026, 3, 1, tzinfo=paris)
    assert parse_as_of("2026-03-01T12:30", paris) == datetime(2026, 3, 1, 12, 30, tzinfo=paris)
    assert parse_as_of("2026-03-01T12:30Z", paris) == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="--as-of"):
        parse_as_of("March 1st", paris)


def test_a_malformed_database_url_is_a_clean_error(tmp_path: Path) -> None:
    result = invoke(["doctor"], {**_env(tmp_path / "x.db"), "LOYALTY_DATABASE_URL": "not a url"})
    assert_clean_error(result, "LOYALTY_DATABASE_URL")


def test_an_unopenable_database_is_a_clean_error(tmp_path: Path) -> None:
    result = invoke(["doctor"], _env(tmp_path / "missing-dir" / "x.db"))
    assert_clean_error(result, "error: database", code=1)
