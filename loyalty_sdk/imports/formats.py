"""Member balance files: the documented generic CSV and the loyalty apps' documented layouts.

Each format maps its own column names onto one :class:`StartingBalance` per member:

- ``generic`` (docs/import.md): ``customer_id``, ``email``, ``balance`` (required), ``tier``,
  ``lifetime_points``, ``expires_at``, ``name``;
- ``smile``: Smile.io's points CSV, ``email`` and ``points`` (the layout Smile imports and its
  template uses; a customer export modified for import has the same two columns);
- ``yotpo``: Yotpo Loyalty & Referrals' customer CSV, ``Email`` with ``Points Balance``,
  ``Points Spent`` (lifetime points are balance plus spent), ``First Name``, ``Last Name``,
  ``Full Name``.

LoyaltyLion's customer export lets the merchant pick and rename its columns, so it has no fixed
layout to read: convert it to the generic CSV (docs/import.md).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from attrs import frozen

from loyalty_sdk.core.errors import InvalidInput, LoyaltyError
from loyalty_sdk.core.models import MemberRef
from loyalty_sdk.simulate.sources import BadRow

FORMATS = ("generic", "smile", "yotpo")
REQUIRED = {"generic": ("balance",), "smile": ("email", "points"), "yotpo": ("Email",)}
LABELS = {"generic": "CSV", "smile": "Smile.io export", "yotpo": "Yotpo export"}


@frozen
class StartingBalance:
    """One member's standing in the program they come from."""

    line: int
    ref: MemberRef
    balance: int
    tier: str | None = None
    lifetime: int | None = None
    expires_at: datetime | None = None
    name: str | None = None


class _Bad(Exception):
    """A row that cannot be used; the message is the reason."""


def read_balances(path: str | Path, format: str, zone: ZoneInfo, *, strict: bool = False
                  ) -> tuple[list[StartingBalance], list[BadRow], int]:
    """The members of ``path``, the rows that could not be used, and the number of rows.

    A member named on two rows is a bad row the second time (imports add, they never merge)."""
    if format not in FORMATS:
        raise InvalidInput(f"unknown balance file format {format!r}; choose one of {', '.join(FORMATS)}",
                           field="format", value=format)
    found: list[StartingBalance] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    rows = 0
    for line, row in _rows(Path(path), REQUIRED[format]):
        rows += 1
        try:
            member = _READERS[format](line, row, zone)
            identity = member.ref.customer_id or member.ref.email or ""
            if identity in seen:
                raise _Bad(f"member {identity} already appears on line {seen[identity]}")
            seen[identity] = line
            found.append(member)
        except (_Bad, LoyaltyError) as error:
            row_error = BadRow(str(path), line, str(error))
            if strict:
                raise InvalidInput(f"bad row: {row_error}", field="balances", value=str(row_error)) from None
            bad.append(row_error)
    return found, bad, rows


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or ())]
        if missing:
            raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)}", field="balances", value=missing)
        start = reader.line_num + 1
        for record in reader:
            yield start, record
            start = reader.line_num + 1


def _cell(row: dict[str, str], name: str) -> str:
    return (row.get(name) or "").strip()


def _points(text: str, name: str, *, default: int | None = None) -> int | None:
    if not text:
        return default
    if not text.isdigit():
        raise _Bad(f"{name} {text!r} is not a whole number of points (write 52620, no separators or decimals)")
    return int(text)


def _expiry(text: str, zone: ZoneInfo) -> datetime | None:
    """A date means the points can be spent through that day (the program's time zone)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(f"expires_at {text!r} is not a date (2027-01-31) or a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _ref(customer_id: str, email: str) -> MemberRef:
    if not customer_id and not email:
        raise _Bad("names no customer: customer_id and email are both empty")
    if email and "@" not in email:
        raise _Bad(f"email {email!r} is not an email address")
    return MemberRef(customer_id or None, email or None)


def _generic(line: int, row: dict[str, str], zone: ZoneInfo) -> StartingBalance:
    balance = _points(_cell(row, "balance"), "balance")
    if balance is None:
        raise _Bad("balance is empty")
    return StartingBalance(line, _ref(_cell(row, "customer_id"), _cell(row, "email")), balance,
                           tier=_cell(row, "tier") or None,
                           lifetime=_points(_cell(row, "lifetime_points"), "lifetime_points"),
                           expires_at=_expiry(_cell(row, "expires_at"), zone), name=_cell(row, "name") or None)


def _smile(line: int, row: dict[str, str], zone: ZoneInfo) -> StartingBalance:
    email = _cell(row, "email")
    if not email:
        raise _Bad("email is empty")
    balance = _points(_cell(row, "points"), "points")
    if balance is None:
        raise _Bad("points is empty")
    return StartingBalance(line, _ref("", email), balance)


def _yotpo(line: int, row: dict[str, str], zone: ZoneInfo) -> StartingBalance:
    email = _cell(row, "Email")
    if not email:
        raise _Bad("Email is empty")
    # Yotpo asks for 0 rather than an empty cell; an empty one is read as 0 too.
    balance = _points(_cell(row, "Points Balance"), "Points Balance", default=0) or 0
    spent = _points(_cell(row, "Points Spent"), "Points Spent")
    name = _cell(row, "Full Name") or " ".join(p for p in (_cell(row, "First Name"), _cell(row, "Last Name")) if p)
    return StartingBalance(line, _ref("", email), balance, lifetime=None if spent is None else balance + spent,
                           name=name or None)


_READERS = {"generic": _generic, "smile": _smile, "yotpo": _yotpo}

__all__ = ["FORMATS", "LABELS", "StartingBalance", "read_balances"]
