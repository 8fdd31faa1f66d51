"""Campaign and tier multipliers: bonus points on top of what each order line earned.

A campaign multiplies the points of the lines it covers (every line, or only those in its
collections, SKUs or products) while it runs. Its window is read on the shop's clock
(``program.timezone``): it starts at ``starts``; a campaign that ends on a date runs through
that whole local day, one that ends at a time stops just before it. A campaign limited to
``tiers`` boosts only members of those tiers. The member's tier multiplier (silver 1.25x, gold
1.5x...) is a source of bonus points too.

When several multipliers cover one line, ``stacking.mode`` decides: ``highest`` (only the
largest counts), ``multiply`` (2x and 1.5x make 3x) or ``add`` (their bonuses add up: 2x and
1.5x make 2.5x); ``stacking.max_multiplier`` caps the result. With ``stacking.include_tier``
off the tier multiplier does not stack with campaigns: a line gets whichever is better, the
tier alone or the campaigns combined.

Every award names one source (``campaign.<id>`` or ``tier.<id>``) and one line. Each source's
bonus is rounded once per order, then shared across its lines, so a refund of a line takes back
that line's share. A campaign's ``max_bonus_points`` caps its bonus per order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from loyalty_sdk.core.allocation import round_points, split_int
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Award, LineItem, Member, Order
from loyalty_sdk.core.program import Campaign, Program, Stacking


class Source(NamedTuple):
    """One multiplier that may apply to an order: a campaign or the member's tier."""

    rule_id: str
    multiplier: Decimal
    label: str
    max_bonus_points: int | None = None


def times(multiplier: Decimal) -> str:
    """``Decimal("2.00")`` as ``"2x"``, ``Decimal("1.25")`` as ``"1.25x"``."""
    return f"{multiplier.normalize():f}x"


def _started(bound: datetime | date, local: datetime) -> bool:
    if isinstance(bound, datetime):
        # An offset in the program names an instant; a naive time is the shop's wall clock.
        return local >= bound if bound.tzinfo is not None else local.replace(tzinfo=None) >= bound
    return local.date() >= bound


def _not_ended(bound: datetime | date, local: datetime) -> bool:
    if isinstance(bound, datetime):
        return local < bound if bound.tzinfo is not None else local.replace(tzinfo=None) < bound
    return local.date() <= bound


def campaign_active(campaign: Campaign, at: datetime, program: Program) -> bool:
    """Whether ``campaign`` runs at the aware datetime ``at``, judged in the shop's time zone."""
    local = at.astimezone(program.zone)
    if campaign.starts is not None and not _started(campaign.starts, local):
        return False
    return campaign.ends is None or _not_ended(campaign.ends, local)


def campaign_covers(campaign: Campaign, line: LineItem) -> bool:
    """Whether ``line`` is one of the campaign's products (a campaign without filters covers all)."""
    if not (campaign.collections or campaign.skus or campaign.product_ids):
        return True
    return bool(
        line.collections & campaign.collections or line.sku in campaign.skus or line.product_id in campaign.product_ids
    )


def tier_source(member: Member, program: Program) -> Source | None:
    """The member's tier multiplier as a source, or None when the tier multiplies by 1."""
    level = program.tiers.level(member.tier)
    if level is None or level.multiplier == 1:
        return None
    return Source(f"tier.{level.id}", level.multiplier, f"{times(level.multiplier)} {level.name or level.id} tier")


def combine(base: int, sources: Sequence[Source], mode: str) -> tuple[Decimal, dict[str, Decimal]]:
    """The combined multiplier of ``sources`` and each source's exact share of the bonus on ``base``."""
    if mode == "highest":
        best = max(sources, key=lambda source: source.multiplier)  # first of equals: program order
        return best.multiplier, {best.rule_id: base * (best.multiplier - 1)}
    if mode == "add":
        return (
            1 + sum((s.multiplier - 1 for s in sources), Decimal(0)),
            {s.rule_id: base * (s.multiplier - 1) for s in sources},
        )
    running, shares = Decimal(1), {}
    for source in sources:
        # Each later source multiplies what the earlier ones already made, so shares add up.
        shares[source.rule_id] = base * running * (source.multiplier - 1)
        running *= source.multiplier
    return running, shares


def line_shares(
    base: int, campaigns: Sequence[Source], tier: Source | None, stacking: Stacking
) -> tuple[dict[str, Decimal], bool]:
    """Each source's exact bonus on one line of ``base`` points, and whether max_multiplier cut it."""
    if stacking.include_tier or tier is None:
        combined, shares = combine(base, [*campaigns, *([tier] if tier else [])], stacking.mode)
    elif campaigns:
        combined, shares = combine(base, campaigns, stacking.mode)
        if tier.multiplier > combined:
            combined, shares = combine(base, [tier], stacking.mode)
    else:
        combined, shares = combine(base, [tier], stacking.mode)
    cap = stacking.max_multiplier
    if cap is None or combined <= cap or combined == 1:
        return shares, False
    scale = (cap - 1) / (combined - 1)
    return {rule_id: share * scale for rule_id, share in shares.items()}, True


def _round(value: Decimal, mode: str) -> int:
    # Round the size, not the signed value, so floor never takes more than a reduction asks.
    points = round_points(abs(value), mode)
    return -points if value < 0 else points


@hookimpl(trylast=True)
def loyalty_adjust_awards(awards: Sequence[Award], order: Order, member: Member, program: Program) -> Sequence[Award]:
    """Bonus awards for the line awards among ``awards``: one per source and line, never zero."""
    base: dict[str, int] = {}
    for award in awards:
        if award.line_id is not None:
            base[award.line_id] = base.get(award.line_id, 0) + award.points
    live = [
        c
        for c in program.campaigns
        if campaign_active(c, order.placed_at, program) and (not c.tiers or member.tier in c.tiers)
    ]
    tier = tier_source(member, program)
    if not base or not (live or tier):
        return []
    sources = {
        f"campaign.{c.id}": Source(
            f"campaign.{c.id}", c.multiplier, f"{times(c.multiplier)} {c.name or f'campaign {c.id}'}", c.max_bonus_points
        )
        for c in live
    }
    if tier is not None:
        sources[tier.rule_id] = tier
    exact: dict[str, dict[str, Decimal]] = {rule_id: {} for rule_id in sources}
    capped: set[tuple[str, str]] = set()
    for line in order.lines:
        points = base.get(line.line_id, 0)
        covering = [sources[f"campaign.{c.id}"] for c in live if campaign_covers(c, line)]
        if points <= 0 or not (covering or tier):
            continue
        shares, was_capped = line_shares(points, covering, tier, program.stacking)
        for rule_id, share in shares.items():
            exact[rule_id][line.line_id] = share
            if was_capped:
                capped.add((rule_id, line.line_id))

    bonuses: list[Award] = []
    for rule_id, cells in exact.items():
        source = sources[rule_id]
        total = _round(sum(cells.values(), Decimal(0)), program.earn.rounding)
        limit = ""
        if source.max_bonus_points is not None and total > source.max_bonus_points:
            total, limit = source.max_bonus_points, f" (limited to {source.max_bonus_points} bonus points per order)"
        parts = split_int(total, [abs(share) for share in cells.values()]) if cells else []
        for line_id, points in zip(cells, parts, strict=True):
            if points:
                cap = f" (capped at {times(program.stacking.max_multiplier)})" if (rule_id, line_id) in capped else ""
                bonuses.append(Award(points, f"{source.label}{cap}{limit}", rule_id, line_id))
    return bonuses
