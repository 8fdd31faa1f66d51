"""The program the Stripe tests' server runs, unless a test module gives its own."""

PROGRAM = {
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0, "rates": {"JPY": "0.01"}},
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 50, "value": "5.00"}],
}
