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

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from loyalty_sdk.core.allocation import round_ratio, split_int
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


class CampaignRule(NamedTuple):
    """A campaign prepared once per program: its window as instants and its bonus source."""

    campaign: Campaign
    source: Source
    starts: datetime | None
    ends: datetime | None
    """Exclusive end instant."""
    every_line: bool

    def active(self, at: datetime, tier: str | None) -> bool:
        if self.starts is not None and at < self.starts:
            return False
        if self.ends is not None and at >= self.ends:
            return False
        return not self.campaign.tiers or tier in self.campaign.tiers


def _instant(bound: datetime | date, zone: ZoneInfo, *, end: bool) -> datetime:
    if isinstance(bound, datetime):
        # An offset in the program names an instant; a naive time is the shop's wall clock.
        return bound if bound.tzinfo is not None else bound.replace(tzinfo=zone)
    # A date that ends a campaign means "through that whole local day".
    day = bound + timedelta(days=1) if end else bound
    return datetime.combine(day, time.min, tzinfo=zone)


def _utc(bound: datetime) -> datetime:
    # Compared against every order: UTC offsets are free to compute, a zone's are not.
    return bound.astimezone(UTC)


def campaign_rule(campaign: Campaign, program: Program) -> CampaignRule:
    zone = program.zone
    label = f"{times(campaign.multiplier)} {campaign.name or f'campaign {campaign.id}'}"
    return CampaignRule(
        campaign,
        Source(f"campaign.{campaign.id}", campaign.multiplier, label, campaign.max_bonus_points),
        None if campaign.starts is None else _utc(_instant(campaign.starts, zone, end=False)),
        None if campaign.ends is None else _utc(_instant(campaign.ends, zone, end=True)),
        not (campaign.collections or campaign.skus or campaign.product_ids),
    )


def campaign_covers(campaign: Campaign, line: LineItem) -> bool:
    """Whether ``line`` is one of the campaign's products (a campaign without filters covers all)."""
    if not (campaign.collections or campaign.skus or campaign.product_ids):
        return True
    return (
        not campaign.collections.isdisjoint(line.collections)
        or line.sku in campaign.skus
        or line.product_id in campaign.product_ids
    )


class Share(NamedTuple):
    """One source's bonus per base point on a line, as an exact ratio of integers."""

    rule_id: str
    numerator: int
    denominator: int
    capped: bool


class Prepared(NamedTuple):
    campaigns: tuple[tuple[int, CampaignRule], ...]
    """Each campaign with its bit in a line's campaign mask."""
    tiers: dict[str, Source]
    sources: dict[str, Source]
    """Every campaign and tier source by rule id."""
    shares: dict[tuple[int, str | None], tuple[Share, ...]]
    """The shares of a line covered by a set of campaigns (a bit mask over ``campaigns``) for a
    tier: a handful per program, worked out once and reused by every order."""

    def line_shares(self, mask: int, tier: Source | None, stacking: Stacking) -> tuple[Share, ...]:
        key = (mask, tier.rule_id if tier is not None else None)
        found = self.shares.get(key)
        if found is None:
            covering = [rule.source for bit, rule in self.campaigns if mask & bit]
            factors, capped = line_factors(covering, tier, stacking)
            found = self.shares[key] = tuple(
                Share(rule_id, *factor.as_integer_ratio(), capped) for rule_id, factor in factors.items()
            )
        return found


_PREPARED: dict[int, tuple[Program, Prepared]] = {}


def prepared(program: Program) -> Prepared:
    """Campaign windows and labels, computed once per program rather than once per order."""
    entry = _PREPARED.get(id(program))
    if entry is not None and entry[0] is program:
        return entry[1]
    tiers = {}
    for level in program.tiers.levels:
        if level.multiplier != 1:
            label = f"{times(level.multiplier)} {level.name or level.id} tier"
            tiers[level.id] = Source(f"tier.{level.id}", level.multiplier, label)
    campaigns = tuple(campaign_rule(c, program) for c in program.campaigns)
    sources = {rule.source.rule_id: rule.source for rule in campaigns} | {s.rule_id: s for s in tiers.values()}
    result = Prepared(tuple((1 << i, rule) for i, rule in enumerate(campaigns)), tiers, sources, {})
    if len(_PREPARED) > 64:  # programs are few; don't let a reload loop grow this forever
        _PREPARED.clear()
    _PREPARED[id(program)] = (program, result)
    return result


