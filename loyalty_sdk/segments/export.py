"""Finding segments (built-in and from ``loyalty_segments`` plugins) and exporting their
members: who they are, their tier and balance, and the figures that put them there.

Redacted members stay in a segment (their figures still count) but carry no personal data:
their ``customer_id``, ``email`` and ``name`` are empty, as they are in the books.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import select

from loyalty_sdk.core.errors import PluginError
from loyalty_sdk.core.ledger import stored
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import members
from loyalty_sdk.segments.builtin import builtin_segments
from loyalty_sdk.segments.model import Segment, SegmentContext, SegmentNotFound

if TYPE_CHECKING:
    from loyalty_sdk.facade import Loyalty

MEMBER_COLUMNS = ("member_id", "customer_id", "email", "name", "tier", "balance")


def segments(host: PluginHost, program: Program) -> dict[str, Segment]:
    """Every segment by name: the built-in ones, then those plugins contribute (a plugin's
    segment replaces a built-in one of the same name; two plugins naming one is an error)."""
    contributed: dict[str, Segment] = {}
    for part in host.pm.hook.loyalty_segments(program=program):
        for segment in part or ():
            if not isinstance(segment, Segment):
                raise PluginError(f"loyalty_segments returned {segment!r}, which is not a Segment",
                                  field="loyalty_segments", value=repr(segment))
            if segment.name in contributed:
                raise PluginError(f"two plugins contribute the segment {segment.name!r}", field="segment",
                                  value=segment.name)
            contributed[segment.name] = segment
    return {segment.name: segment for segment in builtin_segments(program)} | contributed


def find(host: PluginHost, program: Program, name: str) -> Segment:
    found = segments(host, program).get(name)
    if found is None:
        raise SegmentNotFound(f"no segment {name!r} (loyalty segments list)", field="segment", value=name)
    return found


@frozen
class SegmentExport:
    """A segment's members at ``as_of``: ``columns`` in order, one mapping per member."""

    segment: str
    params: Mapping[str, Any]
    as_of: datetime
    columns: tuple[str, ...]
    members: list[dict[str, Any]]
    next: int | None = None
    """When another page follows: the member id to ask for it ``after``."""

    def as_dict(self) -> dict[str, Any]:
        return {"segment": self.segment, "params": {k: _cell(v) for k, v in self.params.items()},
                "as_of": self.as_of.isoformat(), "count": len(self.members), "columns": list(self.columns),
                "members": [{k: _cell(row[k]) for k in self.columns} for row in self.members], "next": self.next}

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.members:
            writer.writerow(["" if row[k] is None else _cell(row[k]) for k in self.columns])
        return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return stored(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float)):
        return int(value) if value == int(value) else str(value)
    return value


def export(loyalty: Loyalty, name: str, params: Mapping[str, str] | None = None,
           as_of: datetime | None = None, *, after: int | None = None, limit: int | None = None) -> SegmentExport:
    """The members of segment ``name`` in ``loyalty``'s shop; ``params`` as typed (text).

    With ``limit``, one page in member id order, from the first member after ``after``: the
    export's ``next`` is where the next page starts, None on the last one. Every page is
    evaluated at the same ``as_of`` when the caller passes it along."""
    segment = find(loyalty.host, loyalty.program, name)
    values = segment.parse_params(params or {})
    books = loyalty.books
    context = SegmentContext(books.shop_id, loyalty.program, as_of or books.now(), values, books.db.dialect.name)
    picked = segment.query(context).subquery("segment")
    figures = [column for column in picked.c if column.key not in MEMBER_COLUMNS]
    m = members.c
    # The shop is applied here, whatever the segment's query does: an export never crosses tenants.
    query = (select(m.id.label("member_id"), m.customer_id, m.email, m.name, m.tier, m.available.label("balance"),
                    *figures)
             .join(picked, picked.c.member_id == m.id).where(m.shop_id == books.shop_id).order_by(m.id))
    if after is not None:
        query = query.where(m.id > after)
    if limit is not None:
        query = query.limit(limit + 1)  # one more than asked says whether another page follows
    with books.read() as conn:
        rows = [{str(key): stored(value) if isinstance(value, datetime) else value
                 for key, value in row._mapping.items()} for row in conn.execute(query)]
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if more else rows
    following = rows[-1]["member_id"] if more else None
    if segment.finish is not None:
        rows = [segment.finish(row, context) for row in rows]
    columns = (*MEMBER_COLUMNS, *(segment.figures or (str(column.key) for column in figures)))
    return SegmentExport(segment.name, values, context.as_of, columns, rows,
                         next=following)


__all__ = ["MEMBER_COLUMNS", "SegmentExport", "export", "find", "segments"]
