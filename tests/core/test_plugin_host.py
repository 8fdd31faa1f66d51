"""The plugin host: entry points, the LOYALTY_*_PLUGINS switches, tracing and broken plugins."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from loyalty_sdk.core.errors import PluginError
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.facade import Loyalty

from . import T0

BONUS = """
    from loyalty_sdk import hookimpl
    from loyalty_sdk.core.models import Award

    @hookimpl
    def loyalty_order_awards(order, member, program):
        return [Award(7, "acme bonus", "acme.bonus")]
"""


@pytest.fixture(autouse=True)
def no_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("LOYALTY_DISABLED_PLUGINS", "LOYALTY_LOAD_PLUGINS", "LOYALTY_TRACE_PLUGINS"):
        monkeypatch.delenv(variable, raising=False)


def names(host: PluginHost) -> set[str]:
    return {info.name for info in host.plugins()}


def test_an_installed_plugin_is_loaded_with_its_distribution_and_hooks(install_plugin) -> None:
    install_plugin(BONUS)
    listed = {info.name: info for info in PluginHost().plugins()}
    assert listed["acme_rules"].distribution == "acme-rules"
    assert listed["acme_rules"].version == "1.2.3"
    assert listed["acme_rules"].hooks == ("loyalty_order_awards",)


def test_disabled_plugins_are_not_loaded(install_plugin, monkeypatch) -> None:
    install_plugin(BONUS)
    monkeypatch.setenv("LOYALTY_DISABLED_PLUGINS", "acme_rules, caps")
    loaded = names(PluginHost())
    assert "acme_rules" not in loaded and "loyalty_sdk.plugins.caps" not in loaded
    assert "loyalty_sdk.plugins.earning" in loaded


def test_load_plugins_is_an_allow_list_of_entry_points(install_plugin, monkeypatch) -> None:
    install_plugin(BONUS)
    install_plugin(BONUS, name="other_rules", distribution="other-rules")
    monkeypatch.setenv("LOYALTY_LOAD_PLUGINS", "other_rules")
    loaded = names(PluginHost())
    assert "other_rules" in loaded and "acme_rules" not in loaded
    assert "loyalty_sdk.plugins.earning" in loaded  # built-ins are not entry points


def test_an_unknown_hook_fails_at_start_naming_the_plugin(install_plugin) -> None:
    install_plugin("""
        from loyalty_sdk import hookimpl

        @hookimpl
        def loyalty_order_award(order, member, program):
            return []
    """)
    with pytest.raises(PluginError, match=r"plugin 'acme_rules'.*loyalty_order_award\b"):
        PluginHost()


def test_an_argument_the_spec_lacks_is_an_error_naming_the_plugin() -> None:
    class Typo:
        @hookimpl
        def loyalty_order_awards(self, order, customer):
            return []

    with pytest.raises(PluginError, match=r"plugin 'typo'.*customer"):
        PluginHost(entry_points=False).register(Typo(), name="typo")


def test_a_plugin_that_fails_to_import_names_itself(install_plugin) -> None:
    install_plugin("raise RuntimeError('no licence key')")
    with pytest.raises(PluginError, match=r"plugin 'acme_rules'.*failed to load: no licence key"):
        PluginHost()


def traced(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The plugin log of recording one order."""
    order = Order(order_id="1001", member=MemberRef.parse("c1"), placed_at=T0, currency="USD",
                  lines=[LineItem(line_id="mug", quantity=1, unit_price=Money(Decimal("12.00"), "USD"))])
    with caplog.at_level(logging.INFO, logger="loyalty_sdk.plugins"), \
            Loyalty("sqlite://", entry_points=False, clock=lambda: T0) as loyalty:
        loyalty.enroll("c1")
        loyalty.record_order(order)
    return [record.getMessage() for record in caplog.records if record.name == "loyalty_sdk.plugins"]


def test_trace_logs_every_hook_call_with_its_result(monkeypatch, caplog) -> None:
    monkeypatch.setenv("LOYALTY_TRACE_PLUGINS", "1")
    lines = traced(caplog)
    call = next(line for line in lines if line.startswith("call loyalty_order_awards("))
    assert "loyalty_sdk.plugins.earning" in call
    result = next(line for line in lines if line.startswith("result loyalty_order_awards:"))
    assert "Award(points=12, reason=" in result and "rule_id='earn.spend'" in result
    assert any(line.startswith("result loyalty_adjust_awards:") for line in lines)


@pytest.mark.parametrize("switch", ["", "0", "no"])
def test_no_trace_unless_asked(switch, monkeypatch, caplog) -> None:
    monkeypatch.setenv("LOYALTY_TRACE_PLUGINS", switch)
    assert traced(caplog) == []
