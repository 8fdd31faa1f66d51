"""Weekend points on a collection, and a tier for regulars: an example loyalty-sdk plugin."""

from weekend_coffee.settings import Settings, settings

__all__ = ["Settings", "settings"]
