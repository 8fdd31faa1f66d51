"""When to try again: exponential backoff with full jitter, for everything that retries
(webhook deliveries in, notification hooks and outbound webhooks out).

Full jitter (a uniform wait between zero and the exponential ceiling) keeps many failed
deliveries from retrying in lockstep when the thing they wait for comes back.
"""

from __future__ import annotations

import random
from datetime import timedelta


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Somewhere in [0, min(cap, base * 2**(attempts-1))] seconds, after ``attempts`` tries."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))


__all__ = ["backoff"]
