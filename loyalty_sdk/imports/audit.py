"""One row in the admin audit per import run: who ran it, on which file, and what it did.

Each member's or order's own transactions carry the actor and the source in their ``cause``;
this row records the run as a whole, in the table the admin pages show.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.storage import admin_audit
from loyalty_sdk.facade import Loyalty


def record_run(loyalty: Loyalty, actor: str, action: str, details: dict[str, Any]) -> None:
    with loyalty.books.write() as conn:
        conn.execute(insert(admin_audit), {"shop_id": loyalty.shop_id, "actor": actor[:255], "action": action,
                                           "at": utc(loyalty.books.now()), "details": details})


__all__ = ["record_run"]
