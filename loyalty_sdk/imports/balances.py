"""``loyalty import balances``: members' standing from another program, one audited
transaction per member.

What one member's import posts, in one database transaction (all of it, or none):

- an ``import`` transaction keyed on shop, member and source: the replay marker (a second import
  of the same file changes nothing; other values under the same source are a conflict). It moves
  no points; it adds the imported lifetime points to the member's ``lifetime_points`` (a figure
  kept beside the ledger, not derived from entries, so the doctor's sums are untouched), and
  for an imported tier the qualifying amount the member lacks for it (``tier_points``,
  ``tier_spend_minor`` or ``tier_orders``, by the program's metric), so that tiers stay a
  function of the ledger and the re-tier job keeps the member there for the tier's window;
- the starting balance as an adjustment credit (program account ``adjusted``): a lot,
  available at once, expiring on the imported date or by the program's expiry policy.

The member is enrolled first when the shop does not know them. Each transaction's ``cause``
names the actor and the source; one admin audit row records the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import define, field, fields, frozen
from sqlalchemy.engine import Connection

from loyalty_sdk.core import credits, ledger, members, tiering
from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.errors import IdempotencyConflict, InvalidInput, LoyaltyError, MemberNotFound
from loyalty_sdk.core.models import Member
from loyalty_sdk.core.money import MINOR_UNITS
from loyalty_sdk.core.program import TierLevel
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.imports.audit import record_run
from loyalty_sdk.imports.formats import LABELS, StartingBalance, read_balances
from loyalty_sdk.simulate.sources import BadRow

Progress = Callable[[int, int], None]


@frozen
class MemberChange:
    """What the import did, or (dry run) would do, to one member."""

    line: int
    member: str
    status: str
    """``imported``, ``unchanged`` (imported before from this source) or ``would import``."""
    member_id: int | None
    enrolled: bool
    balance: int
    lifetime_points: int
    tier_before: str | None
    tier_after: str | None
    expires_at: Any = None


@define
class BalancesImported:
    file: str
    format: str
    source: str
    dry_run: bool
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    enrolled: int = 0
    points: int = 0
    members: list[MemberChange] = field(factory=list)
    bad_rows: list[BadRow] = field(factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(BalancesImported) if f.name not in ("members", "bad_rows")}
        data["members"] = [{f.name: getattr(m, f.name) for f in fields(MemberChange)} for m in self.members]
        data["bad_rows"] = [{"file": b.file, "line": b.line, "reason": b.reason} for b in self.bad_rows]
        return data


def default_source(path: str | Path, format: str) -> str:
    """``smile.io export members.csv``: what the transactions name as where the points came from."""
    label = {"smile": "smile.io export", "yotpo": "yotpo export"}.get(format, LABELS.get(format, format))
    return f"{label} {Path(path).name}"


def import_balances(loyalty: Loyalty, path: str | Path, format: str = "generic", *, source: str | None = None,
                    dry_run: bool = False, strict: bool = False, actor: str = "cli",
                    progress: Progress | None = None) -> BalancesImported:
    """Import the members of ``path``; with ``dry_run`` only say what would change."""
    source = (source or default_source(path, format)).strip()
    if not source:
        raise InvalidInput("the source of an import must not be empty", field="source", value=source)
    entries, bad, rows = read_balances(path, format, loyalty.program.zone, strict=strict)
    result = BalancesImported(str(path), format, source, dry_run, rows=rows, bad_rows=bad)
    # Every row is checked against the program before the first member is written, so --strict
    # stops with nothing written.
    checked: list[tuple[StartingBalance, TierLevel | None]] = []
    for entry in entries:
        try:
            checked.append((entry, _check(loyalty, entry)))
        except LoyaltyError as error:
            row = BadRow(str(path), entry.line, str(error))
            if strict:
                raise InvalidInput(f"bad row: {row}", field="balances", value=str(row)) from None
            result.bad_rows.append(row)
    for done, (entry, level) in enumerate(checked, start=1):
        try:
            change = (_preview if dry_run else _apply)(loyalty, entry, level, source, actor)
        except LoyaltyError as error:
            row = BadRow(str(path), entry.line, str(error))
            if strict:
                raise InvalidInput(f"bad row: {row}", field="balances", value=str(row)) from None
            result.bad_rows.append(row)
            continue
        result.members.append(change)
        if change.status == "unchanged":
            result.unchanged += 1
        else:
            result.imported += 1
            result.points += change.balance
            result.enrolled += change.enrolled
        if progress is not None:
            progress(done, len(checked))
    result.bad_rows.sort(key=lambda row: row.line)
    if not dry_run:
        record_run(loyalty, actor, "import_balances", {"file": Path(path).name, "format": format, "source": source,
                                                       "imported": result.imported, "unchanged": result.unchanged,
                                                       "bad_rows": len(result.bad_rows)})
    return result


def _check(loyalty: Loyalty, entry: StartingBalance) -> TierLevel | None:
    """The program's tier the row names; raises for what the program cannot take."""
    if entry.expires_at is not None and entry.expires_at <= loyalty.books.now():
        raise InvalidInput(f"expires_at {entry.expires_at.isoformat()} has already passed", field="expires_at",
                           value=entry.expires_at)
    return _level(loyalty, entry)


