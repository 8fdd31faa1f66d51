"""Geometry for the report's inline SVG charts: the template draws, this decides where.

No chart library and no network: every chart is a handful of rectangles, a polyline and
labels, placed here with plain arithmetic (floats are fine for pixels, never for figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

WIDTH = 640
BAR_HEIGHT = 22
PLOT_HEIGHT = 180
LEFT = 140


# Floats here are pixel geometry for the SVG, never points or money: the figures stay exact
# (int, Decimal) and are printed from the values themselves, not from these coordinates.


def bars(items: Sequence[tuple[str, int | Decimal]], width: int = WIDTH) -> dict[str, Any]:
    """Horizontal bars, one per ``(label, value)``, scaled to the largest value."""
    top = max((float(value) for _, value in items), default=0.0) or 1.0
    room = width - LEFT - 70
    rows = [{"label": label, "value": value, "y": i * (BAR_HEIGHT + 6),
             "width": max(0.0, float(value)) / top * room} for i, (label, value) in enumerate(items)]
    return {"width": width, "height": max(1, len(rows)) * (BAR_HEIGHT + 6), "left": LEFT, "rows": rows,
            "bar": BAR_HEIGHT}


def line(points: Sequence[tuple[str, int | Decimal]], width: int = WIDTH) -> dict[str, Any]:
    """A polyline through ``(label, value)`` points, left to right, with the axis from zero."""
    values = [float(value) for _, value in points]
    top = max(values, default=0.0) or 1.0
    low = min(0.0, *values) if values else 0.0
    step = (width - 80) / max(1, len(points) - 1)
    placed = [{"label": label, "value": value, "x": 60 + i * step,
               "y": 20 + (top - float(value)) / (top - low or 1.0) * PLOT_HEIGHT}
              for i, (label, value) in enumerate(points)]
    return {"width": width, "height": PLOT_HEIGHT + 60, "points": placed, "base": 20 + PLOT_HEIGHT,
            "path": " ".join(f"{p['x']:.1f},{p['y']:.1f}" for p in placed)}


def heat(share: Decimal | None) -> str:
    """A cell colour for a retention rate: white at 0 to deep green at 1, grey when undefined."""
    if share is None:
        return "#eeeeee"
    level = min(1.0, max(0.0, float(share)))
    return f"rgb({round(255 - 200 * level)},{round(255 - 90 * level)},{round(255 - 200 * level)})"


__all__ = ["bars", "heat", "line"]
