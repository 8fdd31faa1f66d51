"""The plugin manager factory and a typed facade over the hooks.

Core code calls the typed methods of :class:`PluginHost`, never ``pm.hook.*`` directly, so each
hook's reduction (sum, first result, veto) is written once. One host per engine; nothing is
discovered at import time.

Environment switches:

- ``LOYALTY_DISABLED_PLUGINS``: comma-separated plugin names not to load (built-ins included).
- ``LOYALTY_LOAD_PLUGINS``: when set, only these entry-point plugins are loaded.
- ``LOYALTY_TRACE_PLUGINS``: when set to a true value, every hook call and its result is logged
  to the ``loyalty_sdk.plugins`` logger.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

import pluggy
from attrs import frozen

from loyalty_sdk.core import hookspecs
from loyalty_sdk.core.errors import PluginError
from loyalty_sdk.core.models import (
    Activity,
    ActivityHistory,
    Award,
    Member,
    Order,
    Redemption,
    ReferralCheck,
    Reward,
    RewardUsage,
    TierDecision,
    TierStats,
)
from loyalty_sdk.core.program import Program

ENTRY_POINT_GROUP = "loyalty_sdk"
BUILTIN_PLUGINS: tuple[str, ...] = (
    "loyalty_sdk.plugins.earning",
    "loyalty_sdk.plugins.multipliers",
    "loyalty_sdk.plugins.caps",
    "loyalty_sdk.plugins.activities",
    "loyalty_sdk.plugins.tiers",
    "loyalty_sdk.plugins.rewards",
    "loyalty_sdk.plugins.referrals",
)
log = logging.getLogger("loyalty_sdk.plugins")


@frozen
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def _names(variable: str) -> set[str]:
    return {part.strip() for part in os.environ.get(variable, "").split(",") if part.strip()}


def _truthy(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in {"1", "true", "yes", "on"}


def _awards(result: Any, hook: str) -> list[Award]:
    awards: list[Award] = []
    for part in result:
        if part:
            awards.extend(part)
    for award in awards:
        if type(award) is not Award or type(award.points) is not int:
            raise PluginError(
                f"{hook} returned {award!r}; expected Award objects with integer points", field=hook, value=award
            )
    return awards


class PluginHost:
    """One plugin manager with its plugins registered and typed calls to its hooks."""

    def __init__(
        self,
        plugins: Iterable[object] = (),
        *,
        builtins: bool = True,
        entry_points: bool = True,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._distributions: dict[str, tuple[str, str]] = {}
        disabled = _names("LOYALTY_DISABLED_PLUGINS")
        if builtins:
            for module_name in BUILTIN_PLUGINS:
                if module_name not in disabled and module_name.rsplit(".", 1)[-1] not in disabled:
                    self.register(importlib.import_module(module_name), name=module_name)
        if entry_points:
            self._load_entry_points(disabled)
        for plugin in plugins:
            self.register(plugin)
        if _truthy("LOYALTY_TRACE_PLUGINS"):
            self._trace()

    # -- registration ---------------------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin (module or object). An implementation of a hook that does not exist,
        or with an argument its spec does not have, is a :class:`PluginError` naming the plugin."""
        try:
            registered = self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as error:  # an argument the spec lacks: checked on register
            raise _invalid(name or getattr(plugin, "__name__", None) or type(plugin).__name__, error) from None
        if registered is None:
            return name or self.pm.get_name(plugin) or ""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as error:
            self.pm.unregister(plugin)
            raise _invalid(registered, error) from None
        return registered

    def unregister(self, plugin: object) -> None:
        self.pm.unregister(plugin)

    def _load_entry_points(self, disabled: set[str]) -> None:
        allowed = _names("LOYALTY_LOAD_PLUGINS")
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if entry_point.name in disabled or (allowed and entry_point.name not in allowed):
                continue
            if self.pm.has_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # a broken third-party package must say who it is
                raise PluginError(
                    f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {error}",
                    field="plugin",
                    value=entry_point.name,
                ) from error
            self.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                self._distributions[entry_point.name] = (entry_point.dist.name, entry_point.dist.version)

    def _trace(self) -> None:
        def before(hook_name: str, impls: Sequence[Any], kwargs: dict[str, Any]) -> None:
            log.info("call %s(%s) -> %s", hook_name, ", ".join(kwargs), [i.plugin_name for i in impls])

        def after(outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: dict[str, Any]) -> None:
            log.info("result %s: %r", hook_name, outcome.get_result() if outcome.exception is None else outcome.exception)

        self.pm.add_hookcall_monitoring(before, after)

    def plugins(self) -> list[PluginInfo]:
        """Each loaded plugin with its distribution, version and the hooks it implements."""
        infos = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda item: item[0]):
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            dist, version = self._distributions.get(name, (None, None))
            if dist is None and name.startswith("loyalty_sdk."):
                dist, version = "loyalty-sdk", _own_version()
            infos.append(PluginInfo(name, dist, version, hooks))
        return infos

    # -- typed hook calls -------------------------------------------------------------------------

    def order_awards(self, order: Order, member: Member, program: Program) -> list[Award]:
        """Base awards plus the bonuses every adjuster adds."""
        hook = self.pm.hook
        base = _awards(hook.loyalty_order_awards(order=order, member=member, program=program), "loyalty_order_awards")
        extra = _awards(
            hook.loyalty_adjust_awards(awards=base, order=order, member=member, program=program),
            "loyalty_adjust_awards",
        )
        return base + extra

    def activity_awards(
        self, activity: Activity, member: Member, program: Program, history: ActivityHistory
    ) -> list[Award]:
        return _awards(
            self.pm.hook.loyalty_activity_awards(activity=activity, member=member, program=program, history=history),
            "loyalty_activity_awards",
        )

    def rewards(self, member: Member, program: Program) -> list[Reward]:
        seen: dict[str, Reward] = {}
        for part in self.pm.hook.loyalty_rewards(member=member, program=program):
            for reward in part or ():
                seen.setdefault(reward.id, reward)
        return list(seen.values())

    def validate_redemption(
        self, member: Member, reward: Reward, points: int, usage: RewardUsage, program: Program
    ) -> None:
        self.pm.hook.loyalty_validate_redemption(member=member, reward=reward, points=points, usage=usage, program=program)

    def issue_reward(self, redemption: Redemption, member: Member, shop: Any) -> str | None:
        return self.pm.hook.loyalty_issue_reward(redemption=redemption, member=member, shop=shop)

    def resolve_tier(self, member: Member, stats: TierStats, program: Program) -> TierDecision | None:
        decision = self.pm.hook.loyalty_resolve_tier(member=member, stats=stats, program=program)
        if decision is not None and not isinstance(decision, TierDecision):
            raise PluginError(f"loyalty_resolve_tier returned {type(decision).__name__}, expected TierDecision")
        return decision

    def refuse_referral(self, check: ReferralCheck, program: Program) -> str | None:
        """The first reason any implementation gives to refuse the referral, or None."""
        for reason in self.pm.hook.loyalty_refuse_referral(check=check, program=program):
            if reason:
                if not isinstance(reason, str):
                    raise PluginError(f"loyalty_refuse_referral returned {reason!r}, expected a reason string or None",
                                      field="loyalty_refuse_referral", value=reason)
                return reason
        return None

    def notify(self, kind: str, event: dict[str, Any], program: Program) -> None:
        """Deliver one outbox event to the notification hook named by its kind."""
        getattr(self.pm.hook, f"loyalty_{kind}")(event=event, program=program)


def _invalid(plugin: str, error: pluggy.PluginValidationError) -> PluginError:
    # pluggy's message spans lines; one line reads better in a CLI error or a log.
    detail = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return PluginError(f"plugin {plugin!r}: {detail}", field="plugin", value=plugin)


def _own_version() -> str | None:
    try:
        return metadata.version("loyalty-sdk")
    except metadata.PackageNotFoundError:
        return None


__all__ = ["BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "PluginHost", "PluginInfo"]