def combine(sources: Sequence[Source], mode: str) -> tuple[Decimal, dict[str, Decimal]]:
    """The combined multiplier of ``sources`` and each source's share of the bonus per point."""
    if mode == "highest":
        best = max(sources, key=lambda source: source.multiplier)  # first of equals: program order
        return best.multiplier, {best.rule_id: best.multiplier - 1}
    if mode == "add":
        return (
            1 + sum((s.multiplier - 1 for s in sources), Decimal(0)),
            {s.rule_id: s.multiplier - 1 for s in sources},
        )
    running, shares = Decimal(1), {}
    for source in sources:
        # Each later source multiplies what the earlier ones already made, so shares add up.
        shares[source.rule_id] = running * (source.multiplier - 1)
        running *= source.multiplier
    return running, shares


def line_factors(
    campaigns: Sequence[Source], tier: Source | None, stacking: Stacking
) -> tuple[dict[str, Decimal], bool]:
    """Each source's bonus per point on a line these sources cover, and whether
    ``max_multiplier`` cut it. Independent of the line's points, so computed once per set."""
    if stacking.include_tier or tier is None:
        combined, shares = combine([*campaigns, *([tier] if tier else [])], stacking.mode)
    elif campaigns:
        combined, shares = combine(campaigns, stacking.mode)
        if tier.multiplier > combined:
            combined, shares = combine([tier], stacking.mode)
    else:
        combined, shares = combine([tier], stacking.mode)
    cap = stacking.max_multiplier
    if cap is None or combined <= cap or combined == 1:
        return shares, False
    scale = (cap - 1) / (combined - 1)
    return {rule_id: share * scale for rule_id, share in shares.items()}, True


@hookimpl(trylast=True)
def loyalty_adjust_awards(awards: Sequence[Award], order: Order, member: Member, program: Program) -> Sequence[Award]:
    """Bonus awards for the line awards among ``awards``: one per source and line, never zero."""
    rules = prepared(program)
    at = order.placed_at
    tier_id = member.tier
    live = [(bit, rule) for bit, rule in rules.campaigns if rule.active(at, tier_id)]
    tier = rules.tiers.get(tier_id) if tier_id is not None else None
    if not (live or tier):
        return []
    base: dict[str, int] = {}
    for award in awards:
        line_id = award.line_id
        if line_id is not None:
            base[line_id] = base.get(line_id, 0) + award.points
    if not base:
        return []
    stacking = program.stacking
    # rule id -> [(line id, line points, share)], in the order lines appear
    cells: dict[str, list[tuple[str, int, Share]]] = {}
    for line in order.lines:
        points = base.get(line.line_id, 0)
        if points <= 0:
            continue
        mask = 0
        for bit, rule in live:
            if rule.every_line or campaign_covers(rule.campaign, line):
                mask |= bit
        if not mask and tier is None:
            continue
        for share in rules.line_shares(mask, tier, stacking):
            cell = cells.get(share.rule_id)
            if cell is None:
                cells[share.rule_id] = [(line.line_id, points, share)]
            else:
                cell.append((line.line_id, points, share))

    bonuses: list[Award] = []
    rounding = program.earn.rounding
    sources = rules.sources
    for rule_id, lines in cells.items():
        source = sources[rule_id]
        first = lines[0][2]
        weights = [points for _, points, share in lines if share is first]
        if len(weights) == len(lines):
            # One factor for every line: the base points are the weights, one product.
            numerator, denominator = sum(weights) * first.numerator, first.denominator
        else:
            # Exact weights over a common denominator, so no line's share is rounded early.
            denominator = math.lcm(*(share.denominator for _, _, share in lines))
            signed = [points * share.numerator * (denominator // share.denominator) for _, points, share in lines]
            numerator = sum(signed)
            weights = [abs(weight) for weight in signed]
        # Round the size, not the signed value, so floor never takes more than a reduction asks.
        total = round_ratio(abs(numerator), denominator, rounding)
        if numerator < 0:
            total = -total
        limit = ""
        if source.max_bonus_points is not None and total > source.max_bonus_points:
            total, limit = source.max_bonus_points, f" (limited to {source.max_bonus_points} bonus points per order)"
        parts = split_int(total, weights) if len(lines) > 1 else [total]
        for (line_id, _, share), points in zip(lines, parts, strict=True):
            if points:
                if share.capped:
                    reason = f"{source.label} (capped at {times(stacking.max_multiplier)}){limit}"
                else:
                    reason = source.label + limit if limit else source.label
                bonuses.append(Award(points, reason, rule_id, line_id))
    return bonuses
