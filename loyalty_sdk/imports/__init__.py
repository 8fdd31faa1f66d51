"""Backfills and migrations: historical orders and members' standing from another program."""

from loyalty_sdk.imports.balances import BalancesImported, MemberChange, import_balances
from loyalty_sdk.imports.orders import OrdersImported, import_orders

__all__ = ["BalancesImported", "MemberChange", "OrdersImported", "import_balances", "import_orders"]
