"""Know before you launch: replay a store's order history through one or more programs.

    history = read_history("orders.csv", "shopify")
    figures = simulate(load_program("loyalty.toml"), history, redemption_rate=Decimal("0.6"))

Nothing touches the live database: each program replays on its own in-memory SQLite ledger.
"""

from loyalty_sdk.simulate.replay import plan, redeem, replayed, simulate
from loyalty_sdk.simulate.sources import FORMATS, GENERIC_COLUMNS, BadRow, History, read_history, write_generic

__all__ = ["FORMATS", "GENERIC_COLUMNS", "BadRow", "History", "plan", "read_history", "redeem", "replayed", "simulate",
           "write_generic"]