def _level(loyalty: Loyalty, entry: StartingBalance) -> TierLevel | None:
    """The program's tier the imported one names (by id or name, any case)."""
    if entry.tier is None:
        return None
    wanted = entry.tier.casefold()
    for level in loyalty.program.tiers.levels:
        if wanted in (level.id.casefold(), (level.name or "").casefold()):
            return level
    known = ", ".join(level.id for level in loyalty.program.tiers.levels) or "none: the program has no tiers"
    raise InvalidInput(f"tier {entry.tier!r} is not a tier of this program (tiers: {known})", field="tier",
                       value=entry.tier)


def _key(source: str, entry: StartingBalance) -> str:
    # Hashed: an email and a long source name would not fit the key column together.
    return f"import:{payload_hash(source, entry.ref.customer_id, entry.ref.email)}"


def _payload(entry: StartingBalance) -> str:
    expires = entry.expires_at.isoformat() if entry.expires_at else None
    return payload_hash(entry.balance, entry.tier, entry.lifetime, expires)


def _replay(conn: Connection, shop_id: str, source: str, entry: StartingBalance) -> ledger.Posted | None:
    """The member's earlier import from ``source``; raises when it had other values."""
    try:
        return ledger.replay_or_conflict(conn, shop_id, _key(source, entry), _payload(entry))
    except IdempotencyConflict:
        raise IdempotencyConflict(f"{entry.ref} was already imported from {source!r} with other values",
                                  field="source", value=source) from None


def _identity(entry: StartingBalance) -> str:
    return str(entry.ref)


def _lifetime(entry: StartingBalance) -> int:
    """Imported lifetime points; without them the starting balance, the least they earned."""
    return entry.lifetime if entry.lifetime is not None else entry.balance


def _top_up(loyalty: Loyalty, conn: Connection, member: Member, level: TierLevel | None) -> Decimal:
    """How much of the tier metric the member lacks to hold ``level`` now (0 when they do)."""
    if level is None or not level.threshold:
        return Decimal(0)
    books = loyalty.books
    stats = tiering.stats_for(conn, books.program, member.id, books.shop_id, books.now())
    decision = books.host.resolve_tier(member, stats, books.program)
    current = Decimal(str((decision.inputs if decision else {}).get("current_value") or 0))
    return max(Decimal(level.threshold) - current, Decimal(0))


def _qualifying(loyalty: Loyalty, amount: Decimal) -> dict[str, int]:
    metric = loyalty.program.tiers.metric
    if metric == "spend":
        exponent = MINOR_UNITS[loyalty.program.program.currency]
        return {"tier_spend_minor": math.ceil(amount.scaleb(exponent))}
    return {"tier_points" if metric == "points" else "tier_orders": math.ceil(amount)}


def _preview(loyalty: Loyalty, entry: StartingBalance, level: TierLevel | None, source: str,
             actor: str) -> MemberChange:
    books = loyalty.books
    with books.read() as conn:
        replay = _replay(conn, books.shop_id, source, entry)
        try:
            member: Member | None = members.get(conn, books.shop_id, entry.ref)
        except MemberNotFound:
            member = None
    before = member.tier if member else None
    if replay is not None:
        return MemberChange(entry.line, _identity(entry), "unchanged", member.id if member else None, False, 0, 0,
                            before, before)
    tier = before
    if member is None:  # enrolling places them in the entry tier, if any
        tier = next((lvl.id for lvl in loyalty.program.tiers.levels if not lvl.threshold), None)
    after = level.id if level is not None and (tier is None or _ranks_above(loyalty, level.id, tier)) else tier
    return MemberChange(entry.line, _identity(entry), "would import", member.id if member else None, member is None,
                        entry.balance, _lifetime(entry), before, after, entry.expires_at)


def _ranks_above(loyalty: Loyalty, tier: str, than: str) -> bool:
    ranks = [level.id for level in loyalty.program.tiers.levels]
    return tier in ranks and (than not in ranks or ranks.index(tier) > ranks.index(than))


def _apply(loyalty: Loyalty, entry: StartingBalance, level: TierLevel | None, source: str,
           actor: str) -> MemberChange:
    books = loyalty.books
    shop_id, key, payload = books.shop_id, _key(source, entry), _payload(entry)
    now = books.now()
    program = books.program
    cause = {"actor": actor, "source": source, "line": entry.line}
    with books.write() as conn:
        replay = _replay(conn, shop_id, source, entry)
        if replay is not None:
            member = members.get(conn, shop_id, replay.member_id)
            return MemberChange(entry.line, _identity(entry), "unchanged", member.id, False, 0, 0, member.tier,
                                member.tier)
        enrolled = False
        try:
            member = members.get(conn, shop_id, entry.ref)
        except MemberNotFound:
            member = members.enroll(conn, shop_id, entry.ref, at=now, name=entry.name)
            enrolled = True
        ledger.lock_member(conn, shop_id, member.id)
        if ledger.existing(conn, shop_id, key) is not None:  # a concurrent import of this row won
            return MemberChange(entry.line, _identity(entry), "unchanged", member.id, False, 0, 0, member.tier,
                                member.tier)
        top_up = _top_up(loyalty, conn, member, level)
        lifetime = _lifetime(entry)
        parts = [f"{lifetime:,} lifetime points"]
        if level is not None:
            parts.append(f"tier {level.id}")
        ledger.move(conn, ledger.Movement(
            shop_id=shop_id, member_id=member.id, key=key, payload_hash=payload, kind="import",
            reason=f"imported from {source}: " + ", ".join(parts), event_at=now, recorded_at=now,
            program_version=program.version, legs=(), cause=cause,
            detail={"balance": entry.balance, "lifetime_points": entry.lifetime, "tier": entry.tier,
                    "tier_top_up": str(top_up), "expires_at": entry.expires_at.isoformat() if entry.expires_at
                    else None},
            lifetime_delta=lifetime, tier_at=now, event_kind=None, **_qualifying(loyalty, top_up),
        ))
        if entry.balance > 0:
            credits.credit(conn, ledger.Credit(
                shop_id=shop_id, member_id=member.id, key=f"{key}:balance", payload_hash=payload, kind="adjust",
                points=entry.balance, pending=False, available_at=now,
                expires_at=entry.expires_at or books.rules.expires_at(now), event_at=now, recorded_at=now,
                reason=f"starting balance imported from {source}", program_version=program.version,
                program_account="adjusted", cause=cause,
            ))
        if program.tiers.levels:
            tiering.reevaluate(books, conn, member.id, now)
        after = members.get(conn, shop_id, member.id)
    return MemberChange(entry.line, _identity(entry), "imported", member.id, enrolled, entry.balance, lifetime,
                        member.tier, after.tier, entry.expires_at)


__all__ = ["BalancesImported", "MemberChange", "default_source", "import_balances"]
